/**
 * `sbx shell` on Linux: make sure the supervisor runs, then become the launcher
 * (execve, so the terminal's shell is the sandboxed process and no node stays resident):
 *   sbx-launch --session <keeper socket> --sbx <bin/sbx> -- PROGRAM ARGS
 * The launcher forks the keeper (outside the sandbox), installs the filter, and execs the
 * program once the supervisor serves the session; if it cannot, it exits 126.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SbxError } from '../../errors.js';
import { launcherPath, loadNative } from '../../native/load.js';
import { ensureDaemon, sbxBin } from '../../supervisor/lifecycle.js';
import { supervisorPaths } from '../../supervisor/paths.js';
import { request as controlRequest, SESSION_ENV_VERSION } from '../../protocol/control.js';
import type { ShellRequest } from '../types.js';

export function newSessionId(): string {
  return `s${randomBytes(5).toString('hex')}`;
}

/** True when this process already runs under a seccomp filter (e.g. inside a session). */
function insideFilter(): boolean {
  try {
    const m = /^Seccomp_filters:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m !== null && Number(m[1]) > 0;
  } catch {
    return false;
  }
}

export async function linuxShell(request: ShellRequest): Promise<number> {
  if (request.env.SBX_SESSION && insideFilter()) {
    // Inside a session the filter refuses a nested listener anyway; say it plainly.
    throw new SbxError(`already inside sbx session ${request.env.SBX_SESSION}`, {
      exitCode: 2,
      hint: 'exit this session first, or run the program directly (it is sandboxed already)',
    });
  }
  const launcher = launcherPath();
  const native = loadNative();
  await ensureDaemon(request.env);
  const paths = supervisorPaths(request.env);
  const session = newSessionId();
  // The supervisor starts the session's filtering proxy now, so its port is in the program's
  // environment from the first exec (src/supervisor/network.ts), and answers with that whole
  // environment (src/supervisor/launch-environment.ts): applied as given.
  const callerEnv = Object.entries(request.env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
  const r = await controlRequest(paths.control, { cmd: 'session-env', v: SESSION_ENV_VERSION, session, env: callerEnv, follows: request.followsCd, cwd: request.cwd });
  if (!r || !Array.isArray(r.env) || !r.env.every((l) => typeof l === 'string'))
    throw new SbxError(`the supervisor at ${paths.control} gave no environment for the session`, { hint: 'run `sbx daemon restart`' });
  for (const w of Array.isArray(r.warnings) ? r.warnings : []) process.stderr.write(`sbx: ${String(w)}\n`);
  const env = r.env as string[];
  process.chdir(request.cwd);
  // Node made stdio close-on-exec at startup; the session's program needs it.
  for (const fd of [0, 1, 2]) native.fdSetInheritable(fd);
  return native.execve(
    launcher,
    [launcher, '--session', paths.keeper, '--sbx', sbxBin(), '--', ...request.argv],
    env,
  );
}
