/**
 * Builds the CompiledPolicy handed to the engine from a policy whose hostnames are still
 * names (`net.hosts`): resolved addresses become NetRules with the name's own origin and
 * effect; the DNS servers (see dns.ts) and the proxy's loopback port are allowed with
 * origins of their own. Pure: no I/O, so the refresher can rebuild it at will.
 */
import type { CompiledPolicy, NetRule, RuleOrigin } from '../policy/compiled.js';
import type { HostRule } from './hosts.js';
import { netRule, parseIp } from './ip.js';

export interface BuildInput {
  /** The policy as compiled from YAML/flags; its `net.hosts` (if any) is ignored here. */
  base: CompiledPolicy;
  hosts: HostRule[];
  /** name → addresses currently allowed/denied for it. */
  resolved: ReadonlyMap<string, readonly string[]>;
  nameservers: readonly string[];
  /** The filtering proxy's port on 127.0.0.1, when one runs. */
  proxyPort?: number;
}

/** True when DNS must be reachable: some name is allowed and the default denies. */
export function needsDns(base: CompiledPolicy, hosts: HostRule[]): boolean {
  return base.net.default === 'deny' && hosts.some((h) => h.effect === 'allow' && h.name !== 'localhost');
}

export function buildPolicy(input: BuildInput): CompiledPolicy {
  const { base, hosts } = input;
  const origins: RuleOrigin[] = [...base.origins];
  const rules: NetRule[] = [...base.net.rules];
  for (const h of hosts) {
    if (h.kind !== 'name' || h.name === 'localhost') continue;
    for (const a of input.resolved.get(h.name) ?? []) {
      const ip = parseIp(a);
      if (ip) rules.push(netRule(h.rule, h.effect, ip, ip.family === 4 ? 32 : 128, h.portLo, h.portHi));
    }
  }
  if (needsDns(base, hosts)) {
    for (const ns of input.nameservers) {
      const ip = parseIp(ns);
      if (!ip) continue;
      const rule = origins.length;
      origins.push({ source: 'built-in (sbx net)', text: `dns ${ns}:53 (for allowed names)`, section: 'net' });
      rules.push(netRule(rule, 'allow', ip, ip.family === 4 ? 32 : 128, 53, 53));
    }
  }
  if (input.proxyPort !== undefined) {
    const rule = origins.length;
    origins.push({ source: 'built-in (sbx net)', text: `proxy 127.0.0.1:${input.proxyPort}`, section: 'net' });
    rules.push(netRule(rule, 'allow', parseIp('127.0.0.1')!, 32, input.proxyPort, input.proxyPort));
  }
  const { default: def } = base.net;
  return { ...base, origins, net: { default: def, rules } };
}
