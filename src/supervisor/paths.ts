/**
 * The supervisor's files: sockets and pid file in the runtime dir (0700), the violation
 * log and the daemon's own log in the state dir. Base dirs come from src/policy/paths.ts
 * so the policy compiler protects exactly these places.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SupervisorError } from '../errors.js';
import { runtimeDir, stateDir, supervisorLogFile, violationsFile, type Env } from '../policy/paths.js';

export interface SupervisorPaths {
  runtime: string;
  /** JSON lines for CLI clients (status, log, stop). */
  control: string;
  /** Keepers register sessions here (fds over SCM_RIGHTS; see native fdserver.cc). */
  keeper: string;
  pidFile: string;
  spawnLock: string;
  /** Held (flock) by the supervisor serving this runtime dir, for its life. */
  lock: string;
  state: string;
  violations: string;
  daemonLog: string;
}

export function supervisorPaths(env: Env = process.env): SupervisorPaths {
  const runtime = runtimeDir(env);
  const state = stateDir(env);
  return {
    runtime,
    control: join(runtime, 'control.sock'),
    keeper: join(runtime, 'keeper.sock'),
    pidFile: join(runtime, 'supervisor.pid'),
    spawnLock: join(runtime, 'spawn.lock'),
    lock: join(runtime, 'supervisor.lock'),
    state,
    violations: violationsFile(env),
    daemonLog: supervisorLogFile(env),
  };
}

/** Creates the runtime dir 0700 and refuses one that someone else owns or others can enter. */
export function ensureRuntimeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new SupervisorError(`cannot create the runtime dir ${dir}: ${(err as Error).message}`, undefined, err);
  }
  const st = lstatSync(dir);
  const uid = process.getuid?.() ?? st.uid;
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new SupervisorError(
      `the runtime dir ${dir} is not a private directory of this user (owner ${st.uid}, mode ${(st.mode & 0o777).toString(8)})`,
      `remove it or fix it: chmod 700 ${dir}`,
    );
  }
}

export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}
