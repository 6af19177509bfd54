import { describe, expect, it } from 'vitest';
import { canonicalIp, decideNet, formatIp, parseIp } from '../../../src/net/ip.js';
import type { NetSection } from '../../../src/policy/compiled.js';

describe('canonical addresses', () => {
  const cases: [string, string | undefined][] = [
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::ffff:127.0.0.2', '127.0.0.2'],
    ['::FFFF:7f00:2', '127.0.0.2'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8::0001', '2001:db8::1'],
    ['fe80::', 'fe80::'],
    ['::', '::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:3:4:5:6:7:8', '1:0:3:4:5:6:7:8'],
    ['localhost', undefined],
    ['1.2.3', undefined],
  ];
  it.each(cases)('%s → %s', (text, want) => expect(canonicalIp(text)).toBe(want));
  it('round-trips', () => expect(formatIp(parseIp('64:ff9b::1.2.3.4')!)).toBe('64:ff9b::102:304'));
});

describe('decideNet', () => {
  const section: NetSection = {
    default: 'deny',
    rules: [
      { rule: 0, effect: 'allow', family: 4, address: '127.0.0.0', prefix: 8, portLo: 0, portHi: 65535 },
      { rule: 1, effect: 'deny', family: 4, address: '127.0.0.9', prefix: 32, portLo: 0, portHi: 65535 },
      { rule: 2, effect: 'allow', family: 4, address: '127.0.0.9', prefix: 32, portLo: 80, portHi: 80 },
      { rule: 3, effect: 'allow', family: 6, address: '::1', prefix: 128, portLo: 0, portHi: 65535 },
      { rule: 4, effect: 'deny', family: 6, address: '::1', prefix: 128, portLo: 22, portHi: 22 },
      { rule: 5, effect: 'allow', family: 4, address: '10.0.0.5', prefix: 32, portLo: 443, portHi: 443 },
      { rule: 6, effect: 'deny', family: 4, address: '10.0.0.5', prefix: 32, portLo: 443, portHi: 443 },
    ],
  };
  const cases: [string, number, string, number][] = [
    ['127.0.0.1', 1, 'allow', 0],
    ['::ffff:127.0.0.1', 1, 'allow', 0], // mapped is matched as IPv4
    ['127.0.0.9', 81, 'deny', 1], // longest prefix
    ['127.0.0.9', 80, 'allow', 2], // narrower port range
    ['::ffff:127.0.0.9', 80, 'allow', 2],
    ['::1', 80, 'allow', 3],
    ['::1', 22, 'deny', 4],
    ['::2', 80, 'deny', -1],
    ['10.0.0.5', 443, 'deny', 6], // deny beats allow on a tie
    ['10.0.0.6', 443, 'deny', -1],
    ['not-an-ip', 80, 'deny', -1],
  ];
  it.each(cases)('%s:%i → %s by %i', (addr, port, effect, rule) => {
    expect(decideNet(section, addr, port)).toEqual({ effect, rule });
  });
  it('no rule: the default', () => {
    expect(decideNet({ default: 'allow', rules: [] }, '192.0.2.1', 80)).toEqual({ effect: 'allow', rule: -1 });
  });
});
