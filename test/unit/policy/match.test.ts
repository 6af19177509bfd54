/** Table-driven matching: expansion/canonicalisation, hosts/IPs, exec rules, env patterns. */
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HostRule, NetSection, ProgramRule } from '../../../src/policy/compiled.js';
import { canonicalPath, EntryError, expandPath, expandVars } from '../../../src/policy/expand.js';
import { globMatches } from '../../../src/policy/glob.js';
import { decideEnv, decideProgram, envPatternMatches, filterEnv } from '../../../src/policy/match.js';
import { decideHost, decideNet, hostMatches, parseNetEntry } from '../../../src/policy/net-match.js';
import { tempWorld } from './helpers.js';

const w = tempWorld();
const R = w.root;

beforeAll(() => {
  mkdirSync(join(R, 'real/dir'), { recursive: true });
  mkdirSync(join(R, 'proj'), { recursive: true });
  mkdirSync(join(R, 'My Files/ünï cødé'), { recursive: true });
  symlinkSync(join(R, 'real'), join(R, 'link'));
  symlinkSync('real/dir', join(R, 'rel-link'));
  symlinkSync(join(R, 'build-not-yet'), join(R, 'proj/dist-link'));
});

describe('expandPath: ~, $VAR, relative, canonical', () => {
  const ctx = () => ({ home: w.home, env: { ...w.env, DATA: join(R, 'real'), SPACED: 'My Files' }, baseDir: join(R, 'proj') });
  const cases: [string, string, 'subtree' | 'glob', string][] = [
    ['tilde alone', '~', 'subtree', '<H>'],
    ['tilde path', '~/.ssh', 'subtree', '<H>/.ssh'],
    ['$VAR', '$DATA/dir', 'subtree', '<R>/real/dir'],
    ['${VAR}', '${DATA}/dir', 'subtree', '<R>/real/dir'],
    ['$VAR with spaces in its value', '<R>/$SPACED', 'subtree', '<R>/My Files'],
    ['relative to the file dir', 'src', 'subtree', '<R>/proj/src'],
    ['dot is the file dir', '.', 'subtree', '<R>/proj'],
    ['trailing slash dropped', 'dist/', 'subtree', '<R>/proj/dist'],
    ['several trailing slashes', '<R>/real///', 'subtree', '<R>/real'],
    ['.. resolved', '../real/dir/..', 'subtree', '<R>/real'],
    ['./ and // collapse', './/a/./b', 'subtree', '<R>/proj/a/b'],
    ['symlinked dir resolved to its target', '<R>/link/dir', 'subtree', '<R>/real/dir'],
    ['relative symlink resolved', '<R>/rel-link', 'subtree', '<R>/real/dir'],
    ['not-yet-existing path under a symlinked dir', '<R>/link/new/deeper', 'subtree', '<R>/real/new/deeper'],
    ['not-yet-existing path', 'dist/assets', 'subtree', '<R>/proj/dist/assets'],
    ['dangling symlink followed to where writes go', 'dist-link/x', 'subtree', '<R>/build-not-yet/x'],
    ['spaces and unicode', '<R>/My Files/ünï cødé', 'subtree', '<R>/My Files/ünï cødé'],
    ['relative glob anchored at the file dir', '**/.env', 'glob', '<R>/proj/**/.env'],
    ['absolute glob', '/**/.env', 'glob', '/**/.env'],
    ['glob literal prefix canonicalised', '<R>/link/*.pem', 'glob', '<R>/real/*.pem'],
    ['escaped star is not a glob', 'a\\*b', 'subtree', '<R>/proj/a*b'],
    ['glob in the middle', '~/.config/*/token', 'glob', '<H>/.config/*/token'],
  ];
  const sub = (s: string) => s.replaceAll('<R>', R).replaceAll('<H>', w.home);
  it.each(cases)('%s: %s', (_n, input, match, pattern) => {
    expect(expandPath(sub(input), ctx())).toEqual({ match, pattern: sub(pattern) });
  });

  const errors: [string, string][] = [
    ['$NOPE/x', 'unknown variable $NOPE'],
    ['${NOPE}', 'unknown variable $NOPE'],
    ['~root/x', "'~user' is not supported, write the path"],
    ['${1BAD}', "bad variable name '${1BAD}'"],
  ];
  it.each(errors)('error: %s → %s', (input, message) => {
    expect(() => expandVars(input, ctx())).toThrow(new EntryError(message));
  });

  it('canonicalPath keeps a non-existent tail below a real prefix', () => {
    expect(canonicalPath(join(R, 'link', 'a', '..', 'b'))).toBe(join(R, 'real', 'b'));
  });
});

