/**
 * The keeper protocol (docs/keeper-protocol.md): what sbx-keeper (native/unotify/src/keeper.c)
 * and the supervisor (src/supervisor/daemon.ts, session.ts) say on the keeper socket.
 *
 * AF_UNIX stream, one connection per session, newline-terminated lines:
 *   keeper → supervisor  one JSON line, a {@link Registration}, with two fds attached by
 *                        SCM_RIGHTS: [seccomp listener, journal memfd].
 *   supervisor → keeper  `ready` (the session is served), `error <message>` (refused; the
 *                        connection ends), and any number of `state <json>` lines, a
 *                        {@link SessionState} the keeper holds (at most 1 MiB, MAX_STATE in
 *                        keeper.c) and hands back in the next registration's `state`.
 * When the supervisor hangs up the keeper connects again (starting `sbx daemon start` when
 * nobody answers) and registers with resume=true.
 */
import type { PolicySource } from '../supervisor/policies.js';

/** Session ids: what keeper.c accepts from $SBX_SESSION or generates ("s" + 12 hex). */
export const SESSION_ID = /^[A-Za-z0-9_-]{1,40}$/;

/** What the keeper sends when it registers (one JSON line, fds attached). */
export interface Registration {
  v: 1;
  session: string;
  rootPid: number;
  /** As the keeper says; the supervisor overwrites it with SO_PEERCRED. */
  keeperPid: number;
  /** The root process's cwd and terminal (/proc/<root>/cwd, fd/0; "" when not a tty). */
  cwd: string;
  tty: string;
  /**
   * How many terminal fds follow the listener and the journal: the terminals the root started
   * on, recorded by the keeper before it ran anything (absent from an older keeper).
   */
  terms?: number;
  /** False on the first registration, true after a supervisor went away. */
  resume: boolean;
  /**
   * A fast-path `sbx exec` (sbx-keeper --exec), on its first registration: the session's
   * policy is the one its exec-start request builds, which may still be in progress.
   */
  exec?: boolean;
  /** The last `state` line the keeper received, or null. */
  state: SessionState | null;
}

/**
 * Kept by the keeper between supervisors: the session's policy sources and the engine ids
 * of their policies. Which process runs under which id is not here: the engine's tags,
 * kept in the keeper's memfd, say that (a restarted engine reads them back).
 */
export interface SessionState {
  v: 2;
  sources: { source: PolicySource; main: number; overrides: number[] }[];
  /** Index into sources: the shell's (what the proxy decides on). */
  root: number;
  /** The id of the session's strictest policy (unplaced processes). */
  strict: number;
  /** The next free id. */
  nextId: number;
  /** The session's proxy port (its programs have it in their environment). */
  proxyPort?: number;
  /**
   * The user's own proxy the session's proxy chains to (src/net/upstream.ts), as taken from
   * the environment the session was started from; absent: no chaining.
   */
  upstream?: { url: string; noProxy: string[] };
  /**
   * The variables of the session's caller its policies were built from (those read: caller-env.ts);
   * absent: the supervisor's own.
   */
  env?: Record<string, string>;
  /**
   * Nested policies (`sbx exec` inside, src/supervisor/narrow.ts), in the order they were
   * made (an outer one before any nested within it): each is compiled again from its flags
   * and cwd under the same id, within the same outer id.
   */
  nested?: NestedState[];
}

/** One nested policy: engine id, the id of the policy it narrows, and what built it. */
export interface NestedState {
  id: number;
  within: number;
  cwd: string;
  args: string[];
  /**
   * The ids of its command overrides, one per `commands:` override of the outer policy (in
   * that order): the nested flags within that override's policy (narrow.ts).
   */
  overrides?: number[];
}

/** Above this the keeper ignores a `state` line (MAX_STATE in keeper.c). */
export const MAX_STATE_BYTES = 1024 * 1024;

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isId = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;

/** The upstream a state names, or undefined when absent or malformed. */
export function stateUpstream(state: SessionState): { url: string; noProxy: string[] } | undefined {
  const u = state.upstream;
  return u && typeof u.url === 'string' && isStrings(u.noProxy) ? u : undefined;
}

/** The variables a state keeps, or undefined when absent or malformed. */
export function stateEnv(state: SessionState): Record<string, string> | undefined {
  const e = state.env;
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return undefined;
  return Object.values(e).every((v) => typeof v === 'string') ? e : undefined;
}

/** The nested policies a state names; a malformed entry is left out (its processes get the strictest policy). */
export function stateNested(state: SessionState): NestedState[] {
  if (!Array.isArray(state.nested)) return [];
  return state.nested.filter(
    (n) =>
      isId(n?.id) && isId(n.within) && n.within < n.id && typeof n.cwd === 'string' && n.cwd.startsWith('/') && isStrings(n.args) && (n.overrides === undefined || (Array.isArray(n.overrides) && n.overrides.every(isId))),
  );
}

/** MAX_TERMS in native/unotify/src/keeper.c. */
export const MAX_TERMINAL_FDS = 4;

/**
 * The registration in a keeper's first line, or undefined when it is malformed or its fds are
 * not the listener, the journal and the `terms` terminal fds it announces.
 */
export function parseRegistration(payload: string, fdCount: number): Registration | undefined {
  let reg: Registration;
  try {
    reg = JSON.parse(payload.slice(0, payload.indexOf('\n'))) as Registration;
  } catch {
    return undefined;
  }
  if (
    reg?.v !== 1 ||
    typeof reg.session !== 'string' ||
    !SESSION_ID.test(reg.session) ||
    !Number.isInteger(reg.rootPid) ||
    reg.rootPid <= 1 ||
    (reg.exec !== undefined && typeof reg.exec !== 'boolean') ||
    (reg.terms !== undefined && (!Number.isInteger(reg.terms) || reg.terms < 0 || reg.terms > MAX_TERMINAL_FDS)) ||
    fdCount !== 2 + (reg.terms ?? 0)
  )
    return undefined;
  return reg;
}

/** `ready`: the supervisor serves the session (the keeper acks the launcher). */
export const READY_LINE = 'ready\n';

/** `error <message>`: refused (one line). */
export function errorLine(why: string): string {
  return `error ${why.replace(/\n/g, '; ')}\n`;
}

/** `state <json>`: what the next supervisor needs to resume the session. */
export function stateLine(state: SessionState): string {
  return `state ${JSON.stringify(state)}\n`;
}
