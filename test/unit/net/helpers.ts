/** Builders shared by the net unit tests: a minimal CompiledPolicy around a net section. */
import type { CompiledPolicy, Effect, RuleOrigin } from '../../../src/policy/compiled.js';
import { compileNetEntries, type PolicyWithHosts } from '../../../src/net/index.js';

export function netPolicy(allow: string[] | undefined, deny: string[] = []): PolicyWithHosts {
  const origins: RuleOrigin[] = [];
  const entries: { text: string; effect: Effect; rule: number }[] = [];
  for (const [list, effect] of [[allow ?? [], 'allow'], [deny, 'deny']] as const) {
    for (const text of list) {
      entries.push({ text, effect, rule: origins.length });
      origins.push({ source: 'test', text, section: 'net' });
    }
  }
  const compiled = compileNetEntries(entries);
  if (compiled.errors.length > 0) throw new Error(compiled.errors.map((e) => e.message).join('; '));
  const empty = { default: 'allow' as const, rules: [] };
  const policy: CompiledPolicy = {
    id: 1,
    mode: 'enforce',
    read: empty,
    write: empty,
    exec: { default: 'allow', paths: [], programs: [] },
    net: { default: allow === undefined ? 'allow' : 'deny', rules: compiled.rules },
    unix: empty,
    commands: [],
    origins,
    env: { deny: [], allow: [] },
  };
  return { ...policy, net: { ...policy.net, hosts: compiled.hosts } };
}