describe('globMatches', () => {
  const cases: [string, string, boolean][] = [
    ['/**/*.pem', '/a/b/c.pem', true],
    ['/**/*.pem', '/c.pem', true],
    ['/p/*.pem', '/p/x/c.pem', false],
    ['/p/**', '/p', true],
    ['/p/**', '/p/a/b', true],
    ['/p/**/b/**', '/p/x/b/y', true],
    ['/p/a?c', '/p/abc', true],
    ['/p/a?c', '/p/ac', false],
    ['/p/[ab]', '/p/[ab]', true],
    ['/p/[ab]', '/p/a', false],
    ['/p/x.y', '/p/xzy', false],
    ['/p/\\?', '/p/?', true],
    ['/p/\\?', '/p/a', false],
  ];
  it.each(cases)('%s vs %s → %s', (pattern, path, want) => {
    expect(globMatches(pattern, path)).toBe(want);
  });
});

describe('parseNetEntry', () => {
  const ok: [string, unknown[]][] = [
    ['github.com', [{ kind: 'host', pattern: 'github.com', portLo: 0, portHi: 65535 }]],
    ['GitHub.COM.', [{ kind: 'host', pattern: 'github.com', portLo: 0, portHi: 65535 }]],
    ['github.com:443', [{ kind: 'host', pattern: 'github.com', portLo: 443, portHi: 443 }]],
    ['*.npmjs.org', [{ kind: 'host', pattern: '*.npmjs.org', portLo: 0, portHi: 65535 }]],
    ['*.npmjs.org:8000-8999', [{ kind: 'host', pattern: '*.npmjs.org', portLo: 8000, portHi: 8999 }]],
    ['1.2.3.4', [{ kind: 'ip', family: 4, address: '1.2.3.4', prefix: 32, portLo: 0, portHi: 65535 }]],
    ['1.2.3.4:80', [{ kind: 'ip', family: 4, address: '1.2.3.4', prefix: 32, portLo: 80, portHi: 80 }]],
    ['10.9.8.7/8', [{ kind: 'ip', family: 4, address: '10.0.0.0', prefix: 8, portLo: 0, portHi: 65535 }]],
    ['192.168.1.0/24:5432', [{ kind: 'ip', family: 4, address: '192.168.1.0', prefix: 24, portLo: 5432, portHi: 5432 }]],
    ['::1', [{ kind: 'ip', family: 6, address: '::1', prefix: 128, portLo: 0, portHi: 65535 }]],
    ['[::1]:8080', [{ kind: 'ip', family: 6, address: '::1', prefix: 128, portLo: 8080, portHi: 8080 }]],
    ['fd00:0:0::1/8', [{ kind: 'ip', family: 6, address: 'fd00::', prefix: 8, portLo: 0, portHi: 65535 }]],
    ['[2001:DB8::/32]:53', [{ kind: 'ip', family: 6, address: '2001:db8::', prefix: 32, portLo: 53, portHi: 53 }]],
    ['::ffff:10.0.0.1', [{ kind: 'ip', family: 4, address: '10.0.0.1', prefix: 32, portLo: 0, portHi: 65535 }]],
    ['::ffff:10.0.0.0/104', [{ kind: 'ip', family: 4, address: '10.0.0.0', prefix: 8, portLo: 0, portHi: 65535 }]],
    [
      'localhost',
      [
        { kind: 'ip', family: 4, address: '127.0.0.0', prefix: 8, portLo: 0, portHi: 65535 },
        { kind: 'ip', family: 6, address: '::1', prefix: 128, portLo: 0, portHi: 65535 },
      ],
    ],
    [
      '*:25',
      [
        { kind: 'ip', family: 4, address: '0.0.0.0', prefix: 0, portLo: 25, portHi: 25 },
        { kind: 'ip', family: 6, address: '::', prefix: 0, portLo: 25, portHi: 25 },
      ],
    ],
  ];
  it.each(ok)('%s', (input, want) => {
    expect(parseNetEntry(input)).toEqual(want);
  });
  const bad: [string, string][] = [
    ['https://github.com', 'not a host, IP, CIDR or host:port (leave out the scheme)'],
    ['github.com:0', "bad port range '0' (ports are 1-65535, low-high)"],
    ['github.com:99999', "bad port range '99999' (ports are 1-65535, low-high)"],
    ['github.com:http', "bad port 'http' (expected a number or a range like 8000-8999)"],
    ['10.0.0.0/33', "bad prefix length '/33' (IPv4 allows 0-32)"],
    ['1.2.3.999', "not an IP address: '1.2.3.999'"],
    ['foo*.com', "a wildcard must be a whole first label, like '*.example.com'"],
    ['*.com', "wildcard '*.com' is too broad (use '*' for every host)"],
    ['bad_host!', 'not a host, IP, CIDR or host:port'],
    ['[::1', "missing ']' in '[::1'"],
  ];
  it.each(bad)('rejects %s', (input, message) => {
    expect(() => parseNetEntry(input)).toThrow(new EntryError(message));
  });
});

