/**
 * Golden Seatbelt profiles for representative policies (test/fixtures/golden/seatbelt/*.sb).
 * A change in the generator shows up as a reviewed diff of these files:
 *   SBX_UPDATE_GOLDEN=1 npx vitest run test/unit/macos/golden.test.ts
 * Each golden is also read back with the SBPL reader and every rule checked against the
 * vocabulary this backend is allowed to use (an unknown filter fails).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { seatbeltProfile } from '../../../src/platform/macos/profile.js';
import { evaluate, parseSbpl, type Request } from './sbpl-eval.js';
import { goldenPolicies } from './policies.js';
import { probePolicy } from '../../../src/platform/macos/doctor.js';

const DIR = resolve(import.meta.dirname, '../../fixtures/golden/seatbelt');

const PROBES: Request[] = [
  { op: 'file-read-data', path: '/Users/dev/src/app/x' },
  { op: 'file-write-unlink', path: '/Users/dev' },
  { op: 'process-exec', path: '/usr/bin/curl' },
  { op: 'network-outbound', ip: { localhost: true, port: 5432 } },
  { op: 'network-outbound', ip: { localhost: false, port: 443 } },
  { op: 'network-outbound', unix: '/var/run/docker.sock' },
];

describe('golden Seatbelt profiles', () => {
  it('there are at least 6 representative policies', () => {
    expect(Object.keys(goldenPolicies).length).toBeGreaterThanOrEqual(6);
  });

  for (const [name, make] of Object.entries(goldenPolicies)) {
    it(`${name}.sb`, () => {
      const text = seatbeltProfile(make());
      const file = join(DIR, `${name}.sb`);
      if (process.env.SBX_UPDATE_GOLDEN === '1' || !existsSync(file)) writeFileSync(file, text);
      expect(text).toBe(readFileSync(file, 'utf8'));
      expect(text.startsWith('(version 1)\n')).toBe(true);
      const forms = parseSbpl(text);
      for (const probe of PROBES) expect(['allow', 'deny']).toContain(evaluate(forms, probe));
    });
  }

  it('per-program overrides cannot be applied by Seatbelt: the profile says so', () => {
    const p = goldenPolicies.secrets!();
    p.commands = [{ rule: 0, name: 'npm', policy: 1 }];
    expect(seatbeltProfile(p)).toMatch(/^; LIMIT: 1 per-program `commands:` override\(s\) \(npm\) are not applied:$/m);
    expect(seatbeltProfile(goldenPolicies.secrets!())).not.toMatch(/LIMIT/);
  });

  it("doctor's probe: on a Seatbelt that reads profiles as modelled here, the deny bites and its twin passes", () => {
    const dir = '/private/var/folders/xy/T/sbx-doctor-1';
    const forms = parseSbpl(seatbeltProfile(probePolicy(dir), { privateDir: `${dir}/private`, control: `${dir}/private/ctl` }));
    expect(evaluate(forms, { op: 'file-read-data', path: `${dir}/probe.txt` })).toBe('deny');
    expect(evaluate(forms, { op: 'file-read-data', path: `${dir}/probeXtxt` })).toBe('allow');
    expect(evaluate(forms, { op: 'process-exec', path: '/bin/cat' })).toBe('allow');
  });

  it('the same policy gives the same text (the shell compares profiles), whatever its id', () => {
    const a = goldenPolicies.secrets!();
    const b = { ...goldenPolicies.secrets!(), id: 99 };
    expect(seatbeltProfile(a)).toBe(seatbeltProfile(b));
  });
});

describe('what the goldens mean', () => {
  const read = (name: string, path: string) => evaluate(parseSbpl(seatbeltProfile(goldenPolicies[name]!())), { op: 'file-read-data', path });
  const write = (name: string, path: string) => evaluate(parseSbpl(seatbeltProfile(goldenPolicies[name]!())), { op: 'file-write-create', path });
  const exec = (name: string, path: string) => evaluate(parseSbpl(seatbeltProfile(goldenPolicies[name]!())), { op: 'process-exec', path });
  const ip = (name: string, localhost: boolean, port: number) =>
    evaluate(parseSbpl(seatbeltProfile(goldenPolicies[name]!())), { op: 'network-outbound', ip: { localhost, port } });
  const unix = (name: string, path: string) => evaluate(parseSbpl(seatbeltProfile(goldenPolicies[name]!())), { op: 'network-outbound', unix: path });

  it('secrets: ~/.ssh denied, known_hosts (more specific) allowed, project .env denied at any depth', () => {
    expect(read('secrets', '/Users/dev/.ssh/id_ed25519')).toBe('deny');
    expect(read('secrets', '/Users/dev/.ssh/known_hosts')).toBe('allow');
    expect(read('secrets', '/Users/dev/src/app/pkg/deep/.env')).toBe('deny');
    expect(read('secrets', '/Users/dev/src/app/pkg/deep/.envrc')).toBe('allow');
    expect(unix('secrets', '/private/var/run/docker.sock')).toBe('deny');
    expect(unix('secrets', '/private/var/run/other.sock')).toBe('allow');
  });

  it('deny-all-allow-write: system readable, home not; project and /tmp writable, hooks not; no network', () => {
    expect(read('deny-all-allow-write', '/usr/lib/libSystem.B.dylib')).toBe('allow');
    expect(read('deny-all-allow-write', '/Users/dev/.zsh_history')).toBe('deny');
    expect(write('deny-all-allow-write', '/Users/dev/src/app/dist/a.js')).toBe('allow');
    expect(write('deny-all-allow-write', '/Users/dev/src/app/.git/hooks/pre-commit')).toBe('deny');
    expect(write('deny-all-allow-write', '/private/tmp/x')).toBe('allow');
    expect(write('deny-all-allow-write', '/Users/dev/x')).toBe('deny');
    expect(ip('deny-all-allow-write', false, 443)).toBe('deny');
    expect(ip('deny-all-allow-write', true, 8080)).toBe('deny');
    expect(exec('deny-all-allow-write', '/bin/ls')).toBe('allow');
    expect(exec('deny-all-allow-write', '/Users/dev/bin/tool')).toBe('deny'); // not readable → not runnable
  });

  it('globs: metacharacters are literal, * and ? stay within a segment', () => {
    expect(read('globs', '/Users/dev/server.pem')).toBe('deny');
    expect(read('globs', '/Users/dev/keys/server.pem')).toBe('allow');
    expect(read('globs', '/Users/dev/serverXpem')).toBe('allow');
    expect(read('globs', '/Users/dev/.config/ab-secret')).toBe('deny');
    expect(read('globs', '/Users/dev/.config/abc-secret')).toBe('allow');
    expect(read('globs', '/Users/dev/src/app/*literal-star?.txt')).toBe('deny');
    expect(read('globs', '/Users/dev/src/app/Xliteral-starY.txt')).toBe('allow');
    expect(read('globs', '/Users/dev/src/app/build/x.js')).toBe('deny');
    expect(read('globs', '/Users/dev/src/app/build/public/x.js')).toBe('allow');
    expect(write('globs', '/Users/dev/src/app/a.b+c(d)[e]{f}^$|.log')).toBe('allow');
    expect(write('globs', '/Users/dev/src/app/aXb+c(d)[e]{f}^$|.log')).toBe('deny');
    expect(write('globs', '/Users/dev/src/app/src/pkg/dist/x')).toBe('allow');
    expect(write('globs', '/Users/dev/src/app/src/pkg/x')).toBe('deny');
  });

  it('exec-denies: directory denied, one binary re-allowed, programs by basename or path', () => {
    expect(exec('exec-denies', '/usr/local/bin/python3')).toBe('deny');
    expect(exec('exec-denies', '/usr/local/bin/node')).toBe('allow');
    expect(exec('exec-denies', '/usr/bin/curl')).toBe('deny');
    expect(exec('exec-denies', '/usr/bin/curly')).toBe('allow');
    expect(exec('exec-denies', '/opt/homebrew/bin/kubectl')).toBe('deny'); // argv rule: whole program (stated in the profile)
    expect(exec('exec-denies', '/opt/homebrew/bin/wget')).toBe('deny');
    expect(exec('exec-denies', '/usr/bin/wget')).toBe('allow');
    expect(exec('exec-denies', '/Users/dev/.ssh/evil')).toBe('deny');
  });

  it('net-allow-list: localhost allowed but 5432; remote hosts denied (Seatbelt cannot name them)', () => {
    expect(ip('net-allow-list', true, 3000)).toBe('allow');
    expect(ip('net-allow-list', true, 5432)).toBe('deny');
    expect(ip('net-allow-list', false, 443)).toBe('deny');
    expect(readFileSync(join(DIR, 'net-allow-list.sb'), 'utf8')).toMatch(/; LIMIT: Seatbelt cannot filter by remote address/);
  });

  it('net-ports: the 10/8 deny makes every remote host denied; localhost stays allowed except port 25', () => {
    expect(ip('net-ports', true, 443)).toBe('allow');
    expect(ip('net-ports', true, 25)).toBe('deny');
    expect(ip('net-ports', false, 443)).toBe('deny');
  });

  it('unix-sockets: default deny, allowed dir and glob, a deeper deny inside the allowed dir', () => {
    expect(unix('unix-sockets', '/Users/dev/.ssh/agent/s.1')).toBe('allow');
    expect(unix('unix-sockets', '/Users/dev/.ssh/agent/locked/s')).toBe('deny');
    expect(unix('unix-sockets', '/private/tmp/a.sock')).toBe('allow');
    expect(unix('unix-sockets', '/private/tmp/a.sockx')).toBe('deny');
    expect(unix('unix-sockets', '/var/run/docker.sock')).toBe('deny');
  });

  it('floors: protect wins over the more specific allow; the rest of HOME stays writable', () => {
    expect(read('floors', '/Users/dev/.config/sbx/public/x')).toBe('deny');
    expect(read('floors', '/Users/dev/.config/other')).toBe('allow');
    expect(read('floors', '/Users/dev/a/b/id_rsa')).toBe('deny');
    expect(write('floors', '/Users/dev/.zshrc')).toBe('deny');
    expect(write('floors', '/Users/dev/.zprofile')).toBe('allow');
  });

  it("audit: nothing but a floor or sbx's own built-in deny is denied, the would-be denials are reported", () => {
    const text = readFileSync(join(DIR, 'audit.sb'), 'utf8');
    expect(text.match(/^\(deny .*$/gm)).toEqual(['(deny file-write* (subpath "/Users/dev/.tmux.conf"))', '(deny file-write* (subpath "/Users/dev/.zshrc"))']);
    expect(write('audit', '/Users/dev/.zshrc')).toBe('deny');
    expect(write('audit', '/Users/dev/.tmux.conf')).toBe('deny'); // written by sbx itself (builtin)
    expect(write('audit', '/Users/dev/.zprofile')).toBe('allow');
    expect(text).toMatch(/^\(allow file-read\* \(subpath "\/Users\/dev\/\.ssh"\) \(with report\)\)$/m);
    expect(read('audit', '/Users/dev/.ssh/id_rsa')).toBe('allow');
    expect(ip('audit', false, 443)).toBe('allow');
  });
});
