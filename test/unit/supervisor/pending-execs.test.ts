/** PendingExecs: a keeper registration waits for its exec-start, never longer than it must. */
import { describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { PendingExecs } from '../../../src/supervisor/exec-start.js';
import type { PendingExec } from '../../../src/supervisor/session.js';

const exec = (): PendingExec => ({ got: {} as never, out: { end() {} } as unknown as Socket, quiet: false, defaultOrigins: {} });

describe('PendingExecs.settled', () => {
  it('waits for a build in progress and wakes when it is done; at once when done already (built or failed)', async () => {
    const p = new PendingExecs();
    p.announce('s1');
    let woke = false;
    const w = p.settled('s1', 10_000).then(() => (woke = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(woke).toBe(false);
    p.add('s1', exec());
    p.finish('s1');
    await w;
    expect(p.has('s1')).toBe(true);
    // A failed one: refused at once, not after the wait.
    p.announce('s2');
    p.finish('s2');
    const t0 = Date.now();
    await p.settled('s2', 10_000);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(p.has('s2')).toBe(false);
    p.close();
  });

  it('a wait for a request that never comes ends after its time and leaves nothing behind', async () => {
    const p = new PendingExecs();
    await p.settled('s3', 30);
    expect((p as unknown as { watchers: Map<string, unknown> }).watchers.size).toBe(0);
    p.close();
  });
});
