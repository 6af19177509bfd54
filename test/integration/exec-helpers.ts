/**
 * Shared by the exec-*.test.ts files: run ./bin/sbx (a real process on the real kernel)
 * with a throwaway HOME/XDG tree, plus small TCP servers on 127.0.0.1.
 */
import { existsSync, mkdtempSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect } from 'vitest';

export const repo = resolve(import.meta.dirname, '..', '..');
export const sbxBin = join(repo, 'bin', 'sbx');
export const fixturesBin = join(repo, 'test', 'fixtures', 'bin');
export const launcher = join(repo, 'native', 'unotify', 'build', 'Release', 'sbx-launch');
export const fixture = (name: string) => join(fixturesBin, name);

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * A temp dir (canonical path) with HOME and XDG_* inside it; removed by cleanup().
 * Under /var/tmp, not /tmp: /tmp stays readable and writable under every --deny-* flag
 * (mise's defaults), so a denial test there would prove nothing.
 */
export function tempWorld(prefix = 'sbx-test-'): { dir: string; env: Record<string, string>; cleanup(): void } {
  const dir = realpathSync(mkdtempSync(join(existsSync('/var/tmp') ? '/var/tmp' : tmpdir(), prefix)));
  const home = join(dir, 'home');
  for (const d of ['home', 'config', 'state', 'runtime', 'cache']) mkdirSync(join(dir, d), { recursive: true, mode: 0o700 });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    USER: process.env.USER ?? 'root',
    SHELL: '/bin/sh',
    TERM: 'dumb',
    LANG: 'C.UTF-8',
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_STATE_HOME: join(dir, 'state'),
    XDG_RUNTIME_DIR: join(dir, 'runtime'),
    XDG_CACHE_HOME: join(dir, 'cache'),
  };
  const cleanup = () => {
    // A supervisor still serving this world (servedBySupervisor, a test that started one) is
    // stopped first: without its runtime dir nothing could reach it to stop it later.
    if (existsSync(join(dir, 'runtime', 'sbx', 'supervisor.pid')))
      execaSync(sbxBin, ['daemon', 'stop', '--force'], { env, extendEnv: false, cwd: '/', reject: false, stdin: 'ignore' });
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  };
  return { dir, env, cleanup };
}

/**
 * Bypass fixtures whose outside twin can show that this kernel lacks the feature they use:
 * the reason the test is "not applicable", or undefined when the feature is there. The
 * fixture must have run (its start line) for the verdict to count.
 */
export function kernelLacks(fixtureName: string, outside: Result): string | undefined {
  if (fixtureName === 'int80_open' && outside.stdout.includes('int80_open: start') && outside.signal === 'SIGSEGV')
    return 'not applicable: this kernel has no IA32 emulation (int $0x80 raised SIGSEGV outside the sandbox, so there is no i386 syscall to refuse)';
  // Privileged tricks, for the unprivileged CI run: the user cannot do them outside either.
  if (fixtureName === 'open_by_handle' && /^open_by_handle_at: Operation not permitted$/m.test(outside.stdout))
    return 'not applicable: open_by_handle_at needs CAP_DAC_READ_SEARCH, which this user lacks outside the sandbox too';
  if (fixtureName === 'tiocsti' && /^tiocsti: Operation not permitted$/m.test(outside.stdout))
    return 'not applicable: this kernel refuses TIOCSTI to this user outside the sandbox too (dev.tty.legacy_tiocsti = 0, no CAP_SYS_ADMIN)';
  return undefined;
}

/**
 * The escape suites' world: `secret/id` holds SECRET and is read-denied by `policy`;
 * `pub/file` holds PUBLIC, and `pub` is readable and writable; the fixtures can run.
 * create() writes the files (call it in beforeAll).
 */
export function escapeWorld(prefix: string) {
  const world = tempWorld(prefix);
  const secretDir = join(world.dir, 'secret');
  const pub = join(world.dir, 'pub');
  const w = {
    world,
    secretDir,
    secret: join(secretDir, 'id'),
    pub,
    pubFile: join(pub, 'file'),
    SECRET: 'TOP-SECRET-CONTENT',
    PUBLIC: 'public-content',
    policy: ['--deny-read', `--allow-read=${fixturesBin}`, `--allow-write=${pub}`],
    create(): void {
      mkdirSync(secretDir);
      mkdirSync(pub);
      writeFileSync(w.secret, `${w.SECRET}\n`);
      writeFileSync(w.pubFile, `${w.PUBLIC}\n`);
    },
  };
  return w;
}

