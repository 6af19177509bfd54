/**
 * Read-only requests from inside a session (`sbx status`, `sbx log [-f]`, `sbx why` run by a
 * sandboxed process): `/proc/self/sbx/ask/<request>` on the hint channel, answered here. The
 * control socket stays out of the sandbox's reach (a floor); this channel needs no socket and
 * names its caller by the kernel's notification (pid → the engine's process table, the only
 * record of who runs under what). A caller sees its own session only — its processes, its
 * denials — and never file content (records name paths, not what is in them). Nothing here
 * changes anything. Wire format: src/protocol/inside.ts.
 */
import { askWork } from './thread-budget.js';
import type { HintRequest } from '../../native/unotify/native.js';
import type { Engine } from '../native/engine.js';
import { parseAsk, type AskReply } from '../protocol/inside.js';
import type { InstalledPolicies } from './installed.js';
import type { Violation, ViolationLog } from './violations.js';

const EACCES = 13;

export interface AskHost {
  readonly id: string;
  readonly installed: InstalledPolicies;
  readonly log: ViolationLog;
  engine(): Engine | undefined;
  describe(): Record<string, unknown>;
  say(line: string): void;
}

/** Folds the session's recent denials for `sbx why` (same program, operation, target, rule). */
export function recentDenials(records: Violation[], limit: number): Violation[] {
  const folded = new Map<string, Violation>();
  for (const v of records) {
    if (v.kind !== 'deny' && v.kind !== 'error' && v.kind !== 'privileged' && v.kind !== 'audit') continue;
    const key = `${v.kind}\0${v.program}\0${v.op}\0${v.target}\0${v.rule}`;
    const prev = folded.get(key);
    if (prev) {
      prev.count = (prev.count ?? 1) + (v.count ?? 1);
      prev.time = v.time;
      folded.delete(key); // most recent last
      folded.set(key, prev);
    } else folded.set(key, { ...v });
  }
  return [...folded.values()].slice(-limit);
}

export function answerAsk(host: AskHost, h: HintRequest): AskReply {
  const engine = host.engine();
  if (!engine || engine.stopped) return { error: 'the session is ending' };
  const caller = engine.process(h.tgid);
  // Every process of the session has a record; one without is not this session's to ask for.
  if (!caller) return { error: 'not a process of this session' };
  const req = parseAsk(h.arg);
  if ('error' in req) return req;
  const policy = host.installed.byPolicyId(caller.policy)?.origin ?? `policy ${caller.policy}`;
  switch (req.cmd) {
    case 'ping':
      return { session: host.id, policy };
    case 'status':
      return { supervisor: { pid: process.pid }, session: host.id, policy, sessions: [host.describe()] };
    case 'log': {
      const violations = host.log.recent({ session: host.id, limit: req.limit, since: req.since });
      return { session: host.id, violations, last: host.log.lastSeq };
    }
    case 'why':
      return { session: host.id, policy, denials: recentDenials(host.log.recent({ session: host.id, limit: 2000 }), req.limit ?? 10) };
  }
}

/** Replies in the engine: the JSON answer as the file's content. */
export function handleAsk(host: AskHost, h: HintRequest): void {
  const engine = host.engine();
  // Charged to a budget of their own (thread-budget.ts): `why` and `log` read and fold up
  // to thousands of records, and a program inside can ask from many threads in a loop.
  const busy = askWork.admit(host.id);
  if (busy) {
    if (engine && !engine.stopped) engine.replyHint(h.id, { content: `${JSON.stringify({ error: busy })}\n` });
    return;
  }
  const t0 = performance.now();
  try {
    const reply = answerAsk(host, h);
    if (engine && !engine.stopped) engine.replyHint(h.id, { content: `${JSON.stringify(reply)}\n` });
  } catch (err) {
    host.say(`session ${host.id}: ask ${h.arg} failed: ${(err as Error).stack ?? String(err)}`);
    if (engine && !engine.stopped) engine.replyHint(h.id, { errno: EACCES });
  } finally {
    askWork.charge(host.id, performance.now() - t0);
  }
}
