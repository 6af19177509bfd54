/**
 * `sbx shell` on macOS. Seatbelt has no user-notify and a profile cannot change once a
 * process runs, so the parent (this Node process) stays unsandboxed and runs
 * `sandbox-exec -f PROFILE $SHELL` in the project directory, with the terminal inherited.
 * The shell hook reports directory changes through the control FIFO (SBX_MACOS_CTL); when
 * the new directory's profile differs, the parent prints one notice line, ends the shell
 * (SIGHUP, wait) and starts it again under the new profile in the new directory. Same
 * profile: nothing happens. When the shell exits by itself, the parent exits with its
 * status.
 *
 * Every shell gets the environment `sbx shell` started with, filtered by its policy's env
 * rules (hidden in a project, back after leaving it), every SBX_* variable, and
 * SBX_MACOS_CTL; a change of env rules alone also restarts the shell. Shell
 * state that lives only in memory (unexported variables, jobs) does not survive a
 * restart; background jobs get the shell's SIGHUP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { readlink, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { PolicyError, SbxError } from '../../errors.js';
import type { CompiledPolicy } from '../../policy/compiled.js';
import { filterEnv } from '../../policy/match.js';
import type { ShellRequest } from '../types.js';
import { ControlChannel } from './control.js';
import { seatbeltProfile } from './profile.js';
import { resolvePolicyForDir } from '../../policy/index.js';
import { PrivateDir, exitStatus, findSandboxExec } from './sandbox-exec.js';

/**
 * "Which policy applies in this directory?", with the environment `sbx shell` was started
 * with (for ~ and $VAR). Throws PolicyError on a bad file; the shell then keeps the profile
 * it has. No answer at start means no shell: never an unsandboxed one.
 */
export type PolicyResolver = (dir: string, env: Record<string, string>) => Promise<CompiledPolicy>;

export interface MacosShellOptions {
  sandboxExec?: string;
  resolvePolicy?: PolicyResolver;
  /** The shell's real cwd (undefined = cannot tell). Default: /proc on Linux, lsof on macOS. */
  shellCwd?: (pid: number) => Promise<string | undefined>;
  /** Where the one-line notices go. */
  notice?: (line: string) => void;
  /** How long a shell gets to exit after SIGHUP before SIGKILL. */
  hangupGraceMs?: number;
}

/** The working directory of a running process, from outside it. */
export async function processCwd(pid: number): Promise<string | undefined> {
  if (process.platform === 'linux') return readlink(`/proc/${pid}/cwd`).catch(() => undefined);
  const r = await execa('/usr/sbin/lsof', ['-a', '-p', String(pid), '-d', 'cwd', '-Fn'], { reject: false, timeout: 5000 });
  const line = r.failed ? undefined : r.stdout.split('\n').find((l) => l.startsWith('n'));
  return line ? line.slice(1) : undefined;
}

/** One line about a policy that could not be resolved (a broken file names file:line:col). */
function problem(err: unknown): string {
  if (err instanceof PolicyError && err.issues.length > 0) return `${err.message}: ${err.issues[0]}${err.issues.length > 1 ? ` (+${err.issues.length - 1} more)` : ''}`;
  return err instanceof Error ? err.message : String(err);
}

