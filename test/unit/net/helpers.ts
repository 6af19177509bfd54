/** Builders shared by the net unit tests: a CompiledPolicy with only a net section, as the compiler would emit it (names unresolved). */
import type { CompiledPolicy, Effect, HostRule, NetRule, RuleOrigin } from '../../../src/policy/compiled.js';
import { parseNetEntry } from '../../../src/policy/net-match.js';

export function netPolicy(allow: string[] | undefined, deny: string[] = []): CompiledPolicy {
  const origins: RuleOrigin[] = [];
  const rules: NetRule[] = [];
  const hosts: HostRule[] = [];
  for (const [list, effect] of [[allow ?? [], 'allow'], [deny, 'deny']] as [string[], Effect][]) {
    for (const text of list) {
      const rule = origins.length;
      origins.push({ source: 'test', text, section: 'net' });
      for (const e of parseNetEntry(text)) {
        if (e.kind === 'ip') rules.push({ rule, effect, family: e.family, address: e.address, prefix: e.prefix, portLo: e.portLo, portHi: e.portHi });
        else hosts.push({ rule, effect, pattern: e.pattern, portLo: e.portLo, portHi: e.portHi });
      }
    }
  }
  const empty = { default: 'allow' as const, rules: [] };
  return {
    id: 1,
    mode: 'enforce',
    read: empty,
    write: empty,
    exec: { default: 'allow', paths: [], programs: [] },
    net: { default: allow === undefined ? 'allow' : 'deny', rules, hosts },
    unix: empty,
    commands: [],
    origins,
    env: { deny: [], allow: [] },
  };
}
