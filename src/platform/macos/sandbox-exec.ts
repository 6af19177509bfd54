/**
 * Finding sandbox-exec and handing it a profile file. The profile lives in a private
 * directory (0700, file 0600) so nothing else can read it or swap it before sandbox-exec
 * loads it; the directory is removed when the run ends.
 */
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { SbxError } from '../../errors.js';

/** The system one; Apple ships it here on every macOS release. */
export const SYSTEM_SANDBOX_EXEC = '/usr/bin/sandbox-exec';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Looks `name` up like a shell (names with a "/" are taken as they are). */
export function which(name: string, path: string | undefined): string | undefined {
  if (name.includes('/')) return executable(name) ? name : undefined;
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * /usr/bin/sandbox-exec when it exists (always, on a Mac: a sandboxed process cannot plant
 * a fake one earlier on PATH). Elsewhere — only the Linux tests of this backend — the
 * first `sandbox-exec` on PATH, which is the recording stand-in.
 */
export function findSandboxExec(path: string | undefined = process.env.PATH): string {
  if (executable(SYSTEM_SANDBOX_EXEC)) return SYSTEM_SANDBOX_EXEC;
  const found = which('sandbox-exec', path);
  if (found) return found;
  throw new SbxError('sandbox-exec not found: sbx cannot sandbox on this Mac', {
    exitCode: 70,
    hint: `${SYSTEM_SANDBOX_EXEC} ships with macOS; check that it exists and is executable (sbx never runs unsandboxed)`,
  });
}

/** A private directory for one sbx run: profile files, the control FIFO. */
export class PrivateDir {
  readonly path: string;
  private counter = 0;
  constructor(prefix = 'sbx-macos-') {
    this.path = mkdtempSync(join(tmpdir(), prefix)); // mkdtemp creates it 0700
  }
  /** Writes a new profile file (0600) and returns its path. */
  writeProfile(text: string): string {
    const file = join(this.path, `profile-${++this.counter}.sb`);
    writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
    return file;
  }
  removeFile(file: string): void {
    rmSync(file, { force: true });
  }
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** Exit status the way a shell reports it: the code, or 128 + signal number. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? osConstants.signals[signal] : undefined;
  return 128 + (n ?? 0);
}
