/** The supervisor's thread time for requests from inside: per session and for all sessions together. */
import { describe, expect, it } from 'vitest';
import { ThreadBudget } from '../../../src/supervisor/thread-budget.js';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('ThreadBudget', () => {
  it('a session that used its burst is answered busy; it is admitted again once the budget refilled (twin: another session is admitted meanwhile)', () => {
    const c = clock();
    const b = new ThreadBudget(c.now);
    expect(b.admit('a')).toBeUndefined();
    b.charge('a', 2500);
    expect(b.admit('a')).toMatch(/^busy: this session/);
    expect(b.admit('b')).toBeUndefined();
    c.advance(4000); // 10% refill: 400 ms back, still in debt by 100
    expect(b.admit('a')).toMatch(/^busy/);
    c.advance(2000);
    expect(b.admit('a')).toBeUndefined();
  });

  it('many sessions together are held to the shared budget', () => {
    const c = clock();
    const b = new ThreadBudget(c.now);
    for (let i = 0; i < 3; i++) b.charge(`s${i}`, 1500);
    expect(b.admit('s9')).toMatch(/^busy: sandboxed sessions/);
    c.advance(1000); // 40% refill: 400 ms back, still in debt by 100
    expect(b.admit('s9')).toMatch(/^busy: sandboxed sessions/);
    c.advance(1000);
    expect(b.admit('s9')).toBeUndefined();
  });

  it('a person nesting sbx exec or running sbx trust now and then is never held (small work, spread out)', () => {
    const c = clock();
    const b = new ThreadBudget(c.now);
    for (let i = 0; i < 1000; i++) {
      expect(b.admit('a')).toBeUndefined();
      b.charge('a', 30);
      c.advance(500);
    }
  });

  it('run() charges the time its work took, awaited parts included', async () => {
    const c = clock();
    const b = new ThreadBudget(c.now);
    await b.run('a', async () => {
      c.advance(2100);
    });
    expect(b.admit('a')).toMatch(/^busy/);
  });
});
