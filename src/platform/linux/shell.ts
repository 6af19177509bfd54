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
import { launchEnv } from '../../policy/launch-env.js';
import { launcherPath, loadNative } from '../../native/load.js';
import { ensureDaemon, sbxBin } from '../../supervisor/lifecycle.js';
import { supervisorPaths } from '../../supervisor/paths.js';
import { request as controlRequest } from '../../protocol/control.js';
import type { ShellRequest } from '../types.js';

const PROXY_VARS = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy'];

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
  // The session's filtering proxy is started now so its port is in the program's
  // environment from the first exec (src/supervisor/network.ts).
  let proxyVars: Record<string, string> = {};
  try {
    // The user's own proxy settings: the session's proxy chains to them (src/net/upstream.ts).
    const proxyEnv: Record<string, string> = {};
    for (const k of PROXY_VARS) if (request.env[k] !== undefined) proxyEnv[k] = request.env[k]!;
    const r = await controlRequest(paths.control, { cmd: 'session-env', session, proxyEnv });
    if (r && typeof r.env === 'object' && r.env !== null) proxyVars = r.env as Record<string, string>;
  } catch (err) {
    // Connects stay filtered either way; only names behind wildcards become unreachable.
    process.stderr.write(`sbx: no network proxy for this session: ${(err as Error).message}\n`);
  }
  // npm's registry settings without tokens, git's empty template (src/policy/launch-env.ts).
  // A shell the hook re-executes gets sbx's proxy variables from the hook, only while its
  // policy needs the proxy (hook-reply `proxy` lines); any other program gets them now.
  if (request.env.SBX_HOOK_REEXEC) proxyVars = {};
  const env = { ...request.env, ...launchEnv(request.env), ...proxyVars, SBX_SESSION: session };
  process.chdir(request.cwd);
  // Node made stdio close-on-exec at startup; the session's program needs it.
  for (const fd of [0, 1, 2]) native.fdSetInheritable(fd);
  return native.execve(
    launcher,
    [launcher, '--session', paths.keeper, '--sbx', sbxBin(), '--', ...request.argv],
    Object.entries(env).map(([k, v]) => `${k}=${v}`),
  );
}