describe('decideNet: longest prefix, narrower ports, deny on ties', () => {
  const net: NetSection = {
    default: 'deny',
    rules: [
      { rule: 0, effect: 'allow', family: 4, address: '10.0.0.0', prefix: 8, portLo: 0, portHi: 65535 },
      { rule: 1, effect: 'deny', family: 4, address: '10.1.0.0', prefix: 16, portLo: 0, portHi: 65535 },
      { rule: 2, effect: 'allow', family: 4, address: '10.1.2.3', prefix: 32, portLo: 443, portHi: 443 },
      { rule: 3, effect: 'allow', family: 4, address: '127.0.0.0', prefix: 8, portLo: 0, portHi: 65535 },
      { rule: 4, effect: 'deny', family: 4, address: '127.0.0.0', prefix: 8, portLo: 6379, portHi: 6379 },
      { rule: 5, effect: 'allow', family: 6, address: '::1', prefix: 128, portLo: 0, portHi: 65535 },
      { rule: 6, effect: 'allow', family: 4, address: '192.168.0.0', prefix: 16, portLo: 0, portHi: 65535 },
      { rule: 7, effect: 'deny', family: 4, address: '192.168.0.0', prefix: 16, portLo: 0, portHi: 65535 },
    ],
  };
  const cases: [string, number, 'allow' | 'deny', number][] = [
    ['10.9.9.9', 80, 'allow', 0],
    ['10.1.9.9', 80, 'deny', 1],
    ['10.1.2.3', 443, 'allow', 2],
    ['10.1.2.3', 80, 'deny', 1],
    ['127.0.0.1', 3000, 'allow', 3],
    ['127.0.0.1', 6379, 'deny', 4],
    ['127.5.5.5', 22, 'allow', 3],
    ['::1', 80, 'allow', 5],
    ['::2', 80, 'deny', -1],
    ['::ffff:10.9.9.9', 80, 'allow', 0],
    ['192.168.1.1', 80, 'deny', 7],
    ['8.8.8.8', 53, 'deny', -1],
    ['not-an-ip', 53, 'deny', -1],
  ];
  it.each(cases)('%s:%d → %s (%d)', (addr, port, effect, rule) => {
    expect(decideNet(net, addr, port)).toEqual({ effect, rule });
  });
});