/** Runs a program to completion without blocking the event loop (test servers keep serving). */
export function run(file: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Result> {
  return execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false, // options.env is the whole environment (none given: ours)
    stdin: 'ignore',
    stripFinalNewline: false,
    reject: false, // the tests inspect exit codes and signals
  }).then((r) => {
    if (r.exitCode === undefined && r.signal === undefined) throw r; // could not start: the error names the command
    return { code: r.exitCode ?? null, signal: r.signal ?? null, stdout: r.stdout, stderr: r.stderr };
  });
}

/** `./bin/sbx exec ARGS` */
export function sbxExec(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Result> {
  return run(sbxBin, ['exec', ...args], options);
}

/** A TCP server on 127.0.0.1 (or ::1) that greets every connection with `banner` and counts them. */
export async function bannerServer(banner: string, host = '127.0.0.1'): Promise<{ port: number; accepted(): number; close(): Promise<void> }> {
  let count = 0;
  const server: Server = createServer((sock) => {
    count++;
    sock.on('error', () => {});
    sock.end(`${banner}\n`);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    accepted: () => count,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Parses "allowed=N leaked=M refused=K" from a race fixture. */
export function raceCounts(stdout: string): { allowed: number; leaked: number; refused: number; killed: number } {
  const m = /allowed=(\d+) leaked=(\d+) refused=(\d+)(?: killed=(\d+))?/.exec(stdout);
  if (!m) throw new Error(`race fixture printed no counts: ${stdout}`);
  return { allowed: Number(m[1]), leaked: Number(m[2]), refused: Number(m[3]), killed: Number(m[4] ?? 0) };
}

/**
 * A node project `sbx init` made and `sbx trust`ed in `proj` (the starter policy a user would
 * have), for tests that act inside it with `sbx exec`; with the world's supervisor to stop after.
 */
export function trustedStarterProject(world: { env: Record<string, string> }, proj: string): void {
  mkdirSync(proj);
  writeFileSync(join(proj, 'package.json'), '{"name":"p","version":"1.0.0"}\n');
  execaSync(sbxBin, ['init'], { cwd: proj, env: world.env, extendEnv: false });
  execaSync(sbxBin, ['trust'], { cwd: proj, env: world.env, extendEnv: false, stdin: 'ignore', stdout: 'ignore' });
}

/** Stops the supervisor a tempWorld() started, then removes the world. */
export function endWorld(world: { env: Record<string, string>; cleanup(): void }): void {
  execaSync(sbxBin, ['daemon', 'stop'], { env: world.env, extendEnv: false, stdin: 'ignore', stdout: 'ignore' });
  world.cleanup();
}

/**
 * For a whole file: a supervisor for `world` from the first test to the last, so each
 * `sbx exec` is served by it (the native fast path) instead of starting Node and an engine
 * of its own (~0.03 s against ~0.4 s of CPU: the suite's biggest cost on two cores). Both
 * paths run the same native engine, but each assembles the policy its own way (a supervisor's
 * carry its session proxy), so CI runs these files both ways: served as root, and in sbx exec's
 * own process as the unprivileged user (SBX_TEST_OWN_PROCESS=1, .ci/run). The world's
 * cleanup() stops the supervisor.
 */
export function servedBySupervisor(world: { dir: string; env: Record<string, string> }): void {
  if (process.env.SBX_TEST_OWN_PROCESS === '1') return;
  beforeAll(async () => {
    const started = await run(sbxBin, ['daemon', 'start'], { env: world.env, cwd: world.dir });
    expect(started.code, started.stderr).toBe(0);
  });
  // Stopped by the world's cleanup(), which the file's own afterAll runs before this one's.
}

/**
 * Runs `check` both ways `sbx exec` runs: in its own process (SBX_NO_FAST=1), and served by a
 * supervisor started for `world` (the fast path), with `more` declared beside the latter.
 */
export function onBothStartPaths(
  world: { dir: string; env: Record<string, string> },
  check: (label: string, env: () => Record<string, string>) => void,
  more: () => void = () => {},
): void {
  check('in its own process (no supervisor)', () => ({ ...world.env, SBX_NO_FAST: '1' }));
  describe('served by a supervisor', () => {
    beforeAll(async () => {
      expect((await run(sbxBin, ['daemon', 'start'], { env: world.env, cwd: world.dir })).code).toBe(0);
    });
    afterAll(async () => {
      await run(sbxBin, ['daemon', 'stop', '--force'], { env: world.env, cwd: world.dir });
    });
    check('the fast path', () => world.env);
    more();
  });
}
