/**
 * Keeping the prompt segment current without spawning anything on the prompt path: with each
 * reply the supervisor creates a marker file for the shell that asked and names it in the reply
 * (`fresh <path>`, docs/hook-protocol.md). When what that shell was told may have changed — a
 * policy file it runs under was reloaded, the trust db changed (`sbx trust`) — the supervisor
 * removes the marker. The hook tests the marker with a builtin `[[ -e ]]` / `test -e` (one stat,
 * not trapped) at every prompt and, when it is gone, pushes again: the reply brings the new
 * prompt segment and notices, and the push itself puts the re-resolved policy in force.
 *
 * Markers live in the runtime dir (0700, a floor no sandboxed process can write): at worst a
 * missing marker costs one extra push.
 */
import { existsSync, mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeDir, type Env } from '../policy/paths.js';

export function freshDir(env: Env): string {
  return join(runtimeDir(env), 'fresh');
}

export function freshMarker(env: Env, session: string, pid: number): string {
  return join(freshDir(env), `${session}.${pid}`);
}

/** Creates the marker for `pid` and returns its path, or undefined when it cannot (the hook then never re-asks). */
export function markFresh(env: Env, session: string, pid: number): string | undefined {
  const file = freshMarker(env, session, pid);
  try {
    if (existsSync(file)) return file; // the common case: one stat on the push path
    mkdirSync(freshDir(env), { recursive: true, mode: 0o700 });
    writeFileSync(file, '', { mode: 0o600 });
    return file;
  } catch {
    return undefined;
  }
}

/** Removes the markers of one session's shells, or of every session: they ask again at their next prompt. */
export function markStale(env: Env, session?: string): void {
  let names: string[];
  try {
    names = readdirSync(freshDir(env));
  } catch {
    return;
  }
  for (const n of names) {
    if (session !== undefined && !n.startsWith(`${session}.`)) continue;
    try {
      unlinkSync(join(freshDir(env), n));
    } catch {
      // gone already
    }
  }
}
