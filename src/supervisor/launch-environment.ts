/**
 * The finished environment of a sandboxed launch (a session's program from `sbx shell`, a
 * command from the fast `sbx exec`), made here only: the clients (src/platform/linux/shell.ts,
 * native/unotify/src/fast.c) apply it as given and merge nothing themselves.
 *
 *   base (the caller's env, or the exec's filtered env), without SBX_SESSION
 *   + the launch variables (src/policy/launch-env.ts) base does not set, made from the
 *     variables the policy was built from (`buildEnv`: the sandbox's cache is the one its
 *     policy leaves writable, under the supervisor's XDG_CACHE_HOME for a served launch)
 *   + sbx's proxy variables, when `proxy` is given
 *   + SBX_SESSION
 */
import { launchEnv } from '../policy/launch-env.js';
import { filterEnv } from '../policy/match.js';
import type { Env } from '../policy/paths.js';

export function launchEnvironment(
  base: Record<string, string>,
  buildEnv: Env,
  proxy: Record<string, string> | undefined,
  session: string,
): string[] {
  const { SBX_SESSION: _old, ...rest } = base;
  const env = { ...rest, ...launchEnv(buildEnv, rest), ...(proxy ?? {}), SBX_SESSION: session };
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

/**
 * `sbx shell`'s program: the caller's env, filtered by the env rules of the policy it starts
 * under (`envFilter`, as `sbx exec` filters), with everything above. A shell the hook
 * re-executes gets no filter here: its hook hides variables itself at each prompt and gives
 * them back when a cd leaves the project (shells/sbx.*), which it could not do for values it
 * never had. It gets sbx's proxy variables from the hook, only while its policy needs the
 * proxy (hook-reply `proxy` lines); any other program gets them now.
 */
export function sessionEnvironment(
  callerEnv: Record<string, string>,
  buildEnv: Env,
  proxy: Record<string, string>,
  session: string,
  envFilter: { deny: string[]; allow: string[] } | undefined,
  hookShell: boolean,
): string[] {
  const base = envFilter && !hookShell ? filterEnv(callerEnv, envFilter) : callerEnv;
  return launchEnvironment(base, buildEnv, hookShell ? undefined : proxy, session);
}

/**
 * The session's program is a shell the hook re-executed (see sessionEnvironment): it follows
 * cd and says so. Either alone is not: `sbx shell -- CMD` with SBX_HOOK_REEXEC in the terminal
 * is any other program.
 */
export function isHookShell(callerEnv: Record<string, string>, follows: boolean): boolean {
  return follows && !!callerEnv.SBX_HOOK_REEXEC;
}
