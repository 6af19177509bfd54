/**
 * The policy module's entry points for the supervisor, the hook and the CLI:
 *
 *   resolvePolicy(spec)      one policy source (a directory, `use FILE`, `--policy FILE`,
 *                            flags) → layers → the compiled policy and its overrides
 *                            (names not resolved), with broken files kept at their last
 *                            good version or the strict fallback (onBroken: 'keep').
 *   finishPolicy(p, facts)   (finish.ts) + the names' addresses, DNS, proxy port, unix
 *                            defaults → the policy an engine receives. src/net supplies
 *                            the facts; `sbx check` and `sbx policy` explain this too.
 */
import type { CompiledPolicy } from './compiled.js';
import { compileWithCommands } from './compile.js';
import { composeSpec, type BrokenFile, type ComposeOptions, type PolicySpec } from './compose.js';
import { recordBuildFacts } from './expand.js';
import type { Layer } from './compile.js';
import { PolicyError } from '../errors.js';

export interface ResolvedPolicy {
  /** The policy for processes in `dir` (local id 0). */
  policy: CompiledPolicy;
  /** Per-program overrides referenced from policy.commands (local ids 1..n). */
  overrides: CompiledPolicy[];
  /** Every policy file in force, for watching. */
  files: string[];
  /** files + paths whose creation or change alters the result (user config, trust db, project dir). */
  watch: string[];
  /** What else the build read from the filesystem (expand.ts buildFactsHold re-checks it). */
  facts: ReadonlyMap<string, string>;
  /** False when an untrusted file is in force (it could only narrow). */
  trusted: boolean;
  /** One line: where the policy comes from, e.g. "project /p/.sbx.yaml (untrusted)". */
  origin: string;
  projectFile?: string;
  projectDir: string;
  userFile?: string;
  useFile?: string;
  /** Allows of an untrusted file that were dropped. */
  dropped: string[];
  warnings: string[];
  /** Files that are broken: what is wrong (file:line:col) and what is in force instead. */
  broken: BrokenFile[];
}

export interface ResolveOptions extends ComposeOptions {
  /** Extra top layers (`sbx exec` flags). */
  top?: Layer[];
}

/**
 * Everything in force for a directory, compiled. With onBroken 'throw' (the default) a
 * bad file is a PolicyError (file:line:col for every problem).
 */
export async function resolvePolicyForDir(dir: string, options: ResolveOptions = {}): Promise<ResolvedPolicy> {
  return resolvePolicy({ dir, top: options.top }, options);
}

/** Every problem's file, from its `file:line:col: …` prefix. */
function issueFile(issue: string, files: string[]): string | undefined {
  return files.find((f) => issue.startsWith(`${f}:`));
}

export async function resolvePolicy(spec: PolicySpec, options: ComposeOptions = {}): Promise<ResolvedPolicy> {
  const { out, facts } = recordBuildFacts(() => resolveUncached(spec, options));
  return { ...out, facts };
}

function resolveUncached(spec: PolicySpec, options: ComposeOptions): Omit<ResolvedPolicy, 'facts'> {
  // A file whose entries do not compile is broken like one that does not parse: retry
  // with its last good version, then with the strict fallback.
  const compileIssues = new Map<string, { issues: string[]; lastGoodFailed: boolean }>();
  for (let attempt = 0; ; attempt++) {
    const c = composeSpec(spec, { ...options, compileIssues });
    let compiled;
    try {
      compiled = compileWithCommands(c.base, c.commands, spec.top ?? [], { env: c.env, home: c.home });
    } catch (err) {
      if (!(err instanceof PolicyError) || options.onBroken !== 'keep' || attempt > 2 * c.inForce.length) throw err;
      const files = c.inForce.filter((f) => f.role !== 'policy').map((f) => f.path);
      const byFile = new Map<string, string[]>();
      for (const issue of err.issues) {
        const f = issueFile(issue, files);
        if (!f) throw err;
        byFile.set(f, [...(byFile.get(f) ?? []), issue]);
      }
      for (const [f, issues] of byFile) {
        const prev = compileIssues.get(f);
        const inForce = c.inForce.find((x) => x.path === f);
        compileIssues.set(f, { issues: prev?.issues ?? issues, lastGoodFailed: !!prev || inForce?.broken?.kept === 'last good' });
      }
      continue;
    }
    const { main, overrides } = compiled;
    // What compiled is good: remember it (the supervisor's store records; the CLI's does not).
    for (const f of c.inForce) if (!f.broken && f.loaded && f.text !== undefined && f.role !== 'policy') options.lastGood?.put(f.path, f.text, f.loaded.sha256);
    const trustWord = (t: boolean) => (t ? 'trusted' : 'untrusted: can only narrow what applies here without it');
    const use = c.inForce.find((f) => f.role === 'use');
    const project = c.inForce.find((f) => f.role === 'project');
    const origin = use
      ? `use ${use.path} (${use.loaded ? trustWord(use.trusted) : 'broken: strict fallback'})`
      : project
        ? `project ${project.path} (${project.loaded ? trustWord(project.trusted) : 'broken: strict fallback'})`
        : c.userFile
          ? `user config ${c.userFile.file}`
          : c.inForce.some((f) => f.role === 'user')
            ? 'user config broken: strict fallback'
            : 'built-in defaults (preset secrets)';
    return {
      policy: main.policy,
      overrides,
      files: c.files,
      watch: c.watch,
      trusted: c.trusted,
      origin,
      projectFile: project?.path,
      projectDir: c.projectDir,
      userFile: c.inForce.find((f) => f.role === 'user')?.path,
      useFile: use?.path,
      dropped: main.dropped,
      warnings: [
        ...c.inForce
          .filter((f) => f.role === 'policy' && f.loaded && !f.trusted)
          .map((f) => `${f.path} changed since you first ran with it (by you, or by a program in a sandbox): it can only narrow until you run \`sbx trust ${f.path}\``),
        ...main.warnings,
      ],
      broken: c.broken,
    };
  }
}

/** One line per broken file, for notices and the CLI. */
export function brokenNotice(b: BrokenFile): string {
  const first = b.issues[0] ?? b.file;
  const more = b.issues.length > 1 ? ` (+${b.issues.length - 1} more)` : '';
  return b.kept === 'last good'
    ? `sbx: ${first}${more} — last good policy kept (the last good version of ${b.file})`
    : `sbx: ${first}${more} — no good version of ${b.file} known: strict fallback in force (system paths readable, the project and /tmp writable, no network)`;
}

export type { CompiledPolicy } from './compiled.js';
export type { BrokenFile, PolicySpec } from './compose.js';
export { finishPolicy, type FinishInputs, type FinishedPolicy } from './finish.js';
export { decidePath, decideExec, decideEnv, filterEnv } from './match.js';
export { decideNet, decideHost } from './net-match.js';
export * as paths from './paths.js';