describe('host names: exact, wildcard, apex', () => {
  const rules: HostRule[] = [
    { rule: 0, effect: 'allow', pattern: '*.example.com', portLo: 0, portHi: 65535 },
    { rule: 1, effect: 'deny', pattern: '*.internal.example.com', portLo: 0, portHi: 65535 },
    { rule: 2, effect: 'allow', pattern: 'api.internal.example.com', portLo: 443, portHi: 443 },
    { rule: 3, effect: 'allow', pattern: 'github.com', portLo: 0, portHi: 65535 },
    { rule: 4, effect: 'deny', pattern: 'github.com', portLo: 22, portHi: 22 },
  ];
  const cases: [string, number, 'allow' | 'deny' | undefined, number | undefined][] = [
    ['www.example.com', 443, 'allow', 0],
    ['a.b.example.com', 443, 'allow', 0],
    ['example.com', 443, undefined, undefined], // the apex is NOT matched by *.example.com
    ['notexample.com', 443, undefined, undefined],
    ['db.internal.example.com', 443, 'deny', 1],
    ['api.internal.example.com', 443, 'allow', 2],
    ['api.internal.example.com', 80, 'deny', 1],
    ['GitHub.com', 443, 'allow', 3],
    ['github.com', 22, 'deny', 4],
    ['github.com.', 443, 'allow', 3],
    ['gist.github.com', 443, undefined, undefined],
  ];
  it.each(cases)('%s:%d → %s', (name, port, effect, rule) => {
    expect(decideHost(rules, name, port)).toEqual(effect === undefined ? undefined : { effect, rule });
  });
  it('hostMatches: wildcard vs apex', () => {
    expect(hostMatches('*.npmjs.org', 'registry.npmjs.org')).toBe(true);
    expect(hostMatches('*.npmjs.org', 'npmjs.org')).toBe(false);
  });
});

describe('exec program rules: basename, path, argv prefix', () => {
  const rules: ProgramRule[] = [
    { rule: 0, effect: 'deny', name: 'curl', args: [] },
    { rule: 1, effect: 'deny', name: 'kubectl', args: ['delete'] },
    { rule: 2, effect: 'deny', name: 'git', args: ['push', '--force'] },
    { rule: 3, effect: 'allow', name: 'kubectl', args: ['delete', 'pod', 'scratch'] },
    { rule: 4, effect: 'deny', name: '/opt/tools/bin/deploy', args: [] },
    { rule: 5, effect: 'deny', name: 'rm', args: [] },
    { rule: 6, effect: 'allow', name: 'rm', args: [] },
  ];
  const cases: [string, string, string, string[], 'allow' | 'deny' | undefined, number | undefined][] = [
    ['curl by basename', '/usr/bin/curl', 'curl', ['curl', 'https://x'], 'deny', 0],
    ['curl through a symlinked alias name', '/usr/bin/busybox', 'curl', ['curl'], 'deny', 0],
    ['kubectl get is not kubectl delete', '/usr/bin/kubectl', 'kubectl', ['kubectl', 'get', 'pods'], undefined, undefined],
    ['kubectl delete', '/usr/bin/kubectl', 'kubectl', ['kubectl', 'delete', 'pod', 'x'], 'deny', 1],
    ['argv prefix needs all args', '/usr/bin/kubectl', 'kubectl', ['kubectl'], undefined, undefined],
    ['more args win', '/usr/bin/kubectl', 'kubectl', ['kubectl', 'delete', 'pod', 'scratch'], 'allow', 3],
    ['git push --force', '/usr/bin/git', 'git', ['git', 'push', '--force', 'origin'], 'deny', 2],
    ['git push (no --force)', '/usr/bin/git', 'git', ['git', 'push', 'origin'], undefined, undefined],
    ['args are positional, not a set', '/usr/bin/git', 'git', ['git', '--force', 'push'], undefined, undefined],
    ['path rule matches the canonical binary', '/opt/tools/bin/deploy', './deploy', ['./deploy'], 'deny', 4],
    ['path rule does not match the same basename elsewhere', '/usr/bin/deploy', 'deploy', ['deploy'], undefined, undefined],
    ['deny beats allow at equal args', '/bin/rm', 'rm', ['rm', '-rf', 'x'], 'deny', 5],
    ['unrelated program', '/usr/bin/ls', 'ls', ['ls'], undefined, undefined],
  ];
  it.each(cases)('%s', (_n, binary, requested, argv, effect, rule) => {
    expect(decideProgram(rules, binary, requested, argv)).toEqual(effect === undefined ? undefined : { effect, rule });
  });
});

