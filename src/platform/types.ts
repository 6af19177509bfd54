/**
 * What every platform backend offers. src/platform/index.ts picks one; nothing outside
 * src/platform/ may branch on process.platform.
 */
import type { CompiledPolicy } from '../policy/compiled.js';

export interface ExecRequest {
  /** The policy the program runs under, plus any per-program override policies it references. */
  policy: CompiledPolicy;
  overrides: CompiledPolicy[];
  /** argv[0] is looked up on PATH like a shell does; not found → exit 127. */
  argv: string[];
  cwd: string;
  /** The environment the program gets (already filtered by the env policy). */
  env: Record<string, string>;
  /** The caller's whole environment, which the policy was built from: sbx's launch variables and the user's own proxy are taken from it. */
  callerEnv: Record<string, string>;
  /** Silence sbx's one-line denial notices on stderr. */
  quiet: boolean;
  /** Why a section's default is deny (e.g. read: "--deny-read"), for denials decided by the default. */
  defaultOrigins?: Partial<Record<'read' | 'write' | 'exec' | 'net' | 'unix', string>>;
}

export interface ShellRequest {
  /** Program and args to run as the session's root; default [$SHELL]. */
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /**
   * The program is the user's interactive shell (the hook's re-exec, or $SHELL by default):
   * its policy follows its directory (cd pushes). A command named by the user does not.
   */
  followsCd: boolean;
}

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** What does not work without it, and how to fix it. */
  consequence?: string;
}

export interface DoctorReport {
  platform: string;
  /** False when sbx cannot sandbox at all on this machine. */
  usable: boolean;
  checks: DoctorCheck[];
}

export interface Platform {
  readonly name: 'linux' | 'macos';
  /** Runs request.argv sandboxed; resolves to its exit code (128+signal when killed). */
  exec(request: ExecRequest): Promise<number>;
  /** Starts an interactive sandboxed session for `sbx shell`; resolves to its exit code (may never return: exec). */
  shell(request: ShellRequest): Promise<number>;
  doctor(): Promise<DoctorReport>;
}
