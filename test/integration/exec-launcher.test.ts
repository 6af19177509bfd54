/**
 * sbx-launch and its filter on the real kernel, served by a minimal C supervisor that
 * answers every notification with CONTINUE (test/fixtures/c/mini_supervisor.c). This
 * isolates the filter table from the engine: what the filter refuses outright must fail
 * even under a supervisor that allows everything, and what it traps must still work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fixture, kernelLacks, launcher, run, tempWorld } from './exec-helpers.js';

const world = tempWorld('sbx-launcher-');
const secret = join(world.dir, 'file.txt');
const sup = fixture('mini_supervisor');
const inside = (args: string[], extra: string[] = []) => run(sup, [...extra, launcher, '--', ...args], { env: world.env });

beforeAll(() => writeFileSync(secret, 'CONTENT\n'));
afterAll(() => world.cleanup());

describe('the filter refuses what goes around it (works outside, fails inside)', () => {
  const cases: { name: string; args: string[]; outside: RegExp; inside: RegExp }[] = [
    { name: 'io_uring', args: [fixture('io_uring'), secret], outside: /CONTENT/, inside: /io_uring_setup: Function not implemented/ },
    { name: 'nested NEW_LISTENER filter', args: [fixture('nested_listener')], outside: /nested listener: ok/, inside: /nested listener: Operation not permitted/ },
    { name: 'i386 int 0x80 open', args: [fixture('int80_open'), secret], outside: /CONTENT/, inside: /int80 open: Function not implemented/ },
    { name: 'open_by_handle_at', args: [fixture('open_by_handle'), secret], outside: /CONTENT/, inside: /open_by_handle_at: Operation not permitted/ },
    { name: 'TIOCSTI', args: [fixture('tiocsti')], outside: /tiocsti: ok/, inside: /tiocsti: Operation not permitted/ },
  ];
  for (const c of cases) {
    it(c.name, async (ctx) => {
      const out = await run(c.args[0]!, c.args.slice(1), { env: world.env });
      const lacking = kernelLacks(basename(c.args[0]!), out);
      if (lacking) {
        const ins = await inside(c.args);
        expect(ins.stdout).toMatch(c.name.startsWith('i386') ? /int80_open: start/ : c.inside);
        expect(ins.stdout).not.toContain('CONTENT');
        expect(ins.code).not.toBe(0);
        ctx.skip(lacking);
      }
      expect(out.stdout).toMatch(c.outside);
      expect(out.code).toBe(0);
      const ins = await inside(c.args);
      expect(ins.stdout).toMatch(c.inside);
      expect(ins.code).toBe(1);
    });
  }

  it('trapped syscalls still work when the supervisor allows them (allowed twin)', async () => {
    const r = await inside(['cat', secret]);
    expect(r.stdout).toBe('CONTENT\n');
    expect(r.code).toBe(0);
    // A dirfd-relative open and a nested filter WITHOUT a listener are fine too.
    const rel = await inside([fixture('openat_rel'), world.dir, 'file.txt']);
    expect(rel.stdout).toBe('CONTENT\n');
  });
});

describe('launcher command line and failures', () => {
  it('passes the exit code through and reports a signal as 128+n', async () => {
    expect((await inside(['sh', '-c', 'exit 7'])).code).toBe(7);
    expect((await inside(['sh', '-c', 'kill -TERM $$'])).code).toBe(143);
  });

  it('a program not on PATH is 127 with a shell-like message, before any filter', async () => {
    const r = await inside(['sbx-no-such-command']);
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('sbx: sbx-no-such-command: command not found');
    const path = await inside(['/nonexistent/prog']);
    expect(path.code).toBe(127);
  });

  it('no ack (the supervisor refused) → 126 and the program never runs', async () => {
    const marker = join(world.dir, 'ran');
    const r = await inside(['touch', marker], ['--refuse']);
    expect(r.code).toBe(126);
    expect(r.stderr).toContain('without accepting the sandbox');
    expect(existsSync(marker)).toBe(false);
    // Allowed twin: with the ack it runs.
    expect((await inside(['touch', marker])).code).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });

  it('bad launcher arguments → 126, never an unsandboxed exec', async () => {
    const marker = join(world.dir, 'ran-unsandboxed');
    const notSocket = await run(launcher, ['--fd', '0', '--', 'touch', marker], { env: world.env });
    expect(notSocket.code).toBe(126);
    expect(notSocket.stderr).toMatch(/sbx: launcher: --fd is not a socket/);
    const noMode = await run(launcher, ['--', 'touch', marker], { env: world.env });
    expect(noMode.code).toBe(126);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('session mode hands the listener to sbx-keeper', () => {
  it('forks <dir>/sbx-keeper with the documented argv before the filter, then runs the program', async () => {
    const dir = join(world.dir, 'session-bin');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    copyFileSync(launcher, join(dir, 'sbx-launch'));
    copyFileSync(sup, join(dir, 'sbx-keeper')); // mini_supervisor plays the keeper under this name
    const log = join(world.dir, 'keeper.log');
    const env = { ...world.env, SBX_FAKE_KEEPER_LOG: log };
    const r = await run(join(dir, 'sbx-launch'), ['--session', '/run/sbx/S.sock', '--sbx', '/opt/sbx/bin/sbx', '--', 'sh', '-c', `echo pid=$$; ${fixture('io_uring')} ${secret}`], { env });
    const pid = /pid=(\d+)/.exec(r.stdout)?.[1];
    expect(pid).toBeDefined();
    // The program is sandboxed (io_uring refused) and ran as the launcher's pid.
    expect(r.stdout).toContain('io_uring_setup: Function not implemented');
    expect(readFileSync(log, 'utf8').trim()).toMatch(
      new RegExp(`^sbx-keeper --listener-fd \\d+ --session /run/sbx/S.sock --sbx /opt/sbx/bin/sbx --root-pid ${pid}$`),
    );
  });

  it('a missing keeper is 126 naming it; the program does not run', async () => {
    const dir = join(world.dir, 'no-keeper');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    copyFileSync(launcher, join(dir, 'sbx-launch'));
    const marker = join(world.dir, 'ran-without-keeper');
    const r = await run(join(dir, 'sbx-launch'), ['--session', '/x.sock', '--sbx', '/x', '--', 'touch', marker], { env: world.env });
    expect(r.code).toBe(126);
    expect(r.stderr).toContain(`exec ${join(dir, 'sbx-keeper')}: No such file or directory`);
    expect(existsSync(marker)).toBe(false);
  });
});