describe('env patterns', () => {
  const env = { deny: ['AWS_*', '*_TOKEN', 'SECRET', '*'], allow: ['AWS_REGION', 'PATH', 'GITHUB_*', 'HOME'] };
  const cases: [string, 'allow' | 'deny', string][] = [
    ['AWS_SECRET_ACCESS_KEY', 'deny', 'AWS_*'],
    ['AWS_REGION', 'allow', 'AWS_REGION'],
    ['NPM_TOKEN', 'deny', '*_TOKEN'],
    ['GITHUB_TOKEN', 'allow', 'GITHUB_*'], // "GITHUB_" (7 literal chars) beats "_TOKEN" (6)
    ['PATH', 'allow', 'PATH'],
    ['HOME', 'allow', 'HOME'],
    ['EDITOR', 'deny', '*'],
    ['SECRET', 'deny', 'SECRET'],
  ];
  it.each(cases)('%s → %s by %s', (name, effect, pattern) => {
    expect(decideEnv(env, name)).toEqual({ effect, pattern });
  });
  it('no pattern: kept', () => {
    expect(decideEnv({ deny: ['AWS_*'], allow: [] }, 'EDITOR')).toEqual({ effect: 'allow' });
  });
  it('equal specificity: deny wins', () => {
    expect(decideEnv({ deny: ['A*'], allow: ['*A'] }, 'AA')).toEqual({ effect: 'deny', pattern: 'A*' });
  });
  it('patterns are anchored and literal except *', () => {
    expect(envPatternMatches('A.B', 'AxB')).toBe(false);
    expect(envPatternMatches('*KEY*', 'MY_KEY_FILE')).toBe(true);
    expect(envPatternMatches('KEY', 'MY_KEY')).toBe(false);
  });
  it('filterEnv drops denied variables and keeps the rest', () => {
    expect(filterEnv({ AWS_KEY: 'x', AWS_REGION: 'eu', EDITOR: 'vi' }, { deny: ['AWS_*'], allow: ['AWS_REGION'] })).toEqual({ AWS_REGION: 'eu', EDITOR: 'vi' });
  });
});

describe('local addresses (what a name allowed only by a wildcard never reaches through the proxy)', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.9.9.9', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.32.0.1', false],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['224.0.0.1', true],
    ['255.255.255.255', true],
    ['::1', true],
    ['::', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:93.184.215.14', false],
    ['fd00::1', true],
    ['fe80::1', true],
    ['ff02::1', true],
    ['64:ff9b::a9fe:a9fe', true],
    ['64:ff9b::5db8:d70e', false],
    ['2002:0a00:0001::1', true],
    ['93.184.215.14', false],
    ['140.82.121.4', false],
    ['2606:4700::1', false],
    ['2001:db8::1', false],
    ['not-an-address', true],
  ])('%s → %s', async (a, want) => {
    const { isLocalAddress } = await import('../../../src/policy/net-match.js');
    expect(isLocalAddress(a)).toBe(want);
  });
});
