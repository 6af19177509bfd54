/**
 * Names the rule behind an engine or proxy decision (the rule index the engine reports:
 * -2 built-in, -1 the section default, else an index into the policy's origins). One
 * owner for both wordings: the supervisor's log and `sbx exec`'s terminal lines.
 */
import { GIT_DIR_RULE, OUTER_RULE, type CompiledPolicy, type RuleOrigin } from './compiled.js';

/** Why the git-directory guard refused (a HEAD makes any directory a repository to git). */
export const GIT_DIR_WHY =
  'git directory: a HEAD next to a config or commondir git would run code from outside; only the keys git init/clone write are allowed there';

/** The origin a rule index names, 'built-in', or undefined for a default (or an unknown index). */
export function ruleOrigin(p: CompiledPolicy | undefined, rule: number): RuleOrigin | 'built-in' | undefined {
  if (rule === -2) return 'built-in';
  return rule >= 0 ? p?.origins[rule] : undefined;
}

/** For violations.jsonl: "/p/.sbx.yaml:4:10 read.deny ~/.ssh", "read default", "built-in". */
export function describeRule(p: CompiledPolicy | undefined, rule: number, op: string): string {
  if (rule === -2) return 'built-in';
  if (rule === OUTER_RULE) return 'the policy sbx exec was started under (a nested sandbox only narrows it)';
  if (rule === GIT_DIR_RULE) return `built-in: ${GIT_DIR_WHY}`;
  if (rule === -1 || !p) return `${op} default`;
  const o = ruleOrigin(p, rule);
  return o && o !== 'built-in' ? `${o.source} ${o.section} ${o.text}` : `rule ${rule}`;
}

/** For a terminal line: "--deny-read", "/p/.sbx.yaml:7:5: ~/.ssh", "default", "built-in" (`defaults` names each op's default). */
export function describeRuleShort(p: CompiledPolicy | undefined, rule: number, op: string, defaults: Partial<Record<string, string>> = {}): string {
  if (rule === OUTER_RULE) return 'the enclosing sandbox';
  if (rule === GIT_DIR_RULE) return GIT_DIR_WHY;
  const o = ruleOrigin(p, rule);
  if (o === 'built-in') return 'built-in';
  if (!o) return defaults[op] ?? 'default';
  return o.text && !o.source.includes(o.text) ? `${o.source}: ${o.text}` : o.source;
}
