import { describe, expect, it } from 'vitest';
import { compileNetEntries, decideHost, parseHostEntry } from '../../../src/net/hosts.js';
import { formatIp } from '../../../src/net/ip.js';

describe('parseHostEntry', () => {
  const ok: [string, unknown][] = [
    ['github.com', { kind: 'name', name: 'github.com', portLo: 0, portHi: 65535 }],
    ['GitHub.COM.', { kind: 'name', name: 'github.com', portLo: 0, portHi: 65535 }],
    ['github.com:443', { kind: 'name', name: 'github.com', portLo: 443, portHi: 443 }],
    ['api.example.test:8000-8999', { kind: 'name', name: 'api.example.test', portLo: 8000, portHi: 8999 }],
    ['*.npmjs.org', { kind: 'wildcard', suffix: 'npmjs.org', portLo: 0, portHi: 65535 }],
    ['*.npmjs.org:443', { kind: 'wildcard', suffix: 'npmjs.org', portLo: 443, portHi: 443 }],
    ['intranet', { kind: 'name', name: 'intranet', portLo: 0, portHi: 65535 }],
    ['cafe.beef', { kind: 'name', name: 'cafe.beef', portLo: 0, portHi: 65535 }],
  ];
  it.each(ok)('%s', (text, want) => expect(parseHostEntry(text)).toEqual(want));

  const nets: [string, string[], number, number][] = [
    ['10.1.2.3', ['10.1.2.3/32'], 0, 65535],
    ['10.1.2.3:22', ['10.1.2.3/32'], 22, 22],
    ['10.1.2.3/8', ['10.0.0.0/8'], 0, 65535],
    ['10.0.0.0/8:443', ['10.0.0.0/8'], 443, 443],
    ['::1', ['::1/128'], 0, 65535],
    ['[::1]:8080', ['::1/128'], 8080, 8080],
    ['[fd00::/8]:443', ['fd00::/8'], 443, 443],
    ['fd00:0:0::1/64', ['fd00::/64'], 0, 65535],
    ['::ffff:10.1.2.3', ['10.1.2.3/32'], 0, 65535],
    ['::ffff:10.0.0.0/104', ['10.0.0.0/8'], 0, 65535],
    ['localhost', ['127.0.0.0/8', '::1/128'], 0, 65535],
    ['localhost:3000', ['127.0.0.0/8', '::1/128'], 3000, 3000],
    ['*', ['0.0.0.0/0', '::/0'], 0, 65535],
    ['*:53', ['0.0.0.0/0', '::/0'], 53, 53],
  ];
  it.each(nets)('%s → networks', (text, want, lo, hi) => {
    const h = parseHostEntry(text);
    if (typeof h === 'string' || h.kind !== 'network') throw new Error(`not a network: ${JSON.stringify(h)}`);
    expect(h.networks.map((n) => `${formatIp(n.ip)}/${n.prefix}`)).toEqual(want);
    expect([h.portLo, h.portHi]).toEqual([lo, hi]);
  });

  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['exa mple.com', /not a hostname/],
    ['foo.*.com', /whole leading label/],
    ['*.', /wildcard/],
    ['*.-x.com', /not a valid wildcard/],
    ['github.com:99999', /out of range/],
    ['github.com:20-10', /backwards/],
    ['github.com:http', /bad port/],
    ['10.0.0.0/33', /out of range/],
    ['1.2.3', /not an IP address/],
    ['[::1', /missing '\]'/],
    ['[github.com]:80', /only for IPv6/],
    ['-bad.com', /not a hostname/],
  ];
  it.each(bad)('rejects %j', (text, why) => {
    const h = parseHostEntry(text);
    expect(typeof h).toBe('string');
    expect(h).toMatch(why);
  });
});


describe('compileNetEntries', () => {
  it('splits addresses into NetRules and names into HostRules, keeping origin and effect', () => {
    const c = compileNetEntries([
      { text: 'github.com', effect: 'allow', rule: 0 },
      { text: '*.npmjs.org:443', effect: 'allow', rule: 1 },
      { text: '10.0.0.0/8', effect: 'deny', rule: 2 },
      { text: 'localhost', effect: 'allow', rule: 3 },
      { text: 'bad name', effect: 'allow', rule: 4 },
    ]);
    expect(c.rules).toEqual([
      { rule: 2, effect: 'deny', family: 4, address: '10.0.0.0', prefix: 8, portLo: 0, portHi: 65535 },
      { rule: 3, effect: 'allow', family: 4, address: '127.0.0.0', prefix: 8, portLo: 0, portHi: 65535 },
      { rule: 3, effect: 'allow', family: 6, address: '::1', prefix: 128, portLo: 0, portHi: 65535 },
    ]);
    expect(c.hosts).toEqual([
      { rule: 0, effect: 'allow', kind: 'name', name: 'github.com', portLo: 0, portHi: 65535 },
      { rule: 1, effect: 'allow', kind: 'wildcard', name: 'npmjs.org', portLo: 443, portHi: 443 },
      { rule: 3, effect: 'allow', kind: 'name', name: 'localhost', portLo: 0, portHi: 65535 },
    ]);
    expect(c.errors).toEqual([{ index: 4, message: "'bad name' is not a hostname, IP address or CIDR" }]);
  });
});

describe('decideHost', () => {
  const { hosts } = compileNetEntries([
    { text: '*.example.test', effect: 'allow', rule: 0 },
    { text: 'evil.example.test', effect: 'deny', rule: 1 },
    { text: '*.internal.example.test', effect: 'deny', rule: 2 },
    { text: 'ok.internal.example.test:443', effect: 'allow', rule: 3 },
    { text: 'api.other.test', effect: 'allow', rule: 4 },
    { text: 'api.other.test:22', effect: 'deny', rule: 5 },
  ]);
  const cases: [string, number, number | undefined][] = [
    ['a.example.test', 80, 0],
    ['A.B.Example.Test.', 80, 0],
    ['example.test', 80, undefined], // a wildcard does not match its apex
    ['notexample.test', 80, undefined],
    ['evil.example.test', 80, 1], // exact deny beats wildcard allow
    ['x.evil.example.test', 80, 0], // the exact rule is not a wildcard
    ['db.internal.example.test', 5432, 2], // longer wildcard wins
    ['ok.internal.example.test', 443, 3],
    ['ok.internal.example.test', 80, 2],
    ['api.other.test', 443, 4],
    ['api.other.test', 22, 5], // narrower port range wins
    ['other.test', 443, undefined],
  ];
  it.each(cases)('%s:%i → rule %s', (name, port, rule) => {
    expect(decideHost(hosts, name, port)?.rule).toBe(rule);
  });

  it('deny beats allow at equal specificity', () => {
    const c = compileNetEntries([
      { text: 'x.test', effect: 'allow', rule: 0 },
      { text: 'x.test', effect: 'deny', rule: 1 },
    ]);
    expect(decideHost(c.hosts, 'x.test', 1)?.effect).toBe('deny');
  });
});
