/**
 * Shared by the supervisor-*.test.ts files: a private HOME / XDG_* / runtime dir per test
 * file, the real bin/sbx, the real launcher and keeper, the real kernel.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, execaSync, type ResultPromise } from 'execa';

export const root = resolve(import.meta.dirname, '..', '..');
export const sbxBin = join(root, 'bin', 'sbx');
export const launcher = join(root, 'native', 'unotify', 'build', 'Release', 'sbx-launch');
export const fixtures = join(root, 'test', 'fixtures', 'bin');

export interface Sandbox {
  dir: string;
  home: string;
  env: Record<string, string>;
  runtime: string;
  state: string;
  config: string;
  keeperSock: string;
  /** Runs bin/sbx to completion. */
  sbx(args: string[], opts?: { cwd?: string; input?: string; timeout?: number; env?: Record<string, string> }): { code: number; stdout: string; stderr: string };
  /** Starts bin/sbx without waiting. */
  spawnSbx(args: string[], opts?: { cwd?: string }): Running;
  /** Starts bin/sbx without waiting, with variables added to the sandbox's environment. */
  spawnSbxEnv(args: string[], extra: Record<string, string>, cwd?: string): Running;
  /** A session straight through the launcher (no node on the client side): for load tests. */
  spawnSession(argv: string[], opts?: { cwd?: string }): Running;
  supervisorPid(): number | undefined;
  /** kill -9 of the supervisor; resolves once another one serves session `id` again. */
  killSupervisor(id: string): Promise<void>;
  status(): { supervisor: { pid: number; rssBytes: number; uptimeSec: number }; sessions: SessionStatus[] };
  log(session?: string): Violation[];
  cleanup(): void;
}

export interface SessionStatus {
  id: string;
  rootPid: number;
  keeperPid: number;
  cwd: string;
  policy: string;
  decisions: number;
  denials: number;
  audits: number;
}

export interface Violation {
  session: string;
  kind: string;
  op: string;
  target: string;
  rule: string;
  pid: number;
  program: string;
}

export interface Running {
  child: ChildProcess;
  done: Promise<{ code: number; stdout: string; stderr: string }>;
}

/** reject: false, so `done` always resolves; a killed child reads as 128+9, as before. */
const piped = { stdin: 'ignore', stripFinalNewline: false, reject: false, extendEnv: false } as const;

function track(child: ResultPromise<typeof piped>): Running {
  const done = child.then((r) => ({ code: r.exitCode ?? 128 + (r.signal ? 9 : 0), stdout: r.stdout, stderr: r.stderr }));
  return { child: child as unknown as ChildProcess, done };
}

