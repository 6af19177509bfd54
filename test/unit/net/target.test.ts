/**
 * decideTarget (src/net/target.ts), what the filtering proxy connects to: a name no rule of the
 * asking program's policy could allow is refused without being resolved — the lookup alone
 * would carry what the program put in the name out to a resolver.
 */
import { describe, expect, it } from 'vitest';
import { finishPolicy } from '../../../src/policy/finish.js';
import { decideTarget } from '../../../src/net/target.js';
import { NetNames } from '../../../src/net/names.js';
import type { Resolver } from '../../../src/net/resolve.js';
import { netPolicy } from './helpers.js';

function counting(): Resolver & { asked: string[] } {
  const asked: string[] = [];
  return { description: 'test', asked, resolve: async (name: string) => (asked.push(name), { addresses: ['10.1.2.3'], ttl: 30 }) };
}
const finished = (allow: string[]) => finishPolicy(netPolicy(allow), { resolved: new Map(), nameservers: [], env: {} }).policy.net;

describe('decideTarget', () => {
  it('a name on a port no rule allows is refused unresolved; twin: on the allowed port it is resolved and reached', async () => {
    const r = counting();
    const nets = [finished(['10.1.2.3:443'])];
    expect(await decideTarget({ nets: () => nets }, r, new NetNames(), 'c2VjcmV0.exfil.test', 80)).toMatchObject({ ok: false });
    expect(r.asked).toEqual([]);
    expect(await decideTarget({ nets: () => nets }, r, new NetNames(), 'api.example.test', 443)).toEqual({ ok: true, addresses: ['10.1.2.3'] });
    expect(r.asked).toEqual(['api.example.test']);
  });

  it('with host rules only: a name they do not match is never looked up; one they allow is', async () => {
    const r = counting();
    const nets = [finished(['*.example.test'])];
    expect(await decideTarget({ nets: () => nets }, r, new NetNames(), 'c2VjcmV0.exfil.test', 443)).toMatchObject({ ok: false });
    expect(r.asked).toEqual([]);
    await decideTarget({ nets: () => nets }, r, new NetNames(), 'api.example.test', 443);
    expect(r.asked).toEqual(['api.example.test']);
  });
});
