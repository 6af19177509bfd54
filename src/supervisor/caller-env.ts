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

export interface CallerEnv {
  /** The session's variables with sbx's own places from the supervisor; reads are noted. */
  readonly view: Env;
  /** The variables read so far (by name), with their values: what the keeper keeps. */
  read(): Record<string, string>;
}

export function callerEnv(own: Env, caller: Record<string, string>): CallerEnv {
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries(caller)) if (!OWN.test(k)) merged[k] = v;
  for (const [k, v] of Object.entries(own)) if (OWN.test(k) && typeof v === 'string') merged[k] = v;
  const reads = recordReads(merged);
  return { view: reads.view, read: reads.read };
}
