/**
 * What a session's processes run under: a policy *source* (a directory, or a file named
 * by direnv's `use sandbox`) → src/policy's resolvePolicy (the policy files in force are
 * floors there; a broken file keeps its last good version, recorded in sbx's state, or
 * the strict fallback). The supervisor reads every file itself; a hook only names the source.
 */
import { basename } from 'node:path';
import type { CompiledPolicy } from '../policy/compiled.js';
import { resolvePolicy, type BrokenFile } from '../policy/index.js';
import type { LastGoodStore } from '../policy/last-good.js';
import type { Env } from '../policy/paths.js';

export type PolicySource =
  | { kind: 'dir'; dir: string }
  | { kind: 'use'; file: string; dir: string }
  /** `sbx exec` through the native fast path: its flags (raw, after `exec`) from `cwd`; fixed for life. */
  | { kind: 'exec'; cwd: string; args: string[] };

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
  /** The project (or `use`) file in force, if any: where a suggested allow goes (src/policy/suggest.ts). */
  projectFile?: string;
  prompt: string;
  /** Broken files and what is in force instead: said every time the shell enters. */
  broken: BrokenFile[];
}

export function sourceKey(s: PolicySource): string {
  if (s.kind === 'exec') return `exec:${s.cwd}\0${s.args.join('\0')}`;
  return s.kind === 'dir' ? `dir:${s.dir}` : `use:${s.file}`;
}

/**
 * An exec source: the policy `sbx exec ARGS` builds in `cwd` with `env` (src/policy alone builds
 * it). Nothing is watched: a command keeps the policy it was started under.
 */
export async function resolveExecSource(source: PolicySource & { kind: 'exec' }, env: Env): Promise<ResolvedSource & { env: Record<string, string>; warnings: string[]; quiet: boolean; argv: string[]; defaultOrigins: Record<string, string> }> {
  const { parseExecCommandLine, defaultOriginsFor } = await import('../cli/exec.js');
  const { compileExecFlags } = await import('../policy/flags.js');
  const { flags, quiet, argv } = parseExecCommandLine(source.args);
  const compiled = await compileExecFlags(flags, { cwd: source.cwd, env });
  return {
    key: sourceKey(source),
    source,
    main: compiled.policy,
    overrides: compiled.overrides,
    files: [],
    watch: [],
    origin: 'sbx exec flags',
    trusted: compiled.trusted,
    prompt: 'sbx',
    broken: [],
    env: compiled.env,
    warnings: compiled.warnings,
    quiet,
    argv,
    defaultOrigins: defaultOriginsFor(flags),
  };
}

/** Resolves a source. A broken file does not throw: it is in `broken` (and in the prompt, as `!`). */
export async function resolveSource(source: PolicySource, env: Env, lastGood?: LastGoodStore): Promise<ResolvedSource> {
  if (source.kind === 'exec') return resolveExecSource(source, env);
  const spec = source.kind === 'dir' ? { dir: source.dir } : { dir: source.dir, use: source.file };
  const r = await resolvePolicy(spec, { env, onBroken: 'keep', lastGood });
  const project = source.kind === 'use' ? basename(source.dir) : r.projectFile ? basename(r.projectDir) : '';
  const mark = r.broken.length > 0 ? '!' : r.trusted ? '' : '?';
  const prompt = project ? `sbx:${project}${mark}` : `sbx${mark}`;
  return {
    key: sourceKey(source),
    source,
    main: r.policy,
    overrides: r.overrides,
    files: r.files,
    watch: r.watch,
    origin: r.origin,
    trusted: r.trusted,
    projectFile: source.kind === 'use' ? source.file : r.projectFile,
    prompt,
    broken: r.broken,
  };
}
