/**
 * Starting and stopping the per-user supervisor, gpg-agent style: connect; if nobody
 * answers take the spawn lock, connect again (someone may have won the race), spawn a
 * detached `sbx daemon run`, and wait until it answers.
 */
import { spawn } from 'node:child_process';
import { closeSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SupervisorError } from '../errors.js';
import { loadNative, packageRoot } from '../native/load.js';
import { requireUsableKernel } from '../platform/linux/doctor.js';
import type { Env } from '../policy/paths.js';
import { ensureRuntimeDir, ensureStateDir, supervisorPaths, type SupervisorPaths } from './paths.js';
import { request } from '../protocol/control.js';
import { pinPlaces, placesOf } from './pinned-places.js';

/** Generous: on a loaded machine node alone can take seconds to start. */
const START_TIMEOUT_MS = 20_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie has exited; whoever it belongs to will reap it.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The sbx entry point to run the daemon with (this checkout's bin/sbx). */
export function sbxBin(): string {
  return join(packageRoot, 'bin', 'sbx');
}

export async function ping(paths: SupervisorPaths): Promise<number | undefined> {
  try {
    const r = await request(paths.control, { cmd: 'ping' }, 2000);
    return r && typeof r.pid === 'number' ? r.pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A lock file holding our pid, made whole: written under a name of our own, then linked to
 * `file` (EEXIST when held). Created empty and then written, a starter reading it in between
 * saw no holder, took it for stale and removed it: two supervisors were started. A dead
 * holder's lock is taken over.
 */
async function lock(file: string, timeoutMs: number): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  const mine = `${file}.${process.pid}`;
  for (;;) {
    try {
      const fd = openSync(mine, 'w', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      try {
        linkSync(mine, file);
      } finally {
        unlinkSync(mine);
      }
      return () => {
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
        } catch {
          // gone already
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder = NaN;
    try {
      holder = Number(readFileSync(file, 'utf8').trim());
    } catch {
      continue;
    }
    if (!Number.isInteger(holder) || holder <= 0 || !pidAlive(holder)) {
      try {
        unlinkSync(file);
      } catch {
        // someone else cleaned up
      }
      continue;
    }
    if (Date.now() > deadline) throw new SupervisorError(`timed out waiting for the spawn lock ${file} (held by pid ${holder})`);
    await sleep(20);
  }
}

export interface DaemonInfo {
  pid: number;
  started: boolean;
}

/**
 * The environment a supervisor started on demand gets: the caller's, minus the test-only
 * resolver overrides (SBX_HOSTS_FILE, SBX_RESOLV_CONF, SBX_HOSTS_TTL) — a shell that happens
 * to have them must not change name resolution for every session of the user. A test sets
 * them for the daemon explicitly as SBX_DAEMON_HOSTS_FILE, SBX_DAEMON_RESOLV_CONF,
 * SBX_DAEMON_HOSTS_TTL.
 */
export function daemonEnv(env: Env): Env {
  const out: Record<string, string | undefined> = { ...env };
  for (const k of ['HOSTS_FILE', 'RESOLV_CONF', 'HOSTS_TTL']) {
    delete out[`SBX_${k}`];
    const v = env[`SBX_DAEMON_${k}`];
    if (v !== undefined) out[`SBX_${k}`] = v;
    delete out[`SBX_DAEMON_${k}`];
  }
  return out as Env;
}

/** Makes sure a supervisor serves this user's runtime dir; starts one if needed. */
export async function ensureDaemon(env: Env = process.env): Promise<DaemonInfo> {
  const paths = supervisorPaths(env);
  const running = await ping(paths);
  if (running) return { pid: running, started: false };
  // Said here, in the caller's terminal, not only in the supervisor's log.
  requireUsableKernel(loadNative());
  ensureRuntimeDir(paths.runtime);
  ensureStateDir(paths.state);
  const unlock = await lock(paths.spawnLock, START_TIMEOUT_MS + 5000);
  try {
    const again = await ping(paths);
    if (again) return { pid: again, started: false };
    const logFd = openSync(paths.daemonLog, 'a', 0o600);
    // Through `sh -c '… &'` so the supervisor is orphaned at once and init reaps it: our
    // caller may be about to exec the user's shell (sbx shell), which would never wait for it.
    // Raw spawn: a detached daemon must outlive us (execa's cleanup would kill it on our exit).
    const child = spawn('/bin/sh', ['-c', '"$@" </dev/null &', 'sh', process.execPath, '--max-semi-space-size=1', sbxBin(), 'daemon', 'run'], {
      detached: true,
      stdio: ['ignore', 'ignore', logFd],
      env: daemonEnv(env) as NodeJS.ProcessEnv,
      cwd: '/',
    });
    closeSync(logFd);
    let exited: number | null | undefined;
    child.once('exit', (code) => (exited = code === 0 ? undefined : code));
    child.unref();
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const pid = await ping(paths);
      if (pid) return { pid, started: true };
      if (exited !== undefined) break;
      await sleep(15);
    }
    throw new SupervisorError(
      exited !== undefined ? `the supervisor exited (${exited}) while starting` : `the supervisor did not answer within ${START_TIMEOUT_MS / 1000} s`,
      `see ${paths.daemonLog}`,
    );
  } finally {
    unlock();
  }
}

/** Asks the supervisor to go away and waits until its pid is gone. */
export async function stopDaemon(env: Env = process.env, force = false, places?: Record<string, string>): Promise<number | undefined> {
  const paths = supervisorPaths(env);
  const r = await request(paths.control, { cmd: 'stop', force, ...(places ? { places } : {}) });
  if (!r) return undefined;
  const pid = Number(r.pid);
  const deadline = Date.now() + 5000;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(10);
  if (pidAlive(pid)) throw new SupervisorError(`supervisor ${pid} did not exit within 5 s`);
  return pid;
}

/** Hands live sessions to a new supervisor: their keepers re-register with it. */
export async function restartDaemon(env: Env = process.env): Promise<{ old: number | undefined; pid: number }> {
  // The new supervisor serves with this terminal's places, whoever starts it (pinned-places.ts):
  // the old one pins them as it goes; with none running, we do.
  const places = placesOf(daemonEnv(env));
  const old = await stopDaemon(env, true, places);
  if (old === undefined) {
    const paths = supervisorPaths(env);
    ensureRuntimeDir(paths.runtime);
    pinPlaces(places, paths.runtime);
  }
  const info = await ensureDaemon(env);
  return { old, pid: info.pid };
}
