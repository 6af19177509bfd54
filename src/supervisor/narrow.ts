/**
 * `sbx exec [flags] -- CMD` inside a session: a nested sandbox no wider than the caller's.
 * A nested seccomp listener is refused by the filter, so the caller's own engine does it: the
 * supervisor compiles the flags as `sbx exec` outside would (user + project policy for the
 * caller's real cwd, then the flags), marks the result `within` the caller's policy — the
 * engine then allows only what both allow (native decide_all), so no flag can widen — and
 * moves the caller (the `sbx exec` process itself, never the shell) to it. Everything the
 * caller starts from then on inherits it. `--policy FILE` is refused here: the supervisor
 * would read FILE with the user's rights.
 */
import type { HintRequest } from '../../native/unotify/native.js';
import type { Engine } from '../native/engine.js';
import { parseArgs } from '../cli/args.js';
import { SbxError } from '../errors.js';
import { compileExecFlags, EXEC_FLAG_SPEC, execFlagsFromArgs } from '../policy/flags.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import type { Env } from '../policy/paths.js';
import { parseNarrow, type AskReply } from '../protocol/inside.js';
import type { InstalledPolicies } from './installed.js';

/** Nested policies one session may hold: a loop of `sbx exec` cannot grow the supervisor without bound. */
const MAX_NESTED = 256;

export interface NarrowHost {
  readonly id: string;
  /** Nested policy ids by (outer id, cwd, flags): the same nested exec again reuses its policy. */
  readonly nested: Map<string, number>;
  readonly installed: InstalledPolicies;
  readonly env: Env;
  engine(): Engine | undefined;
  /** The session's network step (proxy port, DNS, names), as for every installed policy. */
  prepareNested(p: CompiledPolicy): Promise<CompiledPolicy>;
  say(line: string): void;
}

async function answerNarrow(host: NarrowHost, h: HintRequest): Promise<AskReply> {
  const engine = host.engine();
  if (!engine || engine.stopped) return { error: 'the session is ending' };
  const caller = engine.process(h.tgid);
  if (!caller) return { error: 'not a process of this session' };
  // The shell follows its directory; narrowing it would stick. Only a program narrows itself.
  if (caller.followsCd) return { error: "the session's shell cannot narrow itself: run `sbx exec … -- CMD`" };
  const req = parseNarrow(h.arg);
  if ('error' in req) return req;
  let parsed;
  try {
    parsed = parseArgs(req.args, EXEC_FLAG_SPEC, 'sbx exec flags');
  } catch (err) {
    return { error: (err as Error).message };
  }
  if (parsed.positionals.length > 0) return { error: `unexpected argument '${parsed.positionals[0]}' among the flags` };
  const flags = execFlagsFromArgs(parsed);
  if (flags.policyFile) return { error: '--policy FILE is not supported inside a session (the supervisor would read it with your full rights)' };
  const outer = host.installed.byPolicyId(caller.policy);
  if (!outer) return { error: "the caller's policy is unknown (it runs under the strictest policy)" };
  let compiled;
  try {
    compiled = await compileExecFlags(flags, { cwd: h.cwd, env: host.env });
  } catch (err) {
    if (err instanceof SbxError) return { error: err.message };
    throw err;
  }
  if (!host.engine()) return { error: 'the session is ending' };
  const origin = `sbx exec ${req.args.join(' ')} within ${outer.origin}`.trim();
  const key = `${caller.policy}\0${h.cwd}\0${JSON.stringify(req.args)}`;
  const known = host.nested.get(key);
  if (known !== undefined && host.installed.byPolicyId(known)) {
    const e = host.engine();
    if (!e || e.stopped) return { error: 'the session is ending' };
    e.assign(h.tgid, known, false);
    return { ok: true, policy: origin, env: compiled.envFilter };
  }
  if (host.nested.size >= MAX_NESTED) return { error: `this session already holds ${MAX_NESTED} nested policies` };
  // Command overrides of the nested policy would widen it from inside: none (the outer's
  // still bind through `within`).
  const id = host.installed.allocateId();
  const finished = await host.prepareNested({ ...compiled.policy, id, within: caller.policy, commands: [] });
  const e = host.engine();
  if (!e || e.stopped) return { error: 'the session is ending' };
  host.installed.addNested(e, finished, origin);
  host.installed.installStrict(e);
  host.nested.set(key, finished.id);
  e.assign(h.tgid, finished.id, false);
  host.say(`session ${host.id}: pid ${h.tgid} narrowed to policy ${finished.id} (${origin})`);
  return { ok: true, policy: origin, env: compiled.envFilter };
}

export async function handleNarrow(host: NarrowHost, h: HintRequest): Promise<void> {
  let reply: AskReply;
  try {
    reply = await answerNarrow(host, h);
  } catch (err) {
    host.say(`session ${host.id}: narrow failed: ${(err as Error).stack ?? String(err)}`);
    reply = { error: `internal error: ${(err as Error).message}` };
  }
  const engine = host.engine();
  if (engine && !engine.stopped) engine.replyHint(h.id, { content: `${JSON.stringify(reply)}\n` });
}
