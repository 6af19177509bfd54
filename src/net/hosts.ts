/**
 * Host-name rules as the policy compiler emits them (`net.hosts`, HostRule in
 * src/policy/compiled.ts: `pattern` = a name or "*." + name). Parsing entries and matching
 * names live in src/policy/net-match.ts (parseNetEntry, decideHost); this module only
 * splits the rules into the two ways sbx enforces them:
 *   - exact names: resolved to addresses (A + AAAA), enforced by the engine at connect;
 *   - wildcards:   cannot be resolved ahead, enforced by the filtering proxy.
 */
import type { HostRule } from '../policy/compiled.js';

export type { HostRule } from '../policy/compiled.js';

export function isWildcard(h: HostRule): boolean {
  return h.pattern.startsWith('*.');
}

/** The distinct exact names to resolve. */
export function namesToResolve(hosts: readonly HostRule[]): string[] {
  return [...new Set(hosts.filter((h) => !isWildcard(h)).map((h) => h.pattern))];
}

/** Origin indices of exact-name rules: NetRules carrying them were resolved from a name. */
export function nameRuleIndices(hosts: readonly HostRule[]): Set<number> {
  return new Set(hosts.filter((h) => !isWildcard(h)).map((h) => h.rule));
}
