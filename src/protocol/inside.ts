/**
 * Read-only requests from inside a session to the supervisor, on the hint channel
 * (docs/hook-protocol.md): the caller reads `/proc/self/sbx/ask/<cmd>[?<query>]` and gets one
 * JSON object as the file's content. Outside a session the path does not exist (ENOENT).
 *
 *   ping                      → { session, policy }                 (am I inside? under what?)
 *   status                    → { supervisor: { pid }, session, policy, sessions: [this one] }
 *   log?limit=N&since=SEQ     → { session, violations: [...], last: SEQ }   (this session only)
 *   why?limit=N               → { session, policy, denials: [...] }  (folded, with `fix`)
 *
 * A refusal is { error }. Query values are decimal integers.
 *
 * Widening (needs the person at the terminal: src/supervisor/confirm.ts), same shape:
 *   /proc/self/sbx/widen/trust?file=<absolute path>  → { ok, file, sha256 } | { ok, already } | { error }
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { SupervisorError } from '../errors.js';

export type AskRequest =
  | { cmd: 'ping' }
  | { cmd: 'status' }
  | { cmd: 'log'; limit?: number; since?: number }
  | { cmd: 'why'; limit?: number };

export type AskReply = Record<string, unknown>;

const ASK_PREFIX = '/proc/self/sbx/ask/';
const CMDS = new Set(['ping', 'status', 'log', 'why']);

export function formatAsk(req: AskRequest): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(req)) if (k !== 'cmd' && v !== undefined) q.set(k, String(v));
  const qs = q.toString();
  return qs ? `${req.cmd}?${qs}` : req.cmd;
}

/** Parses what follows "ask/"; `{ error }` names what is wrong. */
export function parseAsk(arg: string): AskRequest | { error: string } {
  const q = arg.indexOf('?');
  const cmd = q === -1 ? arg : arg.slice(0, q);
  if (!CMDS.has(cmd)) return { error: `unknown request '${cmd.slice(0, 40)}' (known: ${[...CMDS].join(', ')})` };
  const params = new URLSearchParams(q === -1 ? '' : arg.slice(q + 1));
  const out: Record<string, unknown> = { cmd };
  for (const [k, v] of params) {
    if (k !== 'limit' && k !== 'since') return { error: `${cmd}: unknown parameter '${k.slice(0, 40)}'` };
    if (!/^\d{1,9}$/.test(v)) return { error: `${cmd}: ${k} must be a whole number (got '${v.slice(0, 20)}')` };
    out[k] = Number(v);
  }
  return out as AskRequest;
}

/** Asks the supervisor from inside a session; undefined when this process is not in one. */
export function askInside(req: AskRequest): AskReply | undefined {
  let text: string;
  try {
    text = readFileSync(`${ASK_PREFIX}${formatAsk(req)}`, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new SupervisorError(`the session's supervisor did not answer '${req.cmd}': ${(err as Error).message}`, undefined, err);
  }
  let reply: AskReply;
  try {
    reply = JSON.parse(text) as AskReply;
  } catch {
    throw new SupervisorError(`the session's supervisor sent a malformed answer to '${req.cmd}': ${text.slice(0, 80)}`);
  }
  if (reply.error) throw new SupervisorError(`inside the session: ${String(reply.error)}`);
  return reply;
}

/** This process runs inside an sbx session (its supervisor answers on the hint channel). */
export function insideSession(): { session: string; policy: string } | undefined {
  // Not SBX_SESSION (inherited by anything, removable by env -i): the channel decides. Outside a
  // session this is one failed open.
  try {
    const r = askInside({ cmd: 'ping' });
    return r ? { session: String(r.session), policy: String(r.policy) } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Narrowing (`sbx exec` inside): /proc/self/sbx/narrow/exec?args=<JSON array of the exec flags>
 * → { ok, policy, env: { deny, allow } } | { error }. The caller itself moves to the nested policy.
 */
export function formatNarrow(args: string[]): string {
  return `exec?${new URLSearchParams({ args: JSON.stringify(args) }).toString()}`;
}

export function parseNarrow(arg: string): { args: string[] } | { error: string } {
  const q = arg.indexOf('?');
  if ((q === -1 ? arg : arg.slice(0, q)) !== 'exec') return { error: 'unknown narrowing request (known: exec)' };
  let args: unknown;
  try {
    args = JSON.parse(new URLSearchParams(arg.slice(q + 1)).get('args') ?? '[]');
  } catch {
    return { error: 'exec: args must be a JSON array of strings' };
  }
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) return { error: 'exec: args must be a JSON array of strings' };
  return { args };
}

/** Moves this process into a nested sandbox (the intersection with its current policy); undefined outside a session. */
export function narrowInside(args: string[]): AskReply | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/self/sbx/narrow/${formatNarrow(args)}`, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    // An `sbx exec` that runs in its own process (no supervisor) serves no nested policy.
    if (code === 'ENOTSUP' || code === 'EOPNOTSUPP')
      return { error: 'the sbx exec around this one runs in its own process and cannot make a nested sandbox; start a supervisor first (`sbx daemon start`), then run the outer sbx exec again' };
    throw new SupervisorError(`the session's supervisor did not answer 'exec': ${(err as Error).message}`, undefined, err);
  }
  try {
    return JSON.parse(text) as AskReply;
  } catch {
    throw new SupervisorError(`the session's supervisor sent a malformed answer to 'exec': ${text.slice(0, 80)}`);
  }
}

export type WidenRequest = { cmd: 'trust'; file: string };

export function formatWiden(req: WidenRequest): string {
  return `${req.cmd}?${new URLSearchParams({ file: req.file }).toString()}`;
}

export function parseWiden(arg: string): WidenRequest | { error: string } {
  const q = arg.indexOf('?');
  const cmd = q === -1 ? arg : arg.slice(0, q);
  if (cmd !== 'trust') return { error: `unknown widening request '${cmd.slice(0, 40)}' (known: trust)` };
  const file = new URLSearchParams(q === -1 ? '' : arg.slice(q + 1)).get('file');
  if (!file || !file.startsWith('/')) return { error: 'trust: file must be an absolute path' };
  // A `..` after a link goes where the link leads, not up from its name: the place shown and
  // trusted would not be the file read. A clean name only (the CLI sends one).
  if (posix.normalize(file) !== file || file.endsWith('/')) return { error: 'trust: file must be a clean absolute path (no ., .. or //)' };
  return { cmd, file };
}

/** Asks the supervisor to widen (it confirms with the person at the terminal); undefined outside a session. */
export function widenInside(req: WidenRequest): AskReply | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/self/sbx/widen/${formatWiden(req)}`, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new SupervisorError(`the session's supervisor did not answer '${req.cmd}': ${(err as Error).message}`, undefined, err);
  }
  try {
    return JSON.parse(text) as AskReply;
  } catch {
    throw new SupervisorError(`the session's supervisor sent a malformed answer to '${req.cmd}': ${text.slice(0, 80)}`);
  }
}