export async function macosShell(request: ShellRequest, options: MacosShellOptions = {}): Promise<number> {
  const resolve: PolicyResolver = options.resolvePolicy ?? (async (dir, env) => (await resolvePolicyForDir(dir, { env })).policy);
  const shellCwd = options.shellCwd ?? processCwd;
  const notice = options.notice ?? ((line: string) => process.stderr.write(`${line}\n`));
  const grace = options.hangupGraceMs ?? 3000;
  const sandboxExec = options.sandboxExec ?? findSandboxExec(request.env.PATH ?? process.env.PATH);
  const argv = request.argv.length > 0 ? request.argv : [request.env.SHELL || '/bin/zsh'];

  let cwd = await realpath(request.cwd).catch((cause: unknown) => {
    throw new SbxError(`sbx shell: cannot enter ${request.cwd}`, { exitCode: 1, cause });
  });
  const dir = new PrivateDir('sbx-shell-');
  const ctl = join(dir.path, 'ctl');
  let profile = '';
  let envFilter = '';
  let env: Record<string, string> = {};
  let profileFile: string | undefined;
  let child: ChildProcess | undefined;
  let exited: Promise<number> = Promise.resolve(0);
  let restarting = false;
  let stopping = false;
  let alive = false;

  const start = () => {
    const file = dir.writeProfile(profile);
    profileFile = file;
    // Raw spawn: the shell takes over the user's terminal and is restarted/signalled by hand here.
    const c = spawn(sandboxExec, ['-f', file, ...argv], {
      cwd,
      env,
      stdio: 'inherit',
    });
    child = c;
    alive = true;
    exited = new Promise((res) => {
      c.once('error', () => {
        alive = false;
        res(127);
      });
      c.once('exit', (code, signal) => {
        alive = false;
        res(exitStatus(code, signal));
      });
    });
  };

  // The shell's environment: the one `sbx shell` got, filtered by the policy's env rules
  // (so leaving a project restores what it hid), plus every SBX_* variable and the FIFO.
  const adopt = (policy: CompiledPolicy, text: string) => {
    profile = text;
    envFilter = JSON.stringify(policy.env);
    const sbxVars = Object.fromEntries(Object.entries(request.env).filter(([k]) => k.startsWith('SBX_')));
    env = { ...filterEnv(request.env, policy.env), ...sbxVars, SBX_MACOS_CTL: ctl };
  };

  // Directory hints are handled one at a time, in order.
  let queue: Promise<void> = Promise.resolve();
  const onDir = (hinted: string) => {
    queue = queue.then(() => handleCd(hinted)).catch((err: unknown) => notice(`sbx: ${problem(err)}; keeping the current profile`));
  };

  const handleCd = async (hinted: string) => {
    if (stopping || !alive || !child?.pid) return;
    const target = await realpath(hinted).catch(() => undefined);
    if (!target || target === cwd) return;
    // The hint comes from inside the sandbox: act only if it is where the shell really is.
    const real = await shellCwd(child.pid);
    if (real !== undefined && (await realpath(real).catch(() => real)) !== target) return;
    const next = await resolve(target, request.env);
    const text = seatbeltProfile(next, { privateDir: dir.path, control: ctl });
    cwd = target;
    if ((text === profile && JSON.stringify(next.env) === envFilter) || !alive) return; // an exited shell is not restarted
    adopt(next, text);
    restarting = true;
    const old = child;
    const oldFile = profileFile;
    old.kill('SIGHUP');
    const timer = setTimeout(() => old.kill('SIGKILL'), grace);
    await exited;
    clearTimeout(timer);
    if (oldFile) dir.removeFile(oldFile);
    if (stopping) {
      restarting = false; // told to stop while restarting: the status of the old shell stands
      return;
    }
    notice(`sbx: ${target} has a different policy: shell restarted under its profile`);
    restarting = false;
    start();
  };

  // Terminal signals go to the shell's process group; the parent must not die of them.
  const ignore = () => {};
  const forward = (sig: NodeJS.Signals) => () => {
    stopping = true;
    child?.kill(sig);
  };
  const handlers: [NodeJS.Signals, () => void][] = [
    ['SIGINT', ignore],
    ['SIGQUIT', ignore],
    ['SIGTERM', forward('SIGTERM')],
    ['SIGHUP', forward('SIGHUP')],
  ];
  for (const [sig, h] of handlers) process.on(sig, h);

  let channel: ControlChannel | undefined;
  try {
    const first = await resolve(cwd, request.env);
    adopt(first, seatbeltProfile(first, { privateDir: dir.path, control: ctl }));
    channel = new ControlChannel(ctl, onDir);
    start();
    // Wait until the current shell exits by itself (not because we restarted it).
    for (;;) {
      const current = child;
      const status = await exited;
      await queue;
      if (child === current && (!restarting || stopping)) return status;
    }
  } finally {
    stopping = true;
    for (const [sig, h] of handlers) process.off(sig, h);
    channel?.close();
    dir.remove();
  }
}
