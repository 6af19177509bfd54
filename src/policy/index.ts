/**
 * The policy module's entry points for the supervisor, the hook and the CLI.
 */
import type { CompiledPolicy } from './compiled.js';
import { compileWithCommands, type Layer } from './compile.js';
import { composeForDir, type ComposeOptions } from './compose.js';
import { withCanonicalMemo } from './expand.js';

export interface ResolvedPolicy {
  /** The policy for processes in `dir` (local id 0). */
  policy: CompiledPolicy;
  /** Per-program overrides referenced from policy.commands (local ids 1..n; see renumberPolicies). */
  overrides: CompiledPolicy[];
  /** Every policy file in force, for watching. */
  files: string[];
  /** files + paths whose creation or change alters the result (user config, trust db, project dir). */
  watch: string[];
  /** False when an untrusted project file is in force (it could only narrow). */
  trusted: boolean;
  /** One line: where the policy comes from, e.g. "project /p/.sbx.yaml (untrusted)". */
  origin: string;
  projectFile?: string;
  projectDir: string;
  userFile?: string;
  /** Allows of an untrusted project that were dropped. */
  dropped: string[];
  warnings: string[];
}

export interface ResolveOptions extends ComposeOptions {
  /** Extra top layers (`sbx exec` flags, `--policy FILE`). */
  top?: Layer[];
}

/**
 * Everything in force for a directory, compiled. Throws PolicyError (with file:line:col
 * for every problem) when a file is bad; callers keep their last good policy.
 */
export async function resolvePolicyForDir(dir: string, options: ResolveOptions = {}): Promise<ResolvedPolicy> {
  return withCanonicalMemo(() => resolveUncached(dir, options));
}

async function resolveUncached(dir: string, options: ResolveOptions): Promise<ResolvedPolicy> {
  const c = composeForDir(dir, options);
  const { main, overrides } = await compileWithCommands(c.base, c.commands, options.top ?? [], { env: c.env, home: c.home });
  const origin = c.projectFile
    ? `project ${c.projectFile.file} (${c.trusted ? 'trusted' : 'untrusted: can only narrow the user policy'})`
    : c.userFile
      ? `user config ${c.userFile.file}`
      : 'built-in defaults (preset secrets)';
  return {
    policy: main.policy,
    overrides,
    files: c.files,
    watch: c.watch,
    trusted: c.trusted,
    origin,
    projectFile: c.projectFile?.file,
    projectDir: c.projectDir,
    userFile: c.userFile?.file,
    dropped: main.dropped,
    warnings: main.warnings,
  };
}

export type { CompiledPolicy } from './compiled.js';
export { renumberPolicies } from './compile.js';
export { decidePath, decideExec, decideEnv, filterEnv } from './match.js';
export { decideNet, decideHost } from './net-match.js';
export * as paths from './paths.js';
