/**
 * A supervisor builds a session's policy from the session's variables (PATH, ZDOTDIR,
 * PERL5LIB, …) but serves many terminals and runs code of its own from its own PATH: a place
 * the supervisor's variables make a floor is a place something outside runs from too (the
 * `node` a restarted supervisor runs, the zsh start files of the terminal that started it).
 * So the floors of the same source built from the supervisor's variables are added to the
 * session's: floors only add denies, so the union is never wider than either. The same holds
 * the other way for a terminal whose own HOME and XDG_* differ from the supervisor's (sbx's
 * own places stay the supervisor's): the floors of its own places are added too.
 *
 * The home configuration deny (home-config.ts: every dot-entry of the home, the XDG dirs kept
 * elsewhere) is a default, not a floor, but it is what keeps code that runs later outside out
 * of reach, and its home is the one the variables name: it is carried over too, with its
 * exceptions (histories, the sandbox's cache) only where the policy, apart from its own home
 * configuration deny, allows them.
 */
import type { CompiledPolicy, PathRule, PathSection, RuleOrigin } from './compiled.js';
import { HOME_CONFIG_ORIGIN } from './home-config.js';
import { decidePath } from './match.js';

const key = (r: PathRule) => `${r.effect}\0${r.match}\0${r.pattern}`;
/** The path a literal pattern names (expand.ts escapeGlob escapes \\, * and ?). */
const unescapeGlob = (pattern: string) => pattern.replace(/\\(.)/g, '$1');

/** Whose variables built `other`: said in the origin of each floor it adds. */
export type FloorsFrom = "the supervisor's environment" | "the terminal's own HOME and XDG_*";

/** `policy` with every deny floor of `other` it lacks (read, write, unix, exec paths) and its home configuration deny; `policy` is not changed. */
export function withFloorsOf(policy: CompiledPolicy, other: CompiledPolicy, from: FloorsFrom = "the supervisor's environment"): CompiledPolicy {
  const origins: RuleOrigin[] = [...policy.origins];
  const moved = new Map<number, number>();
  const originOf = (rule: number): number => {
    let at = moved.get(rule);
    if (at === undefined) {
      const o = other.origins[rule];
      origins.push(o ? { ...o, source: `${o.source} (${from})` } : { source: `built-in (${from})`, text: '', section: 'protect' });
      at = origins.length - 1;
      moved.set(rule, at);
    }
    return at;
  };
  const merge = (mine: PathSection, theirs: PathSection, homeConfig = false): PathSection => {
    const have = new Set(mine.rules.map(key));
    const isHomeConfig = (r: PathRule) => homeConfig && other.origins[r.rule]?.source === HOME_CONFIG_ORIGIN;
    // An exception holds where the policy apart from its own home configuration deny allows
    // (compile.ts homeConfigExceptions): not under --deny-write, nor a rule of the user's.
    const apart: PathSection = { ...mine, rules: mine.rules.filter((r) => policy.origins[r.rule]?.source !== HOME_CONFIG_ORIGIN) };
    const added = theirs.rules
      .filter((r) => !have.has(key(r)))
      .filter((r) => (r.effect === 'deny' && (r.floor || isHomeConfig(r))) || (r.effect === 'allow' && isHomeConfig(r) && r.match === 'subtree' && decidePath(apart, unescapeGlob(r.pattern)).effect === 'allow'))
      .map((r) => ({ ...r, rule: originOf(r.rule) }));
    return added.length === 0 ? mine : { ...mine, rules: [...mine.rules, ...added] };
  };
  const read = merge(policy.read, other.read);
  const write = merge(policy.write, other.write, true);
  const unix = merge(policy.unix, other.unix);
  const execPaths = merge({ default: policy.exec.default, rules: policy.exec.paths }, { default: other.exec.default, rules: other.exec.paths }).rules;
  if (origins.length === policy.origins.length) return policy;
  return { ...policy, origins, read, write, unix, exec: { ...policy.exec, paths: execPaths } };
}

/** A source's policies (its main one and each command override's) with every deny floor of `floors` they lack. */
export function sourceWithFloorsOf<T extends { main: CompiledPolicy; overrides: CompiledPolicy[] }>(resolved: T, floors: CompiledPolicy, from?: FloorsFrom): T {
  return { ...resolved, main: withFloorsOf(resolved.main, floors, from), overrides: resolved.overrides.map((o) => withFloorsOf(o, floors, from)) };
}
