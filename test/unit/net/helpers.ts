/** Builders shared by the net unit tests: a CompiledPolicy with only a net section, as the compiler would emit it (names unresolved). */
import type { CompiledPolicy, Effect, HostRule, NetRule, NetSection, RuleOrigin } from '../../../src/policy/compiled.js';
import { hostRule, ipRule, parseNetEntry } from '../../../src/policy/net-match.js';

/** The net section (and its origins) the compiler would emit for these lists, names unresolved. */
export function netSection(allow: string[] | undefined, deny: string[], origins: RuleOrigin[], source: string): NetSection {
  const rules: NetRule[] = [];
  const hosts: HostRule[] = [];
  for (const [list, effect] of [[allow ?? [], 'allow'], [deny, 'deny']] as [string[], Effect][]) {
    for (const text of list) {
      const rule = origins.length;
      origins.push({ source, text, section: 'net' });
      for (const e of parseNetEntry(text)) {
        if (e.kind === 'ip') rules.push(ipRule(e, rule, effect));
        else hosts.push(hostRule(e, rule, effect));
      }
    }
  }
  return { default: allow === undefined ? 'allow' : 'deny', rules, hosts };
}

export function netPolicy(allow: string[] | undefined, deny: string[] = []): CompiledPolicy {
  const origins: RuleOrigin[] = [];
  const net = netSection(allow, deny, origins, 'test');
  const empty = { default: 'allow' as const, rules: [] };
  return {
    id: 1,
    mode: 'enforce',
    read: empty,
    write: empty,
    exec: { default: 'allow', paths: [], programs: [] },
    net,
    unix: empty,
    commands: [],
    origins,
    env: { deny: [], allow: [] },
  };
}
