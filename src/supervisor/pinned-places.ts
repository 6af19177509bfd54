/**
 * sbx's own places (HOME and XDG_*: its user config, trust db, last good versions, the floors
 * the policies put on them) are the supervisor's. A supervisor that dies without being asked
 * to stop is started again by whoever comes next — a session's keeper, with the environment
 * of the terminal that started that session. Had it taken that terminal's HOME/XDG_* as its
 * own, one session from a terminal with another XDG_CONFIG_HOME could plant a user config
 * there and have it apply to every session after the next crash.
 *
 * So a supervisor pins the places it serves with in its runtime dir (private, and a floor in
 * every policy), and every later one takes them from there, however it was started: only
 * `sbx daemon restart` pins the restarting terminal's instead. The first supervisor after a
 * login (the runtime dir is new) takes its starter's. XDG_RUNTIME_DIR is not pinned: it is
 * where the pin was found.
 */
import { lstatSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from '../policy/paths.js';
import { isPlace } from './caller-env.js';

/** The places (caller-env.ts) but the runtime dir. */
const isPinned = (name: string): boolean => isPlace(name) && name !== 'XDG_RUNTIME_DIR';

export function pinFile(runtime: string): string {
  return join(runtime, 'places.json');
}

/** The places `env` names (HOME, XDG_* but the runtime dir). */
export function placesOf(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (isPinned(k) && typeof v === 'string') out[k] = v;
  return out;
}

/**
 * `env` with the places pinned in `runtime`, when a pin is there (the supervisor before
 * this one did not stop cleanly). A pin that is not a private file of ours is not taken.
 */
export function withPinnedPlaces(env: Env, runtime: string): { env: Env; pinned: Record<string, string> | undefined } {
  const file = pinFile(runtime);
  let pinned: Record<string, string>;
  try {
    const st = lstatSync(file);
    if (!st.isFile() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0) return { env, pinned: undefined };
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { env, pinned: undefined };
    pinned = placesOf(parsed as Env);
  } catch {
    return { env, pinned: undefined };
  }
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) if (!isPinned(k)) out[k] = v;
  return { env: { ...out, ...pinned } as Env, pinned };
}

/** Pins `env`'s places in `runtime` (written whole, then renamed: never half a file). */
export function pinPlaces(env: Env, runtime: string): void {
  const file = pinFile(runtime);
  const tmp = `${file}.${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(placesOf(env))}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}
