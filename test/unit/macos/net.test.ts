/**
 * IP rules in Seatbelt: only "localhost" and "*" can be named, one port or all. These
 * tests hold the translation to "never allow what compiled.ts would deny" for random
 * policies (sampled addresses on every port boundary), and to exactness where Seatbelt can
 * express the policy (all hosts, no hosts, localhost, ports for every host).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { NetRule, NetSection } from '../../../src/policy/compiled.js';
import { decideNet } from '../../../src/policy/net-match.js';
import { seatbeltProfile } from '../../../src/platform/macos/profile.js';
import { evaluate, parseSbpl } from './sbpl-eval.js';
import { PolicyBuilder } from './policies.js';

const LOCAL: [4 | 6, string][] = [
  [4, '127.0.0.1'],
  [6, '::1'],
];
const REMOTE: [4 | 6, string][] = [
  [4, '8.8.8.8'],
  [4, '10.1.2.3'],
  [4, '127.0.0.2'],
  [4, '140.82.112.3'],
  [6, '2001:db8::1'],
  [6, '::ffff:0:1'],
];

const netRule = fc.record({
  effect: fc.constantFrom<'allow' | 'deny'>('allow', 'deny'),
  target: fc.constantFrom<[4 | 6, string, number]>(
    [4, '0.0.0.0', 0],
    [6, '::', 0],
    [4, '127.0.0.1', 32],
    [6, '::1', 128],
    [4, '10.0.0.0', 8],
    [4, '140.82.112.3', 32],
    [6, '2001:db8::', 32],
    [4, '127.0.0.0', 8],
  ),
  ports: fc.constantFrom<[number, number]>([0, 65535], [443, 443], [25, 25], [1024, 65535], [80, 90]),
});
const netSection = fc.record({
  default: fc.constantFrom<'allow' | 'deny'>('allow', 'deny'),
  rules: fc.array(netRule, { maxLength: 6 }).map((rs) =>
    rs.map(
      (r, i): NetRule => ({ rule: i, effect: r.effect, family: r.target[0], address: r.target[1], prefix: r.target[2], portLo: r.ports[0], portHi: r.ports[1] }),
    ),
  ),
});

function profileFor(net: NetSection) {
  const p = new PolicyBuilder().build();
  p.net = net;
  p.origins = net.rules.map((r) => ({ source: 'prop', text: `${r.address}/${r.prefix}`, section: 'net' as const }));
  return parseSbpl(seatbeltProfile(p));
}

const PORTS = [1, 24, 25, 26, 79, 80, 85, 90, 91, 442, 443, 444, 1023, 1024, 5432, 65535];
const compiled = (net: NetSection, [, address]: [4 | 6, string], port: number) => decideNet(net, address, port).effect;

describe('Seatbelt network rules', () => {
  it('never allow a port/class where compiled.ts denies some address of that class', () => {
    fc.assert(
      fc.property(netSection, (net) => {
        const forms = profileFor(net);
        for (const port of PORTS) {
          if (evaluate(forms, { op: 'network-outbound', ip: { localhost: true, port } }) === 'allow')
            for (const a of LOCAL) expect([a, port, compiled(net, a, port)]).toEqual([a, port, 'allow']);
          if (evaluate(forms, { op: 'network-outbound', ip: { localhost: false, port } }) === 'allow')
            for (const a of REMOTE) expect([a, port, compiled(net, a, port)]).toEqual([a, port, 'allow']);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('exact when only "all hosts" and localhost rules are used', () => {
    const onlyExpressible = netSection.map((n) => ({
      ...n,
      rules: n.rules.filter((r) => r.prefix === 0 || ((r.address === '127.0.0.1' || r.address === '::1') && r.prefix > 8)),
    }));
    fc.assert(
      fc.property(onlyExpressible, (net) => {
        // Seatbelt's "*" covers both families: keep /0 rules paired like the compiler writes them.
        const paired: NetSection = {
          default: net.default,
          rules: net.rules.flatMap((r) =>
            r.prefix === 0 ? [{ ...r, family: 4 as const, address: '0.0.0.0' }, { ...r, family: 6 as const, address: '::' }] : r.address === '127.0.0.1' ? [r, { ...r, family: 6 as const, address: '::1', prefix: 128 }] : [{ ...r, family: 4 as const, address: '127.0.0.1', prefix: 32 }, r],
          ),
        };
        const forms = profileFor(paired);
        for (const port of PORTS) {
          const local = compiled(paired, LOCAL[0]!, port);
          expect(evaluate(forms, { op: 'network-outbound', ip: { localhost: true, port } })).toBe(local);
          const remote = REMOTE.every((a) => compiled(paired, a, port) === 'allow') ? 'allow' : 'deny';
          expect(evaluate(forms, { op: 'network-outbound', ip: { localhost: false, port } })).toBe(remote);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('offline (`net.allow: []`): everything denied; its twin (no net section): everything allowed', () => {
    const off = profileFor({ default: 'deny', rules: [] });
    const on = profileFor({ default: 'allow', rules: [] });
    for (const localhost of [true, false]) {
      expect(evaluate(off, { op: 'network-outbound', ip: { localhost, port: 443 } })).toBe('deny');
      expect(evaluate(on, { op: 'network-outbound', ip: { localhost, port: 443 } })).toBe('allow');
    }
  });

  it('IP rules do not touch unix sockets, and unix rules do not touch IP', () => {
    const p = new PolicyBuilder({ net: 'deny', unix: 'allow' }).build();
    const forms = parseSbpl(seatbeltProfile(p));
    expect(evaluate(forms, { op: 'network-outbound', unix: '/private/var/run/mDNSResponder' })).toBe('allow');
    expect(evaluate(forms, { op: 'network-outbound', ip: { localhost: false, port: 53 } })).toBe('deny');
  });

  it('a range of up to 1024 ports is listed port by port (exact)', () => {
    const p = new PolicyBuilder({ net: 'deny' }).net('allow', 4, '0.0.0.0', 0, 1024, 65535).net('allow', 6, '::', 0, 1024, 65535).build();
    const forms = parseSbpl(seatbeltProfile(p));
    expect(evaluate(forms, { op: 'network-outbound', ip: { localhost: false, port: 1024 } })).toBe('allow');
    expect(evaluate(forms, { op: 'network-outbound', ip: { localhost: false, port: 1023 } })).toBe('deny');
  });

  it('too many allowed AND denied ports to list: denied, and the profile says so', () => {
    const p = new PolicyBuilder({ net: 'deny' }).net('allow', 4, '0.0.0.0', 0, 2000, 65535).net('allow', 6, '::', 0, 2000, 65535).build();
    const text = seatbeltProfile(p);
    expect(text).toMatch(/; LIMIT: remote hosts: allowed ports 2000-65535 are too many to list one by one; denied/);
    const forms = parseSbpl(text);
    expect(evaluate(forms, { op: 'network-outbound', ip: { localhost: false, port: 8080 } })).toBe('deny');
    // the twin that fits: a few ports are listed one by one
    const few = parseSbpl(seatbeltProfile(new PolicyBuilder({ net: 'deny' }).net('allow', 4, '0.0.0.0', 0, 8080, 8081).net('allow', 6, '::', 0, 8080, 8081).build()));
    expect(evaluate(few, { op: 'network-outbound', ip: { localhost: false, port: 8080 } })).toBe('allow');
    expect(evaluate(few, { op: 'network-outbound', ip: { localhost: false, port: 8082 } })).toBe('deny');
  });
});
