/**
 * `./bin/sbx exec` with every mise-compatible flag, on the real kernel through the
 * engine. Every denial sits next to its allowed twin, so a sandbox that denies
 * everything (or nothing) fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bannerServer, fixture, fixturesBin, sbxExec, tempWorld } from './exec-helpers.js';

const world = tempWorld('sbx-flags-');
const d = (...p: string[]) => join(world.dir, ...p);
// Not under ~/.ssh: the built-in `secrets` preset would deny it even in the allowed twin.
const secret = d('data', 'id_rsa');
const pubA = d('pub-a', 'a.txt');
const pubB = d('pub-b', 'b.txt');
const out = d('out');
const exec = (args: string[], env: Record<string, string> = world.env) => sbxExec(args, { env, cwd: world.dir });

beforeAll(() => {
  mkdirSync(d('data'), { recursive: true });
  writeFileSync(secret, 'PRIVATE KEY\n');
  for (const f of [pubA, pubB]) {
    mkdirSync(join(f, '..'), { recursive: true });
    writeFileSync(f, `${f}\n`);
  }
  mkdirSync(out);
});
afterAll(() => world.cleanup());

describe('--deny-read / --allow-read', () => {
  it('denies the file with EACCES and one stderr line naming the rule; system paths stay readable', async () => {
    const r = await exec(['--deny-read', '--', 'cat', secret]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cat: ${secret}: Permission denied`);
    expect(r.stderr).toContain(`sbx: denied read ${secret} (--deny-read)`);
    expect(r.stdout).toBe('');
    const sys = await exec(['--deny-read', '--', 'cat', '/etc/passwd']);
    expect(sys.code).toBe(0);
    expect(sys.stdout).toContain('root:');
  });

  it('allowed twin: without the flag, and with --allow-read, the same file is readable', async () => {
    expect((await exec(['--', 'cat', secret])).stdout).toBe('PRIVATE KEY\n');
    const r = await exec(['--deny-read', `--allow-read=${d('data')}`, '--', 'cat', secret]);
    expect(r.stdout).toBe('PRIVATE KEY\n');
    expect(r.code).toBe(0);
  });

  it('--allow-read implies deny elsewhere; comma lists and repeats both add paths', async () => {
    const only = await exec([`--allow-read=${d('pub-a')}`, '--', 'cat', pubA, secret]);
    expect(only.stdout).toBe(`${pubA}\n`);
    expect(only.stderr).toContain(`cat: ${secret}: Permission denied`);
    expect(only.code).toBe(1);
    const comma = await exec([`--allow-read=${d('pub-a')},${d('pub-b')}`, '--', 'cat', pubA, pubB]);
    expect(comma.stdout).toBe(`${pubA}\n${pubB}\n`);
    const repeat = await exec([`--allow-read=${d('pub-a')}`, `--allow-read=${d('pub-b')}`, '--', 'cat', pubA, pubB]);
    expect(repeat.stdout).toBe(`${pubA}\n${pubB}\n`);
    const missing = await exec([`--allow-read=${d('pub-a')}`, '--', 'cat', pubB]);
    expect(missing.code).toBe(1);
  });

  it('--quiet keeps EACCES for the program but silences sbx', async () => {
    const r = await exec(['--deny-read', '--quiet', '--', 'cat', secret]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Permission denied');
    expect(r.stderr).not.toContain('sbx: denied');
  });
});

describe('--deny-write / --allow-write', () => {
  it('denies writes outside /tmp and /dev; /tmp and /dev/null stay writable', async () => {
    const target = join(out, 'denied.txt');
    const r = await exec(['--deny-write', '--', 'sh', '-c', `echo x > ${target}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Permission denied/);
    expect(r.stderr).toContain(`sbx: denied write ${target} (--deny-write)`);
    expect(existsSync(target)).toBe(false);
    const inTmp = `/tmp/sbx-flags-${process.pid}.txt`;
    try {
      const tmp = await exec(['--deny-write', '--', 'sh', '-c', `echo ok > ${inTmp} ; echo fine > /dev/null; cat ${inTmp}`]);
      expect(tmp.stdout).toBe('ok\n');
      expect(tmp.code).toBe(0);
    } finally {
      rmSync(inTmp, { force: true });
    }
  });

  it('allowed twin: --allow-write makes the path writable and readable, and denies writes elsewhere', async () => {
    const allowed = join(out, 'allowed.txt');
    const r = await exec([`--allow-write=${out}`, '--', 'sh', '-c', `echo yes > ${allowed}`]);
    expect(r.code).toBe(0);
    expect(readFileSync(allowed, 'utf8')).toBe('yes\n');
    const readable = await exec(['--deny-read', `--allow-write=${out}`, '--', 'cat', allowed]);
    expect(readable.stdout).toBe('yes\n');
    const elsewhere = d('pub-a', 'new.txt');
    const denied = await exec([`--allow-write=${out}`, '--', 'sh', '-c', `echo no > ${elsewhere}`]);
    expect(denied.code).not.toBe(0);
    expect(existsSync(elsewhere)).toBe(false);
  });

  it('unlink, mkdir and rename are writes too', async () => {
    const victim = d('pub-a', 'a.txt');
    const rm = await exec(['--deny-write', '--', 'rm', '-f', victim]);
    expect(rm.code).not.toBe(0);
    expect(existsSync(victim)).toBe(true);
    const mk = await exec(['--deny-write', '--', 'mkdir', d('pub-a', 'sub')]);
    expect(mk.code).not.toBe(0);
    expect(existsSync(d('pub-a', 'sub'))).toBe(false);
    // Allowed twin inside an --allow-write dir.
    const ok = await exec([`--allow-write=${out}`, '--', 'sh', '-c', `mkdir ${out}/sub && mv ${out}/sub ${out}/sub2 && rmdir ${out}/sub2`]);
    expect(ok.code).toBe(0);
  });
});

describe('--deny-net / --allow-net', () => {
  let server: Awaited<ReturnType<typeof bannerServer>>;
  beforeAll(async () => (server = await bannerServer('HELLO')));
  afterAll(async () => server.close());

  it('--deny-net blocks loopback too, with a denial line', async () => {
    const before = server.accepted();
    const r = await exec(['--deny-net', '--', fixture('net_get'), '127.0.0.1', String(server.port)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^connect: /);
    expect(r.stderr).toContain(`sbx: denied net 127.0.0.1:${server.port} (--deny-net)`);
    expect(server.accepted()).toBe(before);
  });

  it('allowed twin: no flag, --allow-net=localhost and --allow-net=127.0.0.1 reach the server', async () => {
    for (const flags of [[], ['--allow-net=localhost'], ['--deny-net', '--allow-net=127.0.0.1']]) {
      const r = await exec([...flags, '--', fixture('net_get'), '127.0.0.1', String(server.port)]);
      expect(r.stdout, flags.join(' ')).toBe('HELLO\n');
      expect(r.code).toBe(0);
    }
  });

  it('--allow-net for one address does not open another (loopback ::1 or a different host)', async () => {
    const v6 = await bannerServer('HELLO6', '::1').catch(() => undefined);
    try {
      if (v6) {
        const r = await exec(['--allow-net=127.0.0.1', '--', fixture('net_get'), '::1', String(v6.port)]);
        expect(r.code).toBe(1);
        expect(v6.accepted()).toBe(0);
        const ok = await exec(['--allow-net=localhost', '--', fixture('net_get'), '::1', String(v6.port)]);
        expect(ok.stdout).toBe('HELLO6\n');
      }
      const other = await exec(['--allow-net=127.0.0.2', '--', fixture('net_get'), '127.0.0.1', String(server.port)]);
      expect(other.code).toBe(1);
    } finally {
      await v6?.close();
    }
  });
});

describe('--deny-env / --allow-env', () => {
  const env = { ...world.env, SECRET_TOKEN: 's3cr3t', MY_A: '1', MY_B: '2', OTHER: 'o', AWS_KEY: 'k' };
  const names = (stdout: string) => new Set(stdout.split('\n').filter(Boolean).map((l) => l.split('=')[0]));

  it('--deny-env drops everything but PATH HOME USER SHELL TERM LANG', async () => {
    const r = await exec(['--deny-env', '--', 'env'], env);
    const got = names(r.stdout);
    for (const keep of ['PATH', 'HOME', 'USER', 'SHELL', 'TERM', 'LANG']) expect(got.has(keep), keep).toBe(true);
    for (const gone of ['SECRET_TOKEN', 'MY_A', 'OTHER', 'XDG_CONFIG_HOME']) expect(got.has(gone), gone).toBe(false);
  });

  it('allowed twin: without the flag everything passes; --allow-env with wildcards, comma lists and repeats', async () => {
    expect(names((await exec(['--', 'env'], env)).stdout).has('SECRET_TOKEN')).toBe(true);
    const wild = names((await exec(['--deny-env', '--allow-env=MY_*', '--', 'env'], env)).stdout);
    expect([wild.has('MY_A'), wild.has('MY_B'), wild.has('OTHER'), wild.has('PATH')]).toEqual([true, true, false, true]);
    const comma = names((await exec(['--allow-env=OTHER,AWS_*', '--', 'env'], env)).stdout);
    expect([comma.has('OTHER'), comma.has('AWS_KEY'), comma.has('MY_A'), comma.has('SECRET_TOKEN')]).toEqual([true, true, false, false]);
    const rep = names((await exec(['--allow-env=OTHER', '--allow-env=MY_A', '--', 'env'], env)).stdout);
    expect([rep.has('OTHER'), rep.has('MY_A'), rep.has('MY_B')]).toEqual([true, true, false]);
  });
});

describe('--deny-all', () => {
  it('denies read, write, net and env at once', async () => {
    const server = await bannerServer('ALL');
    try {
      const env = { ...world.env, SECRET_TOKEN: 'x' };
      const script = `cat ${secret}; echo w > ${join(out, 'all.txt')}; ${fixture('net_get')} 127.0.0.1 ${server.port}; env | grep -c SECRET_TOKEN`;
      const r = await exec(['--deny-all', `--allow-read=${fixturesBin}`, '--', 'sh', '-c', script], env);
      expect(r.stdout).not.toContain('PRIVATE KEY');
      expect(r.stdout).not.toContain('ALL');
      expect(r.stdout).toMatch(/connect: .*\n0\n$/);
      expect(existsSync(join(out, 'all.txt'))).toBe(false);
      expect(server.accepted()).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('allowed twin: system programs still run and /tmp stays writable', async () => {
    const inTmp = `/tmp/sbx-all-${process.pid}.txt`;
    try {
      const r = await exec(['--deny-all', '--', 'sh', '-c', `uname -s; echo t > ${inTmp}; cat ${inTmp}`]);
      expect(r.stdout).toBe('Linux\nt\n');
      expect(r.code).toBe(0);
    } finally {
      rmSync(inTmp, { force: true });
    }
  });

  it('fixture binaries run under an --allow-read of their directory', async () => {
    const r = await exec(['--deny-all', `--allow-read=${fixturesBin}`, '--', fixture('openat_rel'), '/etc', 'hostname']);
    expect(r.code).toBe(0);
  });
});

describe('denial lines carry no terminal control codes', () => {
  it('a denied name holding escape sequences is shown escaped, even when the program\'s own output is cut off (twin: a plain name as is)', async () => {
    // OSC 52 would set the clipboard, OSC 2 the window title: the name is the program's choice.
    const nasty = `x\u001b]52;c;dG91Y2ggL3RtcC9wd24K\u0007y\u009b2J\u202ez`;
    const r = await exec(['--deny-write', '--', 'sh', '-c', 'exec >/dev/null 2>&1; echo x > "$1"; echo y > plain', 'sh', d('out', nasty)]);
    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(r.stderr).toContain(`sbx: denied write ${d('out', 'x\\x1b]52;c;dG91Y2ggL3RtcC9wd24K\\x07y\\x9b2J\\u202ez')} (--deny-write)`);
    expect(r.stderr).toContain(`sbx: denied write ${d('plain')} (--deny-write)`);
  });
});
