/**
 * Ways around the sandbox, through `./bin/sbx exec` on the real kernel. Each adversarial
 * fixture first works OUTSIDE (so the test proves something), then fails INSIDE; each
 * path trick onto a denied file is next to the same trick onto an allowed file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { escapeWorld, fixture, kernelLacks, run, sbxBin, sbxExec, tempWorld } from './exec-helpers.js';

const w = escapeWorld('sbx-escape-');
const { world, secretDir, secret, pub, pubFile, SECRET, PUBLIC, policy } = w;
const inside = (args: string[]) => sbxExec([...policy, '--', ...args], { env: world.env, cwd: world.dir });
const outside = (args: string[]) => run(args[0]!, args.slice(1), { env: world.env, cwd: world.dir });

beforeAll(() => {
  w.create();
  symlinkSync(secret, join(pub, 'link-to-secret'));
  symlinkSync(pubFile, join(pub, 'link-to-pub'));
});
afterAll(() => world.cleanup());

describe('adversarial programs: work outside, fail inside', () => {
  const cases: { name: string; args: string[]; works: RegExp; fails: RegExp }[] = [
    { name: 'io_uring openat', args: [fixture('io_uring'), secret], works: new RegExp(SECRET), fails: /io_uring_setup: Function not implemented/ },
    { name: 'nested seccomp NEW_LISTENER', args: [fixture('nested_listener')], works: /nested listener: ok/, fails: /nested listener: Operation not permitted/ },
    { name: 'i386 int $0x80 open', args: [fixture('int80_open'), secret], works: new RegExp(SECRET), fails: /int80 open: Function not implemented/ },
    { name: 'open_by_handle_at', args: [fixture('open_by_handle'), secret], works: new RegExp(SECRET), fails: /open_by_handle_at: Operation not permitted/ },
    { name: 'TIOCSTI', args: [fixture('tiocsti')], works: /tiocsti: ok/, fails: /tiocsti: Operation not permitted/ },
  ];
  for (const c of cases) {
    it(c.name, async (ctx) => {
      const out = await outside(c.args);
      const lacking = kernelLacks(basename(c.args[0]!), out);
      if (lacking) {
        // The fixture still runs inside (its start or error line) and never shows the secret.
        const ins = await inside(c.args);
        expect(ins.stdout).toMatch(c.name.startsWith('i386') ? /int80_open: start/ : c.fails);
        expect(ins.stdout).not.toContain(SECRET);
        expect(ins.code).not.toBe(0);
        ctx.skip(lacking);
      }
      expect(out.stdout).toMatch(c.works);
      expect(out.code).toBe(0);
      const ins = await inside(c.args);
      expect(ins.stdout).toMatch(c.fails);
      expect(ins.stdout).not.toContain(SECRET);
      expect(ins.code).not.toBe(0);
    });
  }

  it('allowed twin: under the same policy a plain read of an allowed file works, of the secret fails', async () => {
    const ok = await inside(['cat', pubFile]);
    expect(ok.stdout).toBe(`${PUBLIC}\n`);
    const no = await inside(['cat', secret]);
    expect(no.stdout).toBe('');
    expect(no.stderr).toContain('Permission denied');
  });
});

// A program file one may run but not read (here mode 0111, the test's own file): the kernel
// makes its process non-dumpable for anyone who cannot read it, so sbx cannot verify the
// image and refuses it, saying why. Root reads it anyway: there it runs, as its readable twin does for everyone.
// Signal-driven I/O on a terminal makes the terminal's foreground group the owner of its
// SIGIO: a sandboxed program in the background of a shell outside would aim signals (any,
// with F_SETSIG) at that shell on every key typed, and the open file outlives the program.
describe('signal-driven I/O on the terminal', () => {
  it.each(['fcntl', 'ioctl'])('%s: outside the foreground group gets SIGIO; inside it is refused on the terminal, the victim gets nothing, and a pipe takes it', async (form) => {
    const harness = fixture('sigio_owner');
    const out = await outside([harness, 'harness', harness, 'enable', form]);
    expect(out.stdout).toContain('tty: ok pipe: ok');
    expect(out.stdout).toContain('victim: SIGIO');
    const ins = await outside([harness, 'harness', sbxBin, 'exec', ...policy, '--', harness, 'enable', form]);
    expect(ins.stdout).toContain('tty: Operation not permitted pipe: ok');
    expect(ins.stdout).toContain('victim: nothing');
  });
});

// A lease makes every other open() of the file for writing wait for its holder (45 s) or fail
// (a non-blocking one): a sandbox holding leases on the user's rc files, sbx's own program or
// a policy file would hang terminals outside and keep a narrowed policy from being read.
describe('file leases', () => {
  it('are refused inside (twin: outside the same file is leased); the file stays usable', async () => {
    const file = join(pub, 'leased.txt');
    writeFileSync(file, 'x\n');
    expect((await outside([fixture('lease'), file])).stdout).toBe('lease: ok\n');
    expect((await inside([fixture('lease'), file])).stdout).toBe('lease: Operation not permitted\n');
    expect((await inside(['cat', file])).stdout).toBe('x\n');
  });
});

// A process group of the terminal's session that holds processes outside (the shell that
// started `sbx exec`, its other jobs): joined, its members are in reach with nothing trapped
// (a background tcsetattr stops the whole group with SIGTTOU; a kill(0) racing the move
// signals it).
describe('process groups of the terminal\'s session', () => {
  it('outside a joined background group is stopped; inside joining it is refused and the victim runs, while joining a group of the sandbox\'s own works', async () => {
    const harness = fixture('pgrp_join');
    const out = await outside([harness, 'harness', harness, 'attack']);
    expect(out.stdout).toContain('own: ok');
    expect(out.stdout).toContain('join: ok');
    expect(out.stdout).toContain('victim: stopped');
    const ins = await outside([harness, 'harness', sbxBin, 'exec', ...policy, '--', harness, 'attack']);
    expect(ins.stdout).toContain('own: ok');
    expect(ins.stdout).toContain('join: Operation not permitted');
    expect(ins.stdout).toContain('victim: running');
  });
});

// A background job that ignores SIGTTOU may make its own group the terminal's foreground:
// run from a shell outside (`sbx exec -- … &`), it would read what is typed to that shell.
describe('the foreground of the terminal', () => {
  it('outside a background job takes it; inside, from a terminal a shell outside leads, it stays the leader\'s; a sandbox leading its own terminal still moves it', async () => {
    const harness = fixture('tty_fg');
    const out = await outside([harness, 'harness', harness, 'take']);
    expect(out.stdout).toBe('take: ok\nfg: taken\n');
    // Inside, the command no longer holds that terminal at all: it runs on a pty of its own
    // (pty_relay.c), so its take acts on that pty, and the outside terminal stays the leader's.
    const ins = await outside([harness, 'harness', sbxBin, 'exec', ...policy, '--', harness, 'take']);
    expect(ins.stdout).toBe('take: ok\nfg: leader\n');
    // The twin inside: a pty of its own in a session it leads (tmux, script(1) inside).
    const own = await inside([harness, 'own']);
    expect(own.stdout).toBe('take: ok\n');
  });
});

describe('a program file that may be run but not read', () => {
  it(process.getuid?.() === 0 ? 'runs as root (who may read it), as its readable twin' : 'is refused with the reason; its readable twin runs', async () => {
    const dir = join(world.dir, 'xonly');
    mkdirSync(dir, { recursive: true });
    for (const [name, mode] of [['readable', 0o755], ['xonly', 0o111]] as const) {
      writeFileSync(join(dir, name), readFileSync('/bin/echo'));
      chmodSync(join(dir, name), mode);
    }
    const twin = await sbxExec(['--', join(dir, 'readable'), 'ran'], { env: world.env, cwd: world.dir });
    expect(twin.stdout).toBe('ran\n');
    const r = await sbxExec(['--', join(dir, 'xonly'), 'ran'], { env: world.env, cwd: world.dir });
    if (process.getuid?.() === 0) {
      expect(r.stdout).toBe('ran\n');
    } else {
      expect(r.stdout).toBe('');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/sbx: denied exec: the program process \d+ runs cannot be read, so sbx cannot verify it \(a program file you may run but not read/);
    }
  });
});

describe('path tricks onto a denied file', () => {
  const tricks: { name: string; denied: string[]; allowed: string[] }[] = [
    { name: 'symlink', denied: ['cat', join(pub, 'link-to-secret')], allowed: ['cat', join(pub, 'link-to-pub')] },
    { name: '/proc/self/root', denied: ['cat', `/proc/self/root${secret}`], allowed: ['cat', `/proc/self/root${pubFile}`] },
    { name: 'relative path from a denied cwd', denied: ['sh', '-c', `cd ${secretDir} && cat id`], allowed: ['sh', '-c', `cd ${pub} && cat file`] },
    { name: 'dirfd-relative openat', denied: [fixture('openat_rel'), pub, '../secret/id'], allowed: [fixture('openat_rel'), pub, 'file'] },
    { name: '/proc/self/cwd', denied: ['sh', '-c', `cd ${secretDir} && cat /proc/self/cwd/id`], allowed: ['sh', '-c', `cd ${pub} && cat /proc/self/cwd/file`] },
  ];
  for (const t of tricks) {
    it(t.name, async () => {
      const no = await inside(t.denied);
      expect(no.stdout).not.toContain(SECRET);
      expect(no.code).not.toBe(0);
      const ok = await inside(t.allowed);
      expect(ok.stdout).toContain(PUBLIC);
      expect(ok.code).toBe(0);
    });
  }

  it('hard link: linking the denied file into a writable dir is refused; linking an allowed file works', async () => {
    const hard = join(pub, 'hard-secret');
    const no = await inside(['sh', '-c', `ln ${secret} ${hard}; cat ${hard}`]);
    expect(no.stdout).not.toContain(SECRET);
    expect(existsSync(hard)).toBe(false);
    const hardPub = join(pub, 'hard-pub');
    const ok = await inside(['sh', '-c', `ln ${pubFile} ${hardPub} && cat ${hardPub}`]);
    expect(ok.stdout).toBe(`${PUBLIC}\n`);
    expect(ok.code).toBe(0);
  });

  it('a home link through another link and `..` (~/.ssh -> sync/../keys, sync -> vault/inner): the default floors land where the kernel goes (twin: a file beside them reads)', async () => {
    const own = tempWorld('sbx-dotdot-');
    try {
      const home = own.env.HOME!;
      for (const d of ['vault/inner', 'vault/keys', 'vault/dots']) mkdirSync(join(home, d), { recursive: true });
      writeFileSync(join(home, 'vault/keys/id_rsa'), `${SECRET}\n`);
      writeFileSync(join(home, 'vault/dots/bashrc'), '# rc\n');
      writeFileSync(join(home, 'vault/readme'), `${PUBLIC}\n`);
      symlinkSync('vault/inner', join(home, 'sync'));
      symlinkSync('sync/../keys', join(home, '.ssh'));
      symlinkSync('sync/../dots/bashrc', join(home, '.bashrc'));
      const r = await sbxExec(['--', 'sh', '-c', 'cat ~/.ssh/id_rsa; echo evil >> ~/.bashrc; cat ~/vault/readme'], { env: own.env, cwd: own.dir });
      expect(r.stdout).not.toContain(SECRET);
      expect(readFileSync(join(home, 'vault/dots/bashrc'), 'utf8')).toBe('# rc\n');
      expect(r.stderr).toMatch(/denied read .*vault\/keys\/id_rsa/);
      expect(r.stdout).toContain(PUBLIC);
    } finally {
      own.cleanup();
    }
  });

  it('rename: moving the denied file into a readable dir is refused', async () => {
    const moved = join(pub, 'moved-secret');
    const no = await inside(['sh', '-c', `mv ${secret} ${moved}; cat ${moved}`]);
    expect(no.stdout).not.toContain(SECRET);
    expect(existsSync(secret)).toBe(true);
    // Allowed twin: a rename inside the writable dir works.
    const tmpFile = join(pub, 'to-move');
    writeFileSync(tmpFile, `${PUBLIC}\n`);
    const ok = await inside(['sh', '-c', `mv ${tmpFile} ${pub}/moved && cat ${pub}/moved`]);
    expect(ok.stdout).toBe(`${PUBLIC}\n`);
  });

});

describe('the sandbox cannot touch its supervisor (sbx itself is $PPID of the program)', () => {
  const plain = (script: string) => sbxExec(['--', 'sh', '-c', script], { env: world.env, cwd: world.dir });

  it('kill -9 of the supervisor is refused; killing its own child works', async () => {
    const no = await plain('kill -9 $PPID && echo killed-supervisor; echo still-here');
    expect(no.stdout).not.toContain('killed-supervisor');
    expect(no.stdout).toContain('still-here');
    expect(no.code).toBe(0); // sbx survived to report the exit code
    const ok = await plain('sleep 30 & kill -9 $! && echo killed-child');
    expect(ok.stdout).toContain('killed-child');
  });

  it("reading the supervisor's /proc/<pid>/environ and fds is refused; its own /proc/self entries are readable", async () => {
    const no = await plain('cat /proc/$PPID/environ; ls -l /proc/$PPID/fd/ 2>&1 | grep -c seccomp; cat /proc/$PPID/fd/* 2>/dev/null | head -c 1 | wc -c');
    expect(no.stdout).not.toContain('PATH=');
    const ok = await plain('cat /proc/self/environ | tr "\\0" "\\n" | grep -c "^PATH="');
    expect(ok.stdout.trim()).toBe('1');
  });

  it('strace -p of the supervisor is refused (debuggers reach only their own session: escape-debug.test.ts); outside strace works', async () => {
    const no = await plain('strace -p $PPID -e trace=none -o /dev/null & sleep 1; kill $! 2>/dev/null; wait $!; echo rc=$?');
    expect(no.stderr).toMatch(/Operation not permitted/);
    const ok = await run('strace', ['-f', '-e', 'trace=none', '-o', '/dev/null', 'true'], { env: world.env });
    expect(ok.code).toBe(0);
  });
});

