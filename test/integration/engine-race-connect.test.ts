/**
 * Invariant 1 for connect: threads flip the sockaddr port between an allowed and a denied
 * loopback server for 10 s while others connect(). The denied server must never see a
 * connection; the allowed one must.
 */
import { createServer } from 'node:net';
import { expect, it } from 'vitest';
import { fixtureBin, policy, run } from './engine-harness.js';

it('connect() racing an address flip never reaches the denied port (10 s)', async () => {
  let allowedHits = 0;
  let deniedHits = 0;
  const mk = (tag: string) =>
    createServer((c) => {
      if (tag === 'A') allowedHits++;
      else deniedHits++;
      c.on('error', () => {});
      c.end(tag);
    });
  const a = mk('A');
  const dn = mk('D');
  await new Promise<void>((res) => a.listen(0, '127.0.0.1', () => res()));
  await new Promise<void>((res) => dn.listen(0, '127.0.0.1', () => res()));
  const pa = (a.address() as { port: number }).port;
  const pd = (dn.address() as { port: number }).port;
  try {
    const r = await run({
      policies: [
        policy(1, {
          net: { default: 'deny', rules: [{ rule: 0, effect: 'allow', family: 4, address: '127.0.0.1', prefix: 32, portLo: pa, portHi: pa }] },
        }),
      ],
      argv: [fixtureBin('engine_race_connect'), '127.0.0.1', String(pa), String(pd), '10'],
    });
    const m = /ok=(\d+) refused=(\d+) leaks=(\d+)/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(Number(m![3])).toBe(0);
    expect(deniedHits).toBe(0);
    expect(allowedHits).toBeGreaterThan(0);
    expect(Number(m![2])).toBeGreaterThan(0);
  } finally {
    a.close();
    dn.close();
  }
}, 60_000);
