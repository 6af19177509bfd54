import { describe, expect, it } from 'vitest';
import { canonicalIp, hostRule } from '../../../src/net/ip.js';
import { namesToResolve, nameRuleIndices } from '../../../src/net/hosts.js';

describe('canonical addresses (resolver answers, reverse map keys)', () => {
  const cases: [string, string | undefined][] = [
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::ffff:127.0.0.2', '127.0.0.2'],
    ['::FFFF:7f00:2', '127.0.0.2'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8::0001', '2001:db8::1'],
    ['localhost', undefined],
    ['1.2.3', undefined],
  ];
  it.each(cases)('%s → %s', (text, want) => expect(canonicalIp(text)).toBe(want));
  it('hostRule: one address, mapped as IPv4', () => {
    expect(hostRule(3, 'deny', '::ffff:10.0.0.1', 443, 443)).toEqual({ rule: 3, effect: 'deny', family: 4, address: '10.0.0.1', prefix: 32, portLo: 443, portHi: 443 });
    expect(hostRule(1, 'allow', '::1')).toEqual({ rule: 1, effect: 'allow', family: 6, address: '::1', prefix: 128, portLo: 0, portHi: 65535 });
    expect(hostRule(1, 'allow', 'nope')).toBeUndefined();
  });
});

describe('host rules', () => {
  const hosts = [
    { rule: 0, effect: 'allow' as const, pattern: 'a.test', portLo: 0, portHi: 65535 },
    { rule: 1, effect: 'allow' as const, pattern: '*.b.test', portLo: 0, portHi: 65535 },
    { rule: 2, effect: 'deny' as const, pattern: 'a.test', portLo: 22, portHi: 22 },
  ];
  it('exact names are resolved (once each); wildcards are left to the proxy', () => {
    expect(namesToResolve(hosts)).toEqual(['a.test']);
    expect([...nameRuleIndices(hosts)]).toEqual([0, 2]);
  });
});
