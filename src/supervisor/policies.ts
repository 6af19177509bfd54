/**
 * What a session's processes run under: a policy *source* (a directory, or a file named
 * by direnv's `use sandbox`) resolved by the policy module, hardened with the floors the
 * supervisor adds itself (the policy files in force cannot be written from inside).
 * The supervisor reads every file itself; a hook only names the source.
 */
import { basename } from 'node:path';
import type { CompiledPolicy, PathRule } from '../policy/compiled.js';
import { resolvePolicyForDir } from '../policy/index.js';
import type { Layer } from '../policy/compile.js';
import { canonicalPath } from '../policy/expand.js';
import { loadPolicyFile, type KeyPath } from '../policy/load.js';
import { isTrusted } from '../policy/trust.js';
import type { Env } from '../policy/paths.js';

export type PolicySource = { kind: 'dir'; dir: string } | { kind: 'use'; file: string; dir: string };

export interface ResolvedSource {
  /** Identity within a session: same key → same policy ids. */
  key: string;
  source: PolicySource;
  main: CompiledPolicy;
  overrides: CompiledPolicy[];
  files: string[];
  /** files + paths whose appearance or change would alter the result (for the cache's stamp). */
  watch: string[];
  origin: string;
  trusted: boolean;
  prompt: string;
}

export function sourceKey(s: PolicySource): string {
  return s.kind === 'dir' ? `dir:${s.dir}` : `use:${s.file}`;
}

/** `use sandbox FILE`: the file as the top project layer, with the same trust rule as a project file. */
function useLayer(file: string, env: Env): { layer: Layer; trusted: boolean } {
  const f = loadPolicyFile(file, 'project');
  const trusted = isTrusted(f.file, f.sha256, env);
  const { version: _v, extends: _e, commands: _c, ...body } = f.data as typeof f.data & { protect?: unknown };
  delete (body as { protect?: unknown }).protect;
  return {
    layer: { source: f.file, body, baseDir: f.dir, trusted, where: (p: KeyPath) => f.where(p), fileLayer: true },
    trusted,
  };
}

/** Floors the supervisor adds: no process may write a policy file in force. */
function harden(p: CompiledPolicy, files: string[]): void {
  for (const file of files) {
    let pattern: string;
    try {
      pattern = canonicalPath(file);
    } catch {
      continue;
    }
    const rule = p.origins.length;
    p.origins.push({ source: 'sbx supervisor (policy file in force)', text: file, section: 'protect' });
    const r: PathRule = { rule, effect: 'deny', match: 'subtree', pattern, floor: true };
    p.write.rules.push(r);
  }
}

/** Resolves a source; throws PolicyError (file:line:col) when a file is bad. */
export async function resolveSource(source: PolicySource, env: Env): Promise<ResolvedSource> {
  let r;
  let trusted: boolean;
  if (source.kind === 'dir') {
    r = await resolvePolicyForDir(source.dir, { env });
    trusted = r.trusted;
  } else {
    const u = useLayer(source.file, env);
    r = await resolvePolicyForDir(source.dir, { env, top: [u.layer] });
    trusted = r.trusted && u.trusted;
    r.files = [...new Set([...r.files, u.layer.source])];
    r.origin = `use ${u.layer.source} (${u.trusted ? 'trusted' : 'untrusted: can only narrow the user policy'})`;
  }
  const files = r.files;
  harden(r.policy, files);
  for (const o of r.overrides) harden(o, files);
  const project = source.kind === 'use' ? basename(source.dir) : r.projectFile ? basename(r.projectDir) : '';
  const prompt = project ? `sbx:${project}${trusted ? '' : '?'}` : 'sbx';
  return {
    key: sourceKey(source),
    source,
    main: r.policy,
    overrides: r.overrides,
    files,
    watch: r.watch,
    origin: r.origin,
    trusted,
    prompt,
  };
}

/** Names a rule for the log: "/p/.sbx.yaml:4:10 read.deny ~/.ssh", "read default", "built-in". */
export function describeRule(p: CompiledPolicy | undefined, rule: number, op: string): string {
  if (rule === -2) return 'built-in';
  if (rule === -1 || !p) return `${op} default`;
  const o = p.origins[rule];
  return o ? `${o.source} ${o.section} ${o.text}` : `rule ${rule}`;
}
