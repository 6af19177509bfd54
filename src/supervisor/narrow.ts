/**
 * `sbx exec [flags] -- CMD` inside a session: a nested sandbox no wider than the caller's.
 * A nested seccomp listener is refused by the filter, so the caller's own engine does it: the
 * supervisor compiles the flags as `sbx exec` outside would (user + project policy for the
 * caller's real cwd, then the flags), marks the result `within` the caller's policy — the
 * engine then allows only what both allow (native decide_all), so no flag can widen — and
 * moves the caller (the `sbx exec` process itself, never the shell) to it. Everything the
 * caller starts from then on inherits it, and it is sealed (nothing reads or debugs it: it
 * holds the environment its flags hide). The outer policy's `commands:` overrides still bind:
 * each gets a nested twin (the same flags, within that override's policy), named by the
 * nested policy's own `commands:`, so `sbx exec --deny-write -- npm …` runs npm under its
 * override narrowed by the flags, not under the outer policy without its override.
 * `--policy FILE` is refused here: the supervisor would read FILE with the user's rights.
 */
import type { HintRequest } from '../../native/unotify/native.js';
import type { Engine } from '../native/engine.js';
import { parseArgs } from '../cli/args.js';
import { SbxError } from '../errors.js';
import { compileExecFlags, EXEC_FLAG_SPEC, execFlagsFromArgs } from '../policy/flags.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import type { Env } from '../policy/paths.js';
import { parseNarrow, type AskReply } from '../protocol/inside.js';
import type { NestedState } from '../protocol/keeper.js';
import type { InstalledPolicies } from './installed.js';
import { insideWork } from './thread-budget.js';

/** Nested policies one session may hold: a loop of `sbx exec` cannot grow the supervisor without bound. */
const MAX_NESTED = 256;

export interface NarrowHost {
  readonly id: string;
  /** The finished `commands:` overrides of an installed policy (undefined: not known). */
  commandsOf(policyId: number): CompiledPolicy['commands'] | undefined;
  /** Nested policy ids by (outer id, cwd, flags): the same nested exec again reuses its policy. */
  readonly nested: Map<string, number>;
  readonly installed: InstalledPolicies;
  /** The variables the session's policies are built from (caller-env.ts). */
  readonly buildEnv: Env;
  engine(): Engine | undefined;
  /** The session's network step (proxy port, DNS, names), as for every installed policy. */
  prepareNested(p: CompiledPolicy): Promise<CompiledPolicy>;
  say(line: string): void;
  /** The session's state changed: the keeper gets it. */
  changed(): void;
}

/** The key a nested policy is reused under: the same nested exec again gets the same id. */
export function nestedKey(n: Pick<NestedState, 'within' | 'cwd' | 'args'>): string {
  return `${n.within}\0${n.cwd}\0${JSON.stringify(n.args)}`;
}

/** The origin line of a nested policy. */
export function nestedOrigin(args: string[], outerOrigin: string): string {
  return `sbx exec ${args.join(' ')} within ${outerOrigin}`.trim();
}

/**
 * Builds a nested policy from its flags (as `sbx exec` outside would, in `cwd`), under `id`,
 * within `within`. Also what a resumed supervisor runs for each nested policy the keeper kept,
 * so the same flags give the same policy after a restart.
 */
export async function buildNested(
  host: Pick<NarrowHost, 'buildEnv' | 'prepareNested' | 'installed'>,
  n: NestedState,
  outerCommands: CompiledPolicy['commands'],
): Promise<{ policy: CompiledPolicy; envFilter: CompiledPolicy['env']; overrides: CompiledPolicy[] } | { error: string }> {
  let parsed;
  try {
    parsed = parseArgs(n.args, EXEC_FLAG_SPEC, 'sbx exec flags');
  } catch (err) {
    return { error: (err as Error).message };
  }
  if (parsed.positionals.length > 0) return { error: `unexpected argument '${parsed.positionals[0]}' among the flags` };
  const flags = execFlagsFromArgs(parsed);
  if (flags.policyFile) return { error: '--policy FILE is not supported inside a session (the supervisor would read it with your full rights)' };
  let compiled;
  try {
    compiled = await compileExecFlags(flags, { cwd: n.cwd, env: host.buildEnv });
  } catch (err) {
    if (err instanceof SbxError) return { error: err.message };
    throw err;
  }
  // Command overrides of the nested policy's own files would widen it from inside: none. The
  // outer policy's do bind: each program it overrides runs under the flags within that
  // override (a twin per override, kept under the same ids across a restart).
  const ids = outerCommands.map((_, i) => n.overrides?.[i] ?? host.installed.allocateId());
  const overrides: CompiledPolicy[] = [];
  for (const [i, c] of outerCommands.entries())
    overrides.push(await host.prepareNested({ ...compiled.policy, id: ids[i]!, within: c.policy, commands: [] }));
  const commands = outerCommands.map((c, i) => ({ ...c, rule: -1, policy: ids[i]! }));
  const policy = await host.prepareNested({ ...compiled.policy, id: n.id, within: n.within, commands });
  return { policy, envFilter: compiled.envFilter, overrides };
}

