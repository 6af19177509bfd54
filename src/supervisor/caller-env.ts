/**
 * The variables a session's policies are built and finished from. A supervisor serves
 * sessions started from many terminals, each with its own environment; what a policy makes of
 * PATH (the floors on its directories, what a rule's program name means), ZDOTDIR, PERL5LIB,
 * GIT_TEMPLATE_DIR, … must be the session's, as when `sbx exec` builds it in its own process —
 * not the supervisor's, which another terminal started (a directory on the session's PATH and
 * not on the supervisor's was left writable). sbx's own places stay the supervisor's: HOME and
 * XDG_* (its trust db, user config, last good versions and sockets are the ones it writes and
 * guards) and SBX_*.
 *
 * What the builds read is recorded: the keeper keeps those variables, so a supervisor that
 * takes the session over builds the same policies (src/protocol/keeper.ts SessionState.env).
 */
import { recordReads } from '../policy/env-reads.js';
import type { Env } from '../policy/paths.js';

const OWN = /^(HOME|XDG_[A-Z_]+|SBX_[A-Z0-9_]+)$/;
/** The places among them: where the caller's programs, and its terminal later, load from too. */
const PLACE = /^(HOME|XDG_[A-Z_]+)$/;
export const isPlace = (name: string): boolean => PLACE.test(name);

export interface CallerEnv {
  /** The session's variables with sbx's own places from the supervisor; reads are noted. */
  readonly view: Env;
  /**
   * The session's variables with its own HOME and XDG_* — only when they differ from the
   * supervisor's. Its policy's floors are added (src/policy/floors-of.ts): the caller's
   * `~/.bashrc`, `$XDG_CONFIG_HOME/git/config`, `$XDG_STATE_HOME/sbx/hook-cache` are what
   * that terminal runs later, outside. Reads are noted.
   */
  readonly floors: Env | undefined;
  /**
   * The variables read so far (by name), with the caller's values: what the keeper keeps. A
   * place (HOME, XDG_*) is kept with the caller's value: the view takes the supervisor's anyway.
   */
  read(): Record<string, string>;
}

export function isCallerEnv(x: Record<string, string> | CallerEnv): x is CallerEnv {
  return typeof (x as CallerEnv).read === 'function';
}

export function callerEnv(own: Env, caller: Record<string, string>): CallerEnv {
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries(caller)) if (!OWN.test(k)) merged[k] = v;
  for (const [k, v] of Object.entries(own)) if (OWN.test(k) && typeof v === 'string') merged[k] = v;
  const reads = recordReads(merged);
  const places = new Set([...Object.keys(caller), ...Object.keys(own)].filter((k) => isPlace(k)));
  const differs = [...places].some((k) => caller[k] !== own[k]);
  const withCallerPlaces: Record<string, string> = { ...merged };
  for (const k of places) {
    delete withCallerPlaces[k];
    if (caller[k] !== undefined) withCallerPlaces[k] = caller[k];
  }
  const floorReads = differs ? recordReads(withCallerPlaces) : undefined;
  const read = () => {
    const out: Record<string, string> = {};
    const names = [...reads.names(), ...(floorReads?.names() ?? [])];
    for (const n of names) {
      const v = isPlace(n) ? caller[n] : merged[n];
      if (v !== undefined) out[n] = v;
    }
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  };
  return { view: reads.view, floors: floorReads?.view, read };
}
