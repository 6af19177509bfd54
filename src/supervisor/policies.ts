/**
 * What a session's processes run under: a policy *source* (a directory, or a file named
 * by direnv's `use sandbox`) → src/policy's resolvePolicy (the policy files in force are
 * floors there; a broken file keeps its last good version, recorded in sbx's state, or
 * the strict fallback). The supervisor reads every file itself; a hook only names the source.
 */
import { basename, resolve } from 'node:path';
import type { CompiledPolicy } from '../policy/compiled.js';
import { recordReads } from '../policy/env-reads.js';
import { sourceWithFloorsOf, type FloorsFrom } from '../policy/floors-of.js';
import { resolvePolicy, type BrokenFile } from '../policy/index.js';
import type { LastGoodStore } from '../policy/last-good.js';
import type { Env } from '../policy/paths.js';
import { noteNamedPolicyFile } from '../policy/trust.js';

export type PolicySource =
  | { kind: 'dir'; dir: string }
  | { kind: 'use'; file: string; dir: string }
  /**
   * `sbx exec` through the native fast path: its flags (raw, after `exec`) from `cwd`; fixed for
   * life. `env`: the caller's variables the policy was built from (only those it read), so a
   * supervisor resuming the session builds the same policy (the keeper keeps the source).
   */
  | { kind: 'exec'; cwd: string; args: string[]; env?: Record<string, string> };

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
  /** Said once where a session starts under it (a named file the trust db could not record). */
  warnings: string[];
}

export function sourceKey(s: PolicySource): string {
  if (s.kind === 'exec') return `exec:${s.cwd}\0${s.args.join('\0')}`;
  return s.kind === 'dir' ? `dir:${s.dir}` : `use:${s.file}`;
}

/** What an exec build depended on, for exec-policy-cache.ts to re-check before reusing it. */
export interface ExecBuildInputs {
  /** The variables the build read, by name. */
  readNames: string[];
  /** The policy files in force plus paths whose change alters the result; the build's facts. */
  stamped: string[];
  facts: ReadonlyMap<string, string>;
  /**
   * False when a broken file's last good version (kept in sbx's state, rewritten whenever a
   * session compiles that file) or the strict fallback is in force: not stamped, so not kept.
   */
  reusable: boolean;
  /** The policy's env filter: a reuse applies it to the new caller's variables. */
  envFilter: { deny: string[]; allow: string[] };
}

export interface ResolvedExec extends ResolvedSource {
  /** The program's environment (the policy's env filter applied to all of the caller's). */
  env: Record<string, string>;
  quiet: boolean;
  argv: string[];
  defaultOrigins: Record<string, string>;
  inputs: ExecBuildInputs;
}

/**
 * An exec source: the policy `sbx exec ARGS` builds in `cwd` with `env` (src/policy alone builds
 * it), and the program's environment from `programEnv` (the caller's own: `env` may hold sbx's
 * places instead). Nothing is watched: a command keeps the policy it was started under.
 */
export async function resolveExecSource(source: PolicySource & { kind: 'exec' }, env: Env, programEnv: Record<string, string | undefined> = env): Promise<ResolvedExec> {
  const { parseExecCommandLine, defaultOriginsFor } = await import('../cli/exec.js');
  const { compileExecFlags } = await import('../policy/flags.js');
  const { filterEnv } = await import('../policy/match.js');
  const { flags, quiet, argv } = parseExecCommandLine(source.args);
  const reads = recordReads(env);
  const compiled = await compileExecFlags(flags, { cwd: source.cwd, env: reads.view });
  const named = flags.policyFile ? noteNamedPolicyFile(resolve(source.cwd, flags.policyFile), env) : undefined;
  if (named) compiled.warnings.push(named);
  return {
    key: sourceKey(source),
    source: { kind: 'exec', cwd: source.cwd, args: source.args, env: reads.read() },
    main: compiled.policy,
    overrides: compiled.overrides,
    files: [],
    watch: [],
    origin: 'sbx exec flags',
    trusted: compiled.trusted,
    prompt: 'sbx',
    broken: [],
    env: filterEnv(programEnv, compiled.envFilter), // the program's environment: from all of the caller's
    warnings: compiled.warnings,
    quiet,
    argv,
    defaultOrigins: defaultOriginsFor(flags),
    inputs: {
      readNames: reads.names(),
      stamped: [...new Set([...compiled.watch, ...compiled.files])],
      facts: compiled.facts,
      reusable: compiled.broken === 0,
      envFilter: compiled.envFilter,
    },
  };
}

/**
 * `sbx exec`'s policy as a supervisor serves it, at its start (exec-policy-cache.ts) and when a
 * supervisor resumes it after a restart (policy-cache.ts) alike: built from `env` (the caller's
 * variables with sbx's own places: caller-env.ts), plus the floors the same flags make from
 * the supervisor's own variables (`own`) when the build read others, and from the caller's
 * own places (`floors`) when they differ from the supervisor's (src/policy/floors-of.ts).
 */
export async function resolveServedExec(
  source: PolicySource & { kind: 'exec' },
  env: Env,
  programEnv: Record<string, string | undefined>,
  own: Env | undefined,
  floors?: Env,
): Promise<ResolvedExec> {
  let built = await resolveExecSource(source, env, programEnv);
  const add = async (from: Env, label?: FloorsFrom) => {
    const theirs = await resolveExecSource(source, from, programEnv);
    built = {
      ...sourceWithFloorsOf(built, theirs.main, label),
      inputs: {
        ...built.inputs,
        stamped: [...new Set([...built.inputs.stamped, ...theirs.inputs.stamped])],
        facts: new Map([...theirs.inputs.facts, ...built.inputs.facts]),
        reusable: built.inputs.reusable && theirs.inputs.reusable,
      },
    };
  };
  if (own && built.inputs.readNames.some((n) => own[n] !== env[n])) await add(own);
  if (floors) await add(floors, "the terminal's own HOME and XDG_*");
  return built;
}

/** Resolves a source. A broken file does not throw: it is in `broken` (and in the prompt, as `!`). */
export async function resolveSource(source: PolicySource, env: Env, lastGood?: LastGoodStore): Promise<ResolvedSource> {
  return (await resolveSourceWithFacts(source, env, lastGood)).resolved;
}

/**
 * resolveSource, with what the build read from the filesystem besides the files it stamps
 * (expand.ts buildFacts): a cache of the result re-checks them (policy-cache.ts).
 */
export async function resolveSourceWithFacts(source: PolicySource, env: Env, lastGood?: LastGoodStore): Promise<{ resolved: ResolvedSource; facts: ReadonlyMap<string, string> }> {
  // An exec source is built from its caller's variables (kept with the source), not ours.
  if (source.kind === 'exec') {
    const resolved = await resolveExecSource(source, source.env ?? env);
    return { resolved, facts: resolved.inputs.facts };
  }
  const spec = source.kind === 'dir' ? { dir: source.dir } : { dir: source.dir, use: source.file };
  const r = await resolvePolicy(spec, { env, onBroken: 'keep', lastGood });
  // A failure is said where the session starts; the file is still protected in the sessions it is in force in.
  const named = source.kind === 'use' ? noteNamedPolicyFile(resolve(source.dir, source.file), env) : undefined;
  const project = source.kind === 'use' ? basename(source.dir) : r.projectFile ? basename(r.projectDir) : '';
  const mark = r.broken.length > 0 ? '!' : r.trusted ? '' : '?';
  const prompt = project ? `sbx:${project}${mark}` : `sbx${mark}`;
  const resolved: ResolvedSource = {
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
    warnings: named ? [named] : [],
  };
  return { resolved, facts: r.facts };
}