/** The environment filter of a nested policy met before, by session and nestedKey. */
const nestedEnvFilters = new Map<string, CompiledPolicy['env']>();

async function answerNarrow(host: NarrowHost, h: HintRequest): Promise<AskReply> {
  const engine = host.engine();
  if (!engine || engine.stopped) return { error: 'the session is ending' };
  const caller = engine.process(h.tgid);
  if (!caller) return { error: 'not a process of this session' };
  // The shell follows its directory; narrowing it would stick. Only a program narrows itself.
  if (caller.followsCd) return { error: "the session's shell cannot narrow itself: run `sbx exec … -- CMD`" };
  const req = parseNarrow(h.arg);
  if ('error' in req) return req;
  const outer = host.installed.byPolicyId(caller.policy);
  if (!outer) return { error: "the caller's policy is unknown (it runs under the strictest policy)" };
  const outerCommands = host.commandsOf(caller.policy) ?? [];
  const origin = nestedOrigin(req.args, outer.origin);
  const want = { within: caller.policy, cwd: h.cwd, args: req.args };
  const key = nestedKey(want);
  const known = host.nested.get(key);
  if (known !== undefined && host.installed.byPolicyId(known)) {
    // The policy in the engine stays; its environment filter is compiled again only once
    // (a loop of nested `sbx exec`s would otherwise compile at every one).
    const envKey = `${host.id}\0${key}`;
    let envFilter = nestedEnvFilters.get(envKey);
    if (!envFilter) {
      const again = await buildNested(host, { ...want, id: known }, []);
      if ('error' in again) return again;
      envFilter = again.envFilter;
      if (nestedEnvFilters.size >= 256) nestedEnvFilters.delete(nestedEnvFilters.keys().next().value!);
      nestedEnvFilters.set(envKey, envFilter);
    }
    const e = host.engine();
    if (!e || e.stopped) return { error: 'the session is ending' };
    e.assign(h.tgid, known, false, true);
    return { ok: true, policy: origin, env: envFilter };
  }
  if (host.nested.size >= MAX_NESTED) return { error: `this session already holds ${MAX_NESTED} nested policies` };
  const id = host.installed.allocateId();
  const built = await buildNested(host, { ...want, id }, outerCommands);
  if ('error' in built) return built;
  const e = host.engine();
  if (!e || e.stopped) return { error: 'the session is ending' };
  // Its command overrides first: the nested policy names them.
  for (const [i, o] of built.overrides.entries()) host.installed.addPolicy(e, o, `${origin} (for ${outerCommands[i]!.name}, within its command override)`);
  host.installed.addNested(e, built.policy, origin, { ...want, id, overrides: built.overrides.map((o) => o.id) });
  host.installed.installStrict(e);
  host.nested.set(key, id);
  // Sealed: it holds the environment its flags hide from the command it runs next.
  e.assign(h.tgid, id, false, true);
  host.say(`session ${host.id}: pid ${h.tgid} narrowed to policy ${id} (${origin})`);
  // Kept by the keeper: after a supervisor restart the nested policy is built again.
  host.changed();
  return { ok: true, policy: origin, env: built.envFilter };
}

export async function handleNarrow(host: NarrowHost, h: HintRequest): Promise<void> {
  let reply: AskReply;
  try {
    const busy = insideWork.admit(host.id);
    reply = busy ? { error: busy } : await insideWork.run(host.id, () => answerNarrow(host, h));
  } catch (err) {
    host.say(`session ${host.id}: narrow failed: ${(err as Error).stack ?? String(err)}`);
    reply = { error: `internal error: ${(err as Error).message}` };
  }
  const engine = host.engine();
  if (engine && !engine.stopped) engine.replyHint(h.id, { content: `${JSON.stringify(reply)}\n` });
}
