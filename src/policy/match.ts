/**
 * Decisions on a compiled policy, in TypeScript: the reference twin of the native
 * engine (decidePath must agree with native `decide_path` on
 * test/fixtures/decide-path-cases.json) and the basis of `sbx check`.
 */
import { basename } from 'node:path';
import type { Effect, ExecSection, PathRule, PathSection, ProgramRule } from './compiled.js';
import { globMatchDepth, globMatches, segments } from './glob.js';
import { dashedForm, subcommandStarts } from './exec-tools.js';

export interface Decision {
  effect: Effect;
  /** Index into origins of the deciding rule; -1 = the section default. */
  rule: number;
}

/** Depth of the prefix by which `r` matches the path, or -1. */
export function ruleMatchDepth(r: PathRule, path: string, pathSegs: string[] = segments(path)): number {
  if (r.match === 'glob') return globMatchDepth(r.pattern, pathSegs);
  if (r.match === 'exact') return globMatches(r.pattern, path) ? pathSegs.length : -1;
  const p = r.pattern;
  if (p === '/' || path === p || path.startsWith(`${p}/`)) return segments(p).length;
  return -1;
}

/** The algorithm documented at the top of compiled.ts, step by step. */
export function decidePathDetailed(section: PathSection, path: string): Decision & { index: number } {
  const segs = segments(path);
  let floor: { score: number; index: number } | undefined;
  let best: { score: number; effect: Effect; index: number } | undefined;
  section.rules.forEach((r, index) => {
    const depth = ruleMatchDepth(r, path, segs);
    if (depth < 0) return;
    const score = 2 * depth + (r.match === 'glob' ? 0 : 1);
    if (r.floor && r.effect === 'deny' && !floor) floor = { score, index };
    if (!best || score > best.score || (score === best.score && r.effect === 'deny' && best.effect === 'allow')) {
      best = { score, effect: r.effect, index };
    }
  });
  if (floor) return { effect: 'deny', rule: section.rules[floor.index]!.rule, index: floor.index };
  if (best) return { effect: best.effect, rule: section.rules[best.index]!.rule, index: best.index };
  return { effect: section.default, rule: -1, index: -1 };
}

export function decidePath(section: PathSection, path: string): Decision {
  const { effect, rule } = decidePathDetailed(section, path);
  return { effect, rule };
}

/** Whether a program rule's name matches an exec of `binary` (asked for as `requested`). */
export function programNameMatches(name: string, binary: string, requested: string): boolean {
  if (name.includes('/')) return name === binary;
  return name === basename(binary) || name === basename(requested);
}

/**
 * Program rules (by name; the engine also matches by identity): in each reading of the
 * arguments — a rule with a `tool` matches its args at the subcommand after the tool's
 * global options (exec-tools.ts), every reading counts — the rule with the most `args`
 * wins, deny on ties, first in order after that. Any reading that denies, denies.
 */
export function decideProgram(rules: ProgramRule[], binary: string, requested: string, asked: string[]): Decision | undefined {
  // git-core's `git-push` is `git push` (the engine matches it to git by identity).
  const argv = dashedForm(asked);
  const dashed = argv !== asked;
  const matched = rules.filter((r) => programNameMatches(r.name, binary, requested) || (dashed && r.name === 'git'));
  const starts = matched.map((r) => (r.tool ? subcommandStarts(argv, r.tool) : [1]));
  const readings = [...new Set(starts.flat())];
  if (readings.length === 0) readings.push(-1);
  let bestAllow: ProgramRule | undefined;
  for (const c of readings) {
    let best: ProgramRule | undefined;
    matched.forEach((r, i) => {
      if (r.args.length > 0 && (!starts[i]!.includes(c) || r.args.length > argv.length - c || r.args.some((a, k) => argv[c + k] !== a))) return;
      if (!best || r.args.length > best.args.length || (r.args.length === best.args.length && r.effect === 'deny' && best.effect === 'allow')) best = r;
    });
    const win = best as ProgramRule | undefined;
    if (win?.effect === 'deny') return { effect: 'deny', rule: win.rule };
    if (win && (!bestAllow || win.args.length > bestAllow.args.length)) bestAllow = win;
  }
  return bestAllow && { effect: bestAllow.effect, rule: bestAllow.rule };
}

export interface ExecDecision extends Decision {
  /** Which check decided: the read of the binary, the exec path rules, or a program rule. */
  by: 'read' | 'path' | 'program';
}

/** The exec rule from compiled.ts: read(B) ∧ exec.paths(B) ∧ no program rule denies. */
export function decideExec(
  read: PathSection,
  exec: ExecSection,
  binary: string,
  requested: string,
  argv: string[],
): ExecDecision {
  const r = decidePath(read, binary);
  if (r.effect === 'deny') return { ...r, by: 'read' };
  const p = decidePath({ default: exec.default, rules: exec.paths }, binary);
  if (p.effect === 'deny') return { ...p, by: 'path' };
  const prog = decideProgram(exec.programs, binary, requested, argv);
  if (prog) return { ...prog, by: 'program' };
  return { ...p, by: 'path' };
}

/** `*` in an env pattern = any run of characters. */
export function envPatternMatches(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`, 's');
  return re.test(name);
}

export interface EnvDecision {
  effect: Effect;
  /** The deciding pattern, or undefined for the default (keep). */
  pattern?: string;
}

/**
 * A variable is removed when the most specific matching pattern is a deny. Specificity
 * = number of literal (non-`*`) characters; deny wins ties. No match: kept.
 */
export function decideEnv(env: { deny: string[]; allow: string[] }, name: string): EnvDecision {
  let best: { spec: number; effect: Effect; pattern: string } | undefined;
  const consider = (pattern: string, effect: Effect) => {
    if (!envPatternMatches(pattern, name)) return;
    const spec = pattern.replace(/\*/g, '').length;
    if (!best || spec > best.spec || (spec === best.spec && effect === 'deny' && best.effect === 'allow')) best = { spec, effect, pattern };
  };
  for (const p of env.deny) consider(p, 'deny');
  for (const p of env.allow) consider(p, 'allow');
  return best ? { effect: best.effect, pattern: best.pattern } : { effect: 'allow' };
}

/** The environment a program launched into the policy gets. */
export function filterEnv(env: Record<string, string | undefined>, filter: { deny: string[]; allow: string[] }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && decideEnv(filter, k).effect === 'allow') out[k] = v;
  return out;
}