export function makeSandbox(name: string): Sandbox {
  // Short paths: the keeper socket must fit sun_path (108 bytes).
  const dir = realpathSync(mkdtempSync(join(tmpdir(), `sup-${name}-`)));
  const home = join(dir, 'home');
  const runtimeBase = join(dir, 'run');
  const stateBase = join(dir, 'state');
  const configBase = join(dir, 'config');
  for (const d of [home, runtimeBase, stateBase, configBase]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_RUNTIME_DIR: runtimeBase,
    XDG_STATE_HOME: stateBase,
    XDG_CONFIG_HOME: configBase,
    SHELL: '/bin/sh',
    LANG: 'C',
  };
  const runtime = join(runtimeBase, 'sbx');
  const state = join(stateBase, 'sbx');
  const keeperSock = join(runtime, 'keeper.sock');
  const sb: Sandbox = {
    dir,
    home,
    env,
    runtime,
    state,
    config: join(configBase, 'sbx'),
    keeperSock,
    sbx(args, opts = {}) {
      const r = execaSync(sbxBin, args, {
        cwd: opts.cwd ?? home,
        env: { ...env, ...opts.env },
        extendEnv: false,
        input: opts.input ?? '',
        stripFinalNewline: false,
        reject: false,
        timeout: opts.timeout ?? 60_000,
      });
      return { code: r.exitCode ?? 128, stdout: r.stdout, stderr: r.stderr };
    },
    spawnSbx(args, opts = {}) {
      return track(execa(sbxBin, args, { cwd: opts.cwd ?? home, env, ...piped }));
    },
    spawnSbxEnv(args, extra, cwd) {
      return track(execa(sbxBin, args, { cwd: cwd ?? home, env: { ...env, ...extra }, ...piped }));
    },
    spawnSession(argv, opts = {}) {
      return track(
        execa(launcher, ['--session', keeperSock, '--sbx', sbxBin, '--', ...argv], {
          cwd: opts.cwd ?? home,
          env,
          ...piped,
        }),
      );
    },
    supervisorPid() {
      try {
        return Number(readFileSync(join(runtime, 'supervisor.pid'), 'utf8').trim());
      } catch {
        return undefined;
      }
    },
    async killSupervisor(id) {
      const old = sb.supervisorPid()!;
      process.kill(old, 'SIGKILL');
      await until('a new supervisor serving the session', () => {
        const pid = sb.supervisorPid();
        return pid !== undefined && pid !== old && sb.status().sessions.some((s) => s.id === id);
      }, 30_000);
    },
    status() {
      const r = sb.sbx(['status', '--json']);
      if (r.code === 3) return { supervisor: { pid: 0, rssBytes: 0, uptimeSec: 0 }, sessions: [] };
      if (r.code !== 0) throw new Error(`sbx status failed (${r.code}): ${r.stderr}`);
      return JSON.parse(r.stdout);
    },
    log(session) {
      const r = sb.sbx(['log', '--json', '-n', '10000', ...(session ? ['--session', session] : [])]);
      if (r.code !== 0) throw new Error(`sbx log failed (${r.code}): ${r.stderr}`);
      return r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Violation);
    },
    cleanup() {
      // Keepers first: a keeper that sees its supervisor go would start a new one.
      // none left: pgrep exits 1 and prints nothing
      const out = execaSync('pgrep', ['-f', keeperSock], { reject: false }).stdout;
      for (const p of out.split('\n').filter(Boolean)) {
        try {
          process.kill(Number(p), 'SIGKILL');
        } catch {
          // gone
        }
      }
      const pid = sb.supervisorPid();
      sb.sbx(['daemon', 'stop', '--force'], { timeout: 10_000 });
      if (pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      // SBX_KEEP_TEST_DIRS=1 keeps the logs and state of a failing run for a post-mortem.
      if (existsSync(dir) && !process.env.SBX_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
    },
  };
  return sb;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The keeper's one notice when a busy supervisor takes over 5 s to accept a session. */
export const SLOW_START_NOTICE = 'sbx: the supervisor is slow to accept the session; still waiting (up to 60 s)\n';

/** Polls until fn returns a truthy value (no timing assertion: just a generous cap). */
export async function until<T>(what: string, fn: () => T | undefined | false, capMs = 15_000): Promise<T> {
  const deadline = Date.now() + capMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Running (a zombie has exited: its reaper, maybe a lazy pid 1, just has not waited yet). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/** A tiny project: .sbx.yaml denying secret.txt; public.txt is the allowed twin. */
export function makeProject(dir: string, yaml = 'version: 1\nread:\n  deny: ["secret.txt"]\n'): string {
  mkdirSync(dir, { recursive: true });
  execaSync('sh', ['-c', `printf '%s' "$1" > .sbx.yaml; echo SECRET > secret.txt; echo PUBLIC > public.txt`, 'sh', yaml], { cwd: dir });
  return dir;
}

/** A sh function that pushes a hint the way the hook does (builtin read of /proc/self/sbx/…). */
export const PUSH_FN = `push() { { while IFS= read -r l; do echo "reply: $l"; done; } < "/proc/self/sbx/$1"; echo "push-rc=$?"; }`;
