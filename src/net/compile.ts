/**
 * Builds the CompiledPolicy handed to the engine from the compiler's policy and the
 * current resolutions: the NetRules the compiler derived from exact names are replaced by
 * fresh ones (same origin, effect and ports); DNS servers (see dns.ts) and the proxy's
 * loopback port are allowed with origins of their own. Pure: no I/O, so the refresher can
 * rebuild it at will.
 */
import type { CompiledPolicy, HostRule, NetRule, RuleOrigin } from '../policy/compiled.js';
import { decideNet } from '../policy/net-match.js';
import { isWildcard, nameRuleIndices } from './hosts.js';
import { hostRule } from './ip.js';

export interface BuildInput {
  /** The policy as compiled from YAML/flags (its net.hosts are the names). */
  base: CompiledPolicy;
  /** name → addresses currently known for it. */
  resolved: ReadonlyMap<string, readonly string[]>;
  nameservers: readonly string[];
  /** The filtering proxy's port on 127.0.0.1, when one runs. */
  proxyPort?: number;
}

/** True when DNS must be reachable: some name is allowed and the default denies. */
export function needsDns(base: CompiledPolicy): boolean {
  return base.net.default === 'deny' && (base.net.hosts ?? []).some((h) => h.effect === 'allow');
}

/** The policy's NetRules without the ones resolved from names (those are rebuilt). */
export function addressRules(base: CompiledPolicy): NetRule[] {
  const fromNames = nameRuleIndices(base.net.hosts ?? []);
  return base.net.rules.filter((r) => !fromNames.has(r.rule));
}

export function buildPolicy(input: BuildInput): CompiledPolicy {
  const { base } = input;
  const hosts: HostRule[] = base.net.hosts ?? [];
  const origins: RuleOrigin[] = [...base.origins];
  const rules = addressRules(base);
  for (const h of hosts) {
    if (isWildcard(h)) continue;
    for (const a of input.resolved.get(h.pattern) ?? []) {
      const r = hostRule(h.rule, h.effect, a, h.portLo, h.portHi);
      if (r) rules.push(r);
    }
  }
  if (needsDns(base)) {
    // Skip servers the policy already allows on 53 (the compiler may have added them).
    const missing = input.nameservers.filter((ns) => decideNet({ default: 'deny', rules }, ns, 53).effect !== 'allow');
    if (missing.length > 0) {
      const rule = origins.length;
      origins.push({ source: 'built-in: DNS for allowed host names', text: missing.map((s) => `${s}:53`).join(' '), section: 'net' });
      for (const ns of missing) {
        const r = hostRule(rule, 'allow', ns, 53, 53);
        if (r) rules.push(r);
      }
    }
  }
  if (input.proxyPort !== undefined) {
    const rule = origins.length;
    origins.push({ source: 'built-in: sbx filtering proxy', text: `127.0.0.1:${input.proxyPort}`, section: 'net' });
    rules.push(hostRule(rule, 'allow', '127.0.0.1', input.proxyPort, input.proxyPort)!);
  }
  const net = { ...base.net, rules };
  if (input.proxyPort !== undefined) net.proxyPort = input.proxyPort;
  else delete net.proxyPort;
  return { ...base, origins, net };
}
