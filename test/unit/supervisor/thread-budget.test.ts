/** The supervisor's thread time for requests from inside: per session and for all sessions together. */
import { describe, expect, it } from 'vitest';
import { ALL_SESSIONS, ASKS_ALL_SESSIONS, ASKS_PER_SESSION, PER_SESSION, ThreadBudget } from '../../../src/supervisor/thread-budget.js';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}
const refillMs = (spec: { refillPerSecond: number }, debt: number) => (debt / spec.refillPerSecond) * 1000;

describe('ThreadBudget', () => {
  it('a session that used its burst is answered busy; it is admitted again once the budget refilled (twin: another session is admitted meanwhile)', () => {
    const c = clock();
    const b = new ThreadBudget(c.now);
    expect(b.admit('a')).toBeUndefined();
    b.charge('a', PER_SESSION.capacity + 500);
    expect(b.admit('a')).toMatch(/^busy: this session/);
    expect(b.admit('b')).toBeUndefined();
    c.advance(refillMs(PER_SESSION, 400)); // 400 ms back: still in debt by 100
    expect(b.admit('a')).toMatch(/^busy/);
    c.advance(refillMs(PER_SESSION, 200));
    expect(b.admit('a')).toBeUndefined();
  });

  it('many sessions together are held to the shared budget', () => {
    const c = clock();
    const b = new ThreadBudget(c.now);
    const each = PER_SESSION.capacity - 1;
    const n = Math.ceil(ALL_SESSIONS.capacity / each) + 1;
    for (let i = 0; i < n; i++) b.charge(`s${i}`, each);
    expect(b.admit('s-new')).toMatch(/^busy: sandboxed sessions/);
    c.advance(refillMs(ALL_SESSIONS, n * each - ALL_SESSIONS.capacity) + 10);
    expect(b.admit('s-new')).toBeUndefined();
  });

  it('a build nesting sbx exec in a loop (50 ms each, back to back) runs 150 of them; a person now and then is never held', () => {
    const c = clock();
    const b = new ThreadBudget(c.now);
    for (let i = 0; i < 150; i++) {
      expect(b.admit('a'), `request ${i}`).toBeUndefined();
      b.charge('a', 50);
      c.advance(50);
    }
    for (let i = 0; i < 1000; i++) {
      expect(b.admit('p')).toBeUndefined();
      b.charge('p', 30);
      c.advance(500);
    }
  });

  it('run() charges the time its work took, awaited parts included', async () => {
    const c = clock();
    const b = new ThreadBudget(c.now);
    await b.run('a', async () => {
      c.advance(PER_SESSION.capacity + 100);
    });
    expect(b.admit('a')).toMatch(/^busy/);
  });

  it('read-only asks: 256 threads asking `why` (40 ms each) are answered busy within about a second of thread time; `sbx log -f` polling (3 ms every 200 ms) never is', () => {
    const c = clock();
    const b = new ThreadBudget(c.now, ASKS_PER_SESSION, ASKS_ALL_SESSIONS);
    let answered = 0;
    for (let i = 0; i < 256; i++) {
      if (b.admit('flood') !== undefined) continue;
      b.charge('flood', 40);
      c.advance(40);
      answered++;
    }
    expect(answered * 40).toBeLessThan(ASKS_PER_SESSION.capacity * 1.5);
    const c2 = clock();
    const b2 = new ThreadBudget(c2.now, ASKS_PER_SESSION, ASKS_ALL_SESSIONS);
    for (let i = 0; i < 3000; i++) {
      expect(b2.admit('follow'), `poll ${i}`).toBeUndefined();
      b2.charge('follow', 3);
      c2.advance(200);
    }
  });
});
