/**
 * `sbx exec`'s policy, kept between runs. Building it is most of the supervisor's part of a
 * fast-path start (~4 ms of CPU, twice that on a busy 2-core machine), and people run the same
 * command in the same directory again and again.
 *
 * A run gets the policy built before only when nothing it was built from differs:
 * - the same directory and the same flags (the command after them may differ);
 * - the same value (or absence) of every variable the build read (src/policy/env-reads.ts recordReads);
 * - the policy files in force, the user config and the trust db unchanged (ino, size, mtime
 *   and ctime, as policy-cache.ts; a file changed in the last second is not cached at all,
 *   nor a policy with a broken file, whose last good version lives in sbx's state);
 * - every path the build canonicalised and every existence it probed — the project file it
 *   found or did not find above the directory among them — still the same (expand.ts
 *   planFactsCheck: names many share a directory with, by the directory's stamp).
 * Anything else is a miss and a fresh build. The program's environment is computed from the
 * caller's variables every time, and each hit is a session copy of a frozen entry
 * (shared-policy.ts: sessions renumber ids).
 */
import { nodePathKinds, planFactsCheck, type FactsCheck, type PathKinds, type PathStamps } from '../policy/expand.js';
import type { Env } from '../policy/paths.js';
import { evictLeastRecent, stampOf } from './policy-cache.js';
import { resolveServedExec, sourceKey, type PolicySource, type ResolvedExec } from './policies.js';
import { filterEnv } from '../policy/match.js';
import { freezeShared, sessionCopy } from './shared-policy.js';

/** Policies kept in all (directories × flag sets × variable values); each is ~40 KB of JSON. */
const MAX_ENTRIES = 32;

interface Entry {
  reads: Array<[string, string | undefined]>;
  stamp: string;
  /** Frozen (shared-policy.ts): each hit gets a session copy. */
  built: ResolvedExec;
  facts: FactsCheck;
}

export class ExecPolicyCache {
  /** By directory and command line, most recently used last; a few variants each (env differs). */
  private readonly entries = new Map<string, Entry[]>();
  hits = 0;
  misses = 0;

  /**
   * `kinds`, `stamps`: how the facts and their directories are stat'ed (the supervisor passes
   * the native batches; see PathKinds). `own`: the supervisor's variables, whose floors a
   * policy built from a caller's other variables gets too (src/policy/floors-of.ts).
   */
  constructor(
    private readonly kinds: PathKinds = nodePathKinds,
    private readonly stamps?: PathStamps,
    private readonly own?: Env,
  ) {}

  /**
   * `env`: the variables to build from (the caller's, with sbx's own places the supervisor's:
   * caller-env.ts); `programEnv`: the caller's own, which the program gets (filtered);
   * `floors`: the caller's own places where they differ, whose floors are added (not cached).
   */
  async resolve(source: PolicySource & { kind: 'exec' }, env: Env, programEnv: Record<string, string | undefined> = env, floors?: Env): Promise<ResolvedExec> {
    // The policy depends on the flags, not on the command after them: `sbx exec -- make` and
    // `sbx exec -- make test` share one. A bad command line throws here, as in the build.
    const { parseExecCommandLine } = await import('../cli/exec.js');
    const { argv } = parseExecCommandLine(source.args);
    const key = `${source.cwd}\0${source.args.slice(0, source.args.length - argv.length).join('\0')}`;
    const variants = this.entries.get(key) ?? [];
    if (floors) {
      // Rare (a terminal whose HOME or XDG_* differ from the supervisor's): built each time.
      this.misses++;
      return resolveServedExec(source, env, programEnv, this.own, floors);
    }
    const hit = variants.find((e) => e.reads.every(([name, value]) => env[name] === value) && stampOf(e.built.inputs.stamped).stamp === e.stamp && e.facts.holds(this.kinds));
    if (hit) {
      this.hits++;
      this.entries.delete(key);
      this.entries.set(key, variants);
      const copy = sessionCopy(hit.built);
      copy.source = { ...copy.source, kind: 'exec', cwd: source.cwd, args: source.args };
      copy.key = sourceKey(copy.source);
      copy.argv = argv;
      copy.env = filterEnv(programEnv, copy.inputs.envFilter);
      return copy;
    }
    this.misses++;
    const built = await resolveServedExec(source, env, programEnv, this.own);
    const { stamp, settled } = stampOf(built.inputs.stamped);
    if (settled && built.inputs.reusable) {
      // The caller's variables are not kept.
      const kept = freezeShared({ ...structuredClone(built), env: {} });
      const entry: Entry = { reads: built.inputs.readNames.map((n) => [n, env[n]]), stamp, built: kept, facts: planFactsCheck(kept.inputs.facts, this.stamps, this.kinds) };
      const others = variants.filter((e) => e.reads.some(([name, value]) => env[name] !== value)).slice(-3);
      this.entries.delete(key);
      this.entries.set(key, [...others, entry]);
      // The least recently used go first, until the whole cache is within its bound.
      evictLeastRecent(this.entries, MAX_ENTRIES, key);
    }
    return built;
  }
}
