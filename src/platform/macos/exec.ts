/**
 * `sbx exec` on macOS: `sandbox-exec -f <profile> <program> <args>`, the profile in a
 * private temp dir removed afterwards. Exit code passed through (128+signal when killed),
 * 127 when the program is not found — checked here, so the user sees the shell's answer
 * and not sandbox-exec's own error.
 */
import { spawn } from 'node:child_process';
import type { ExecRequest } from '../types.js';
import { seatbeltProfile } from './profile.js';
import { PrivateDir, exitStatus, findSandboxExec, which } from './sandbox-exec.js';

export interface MacosExecOptions {
  /** Path of sandbox-exec (default: findSandboxExec()). */
  sandboxExec?: string;
}

export async function macosExec(request: ExecRequest, options: MacosExecOptions = {}): Promise<number> {
  const [program, ...args] = request.argv;
  if (program === undefined) return 0;
  const resolved = which(program, request.env.PATH);
  if (!resolved) {
    process.stderr.write(`sbx: ${program}: command not found\n`);
    return 127;
  }
  const sandboxExec = options.sandboxExec ?? findSandboxExec(request.env.PATH ?? process.env.PATH);
  if (request.overrides.length > 0 && !request.quiet)
    process.stderr.write('sbx: note: per-program `commands:` overrides are not applied on macOS (one profile per run)\n');
  const dir = new PrivateDir();
  try {
    const profile = dir.writeProfile(seatbeltProfile(request.policy, { privateDir: dir.path }));
    // Raw spawn: the program gets the user's terminal; signals are forwarded by hand below.
    const child = spawn(sandboxExec, ['-f', profile, resolved, ...args], {
      cwd: request.cwd,
      env: request.env,
      stdio: 'inherit',
    });
    // Like a shell: ^C and ^\ are for the program (same process group), not for us.
    const ignore = () => {};
    const forward = () => child.kill('SIGTERM');
    process.on('SIGINT', ignore).on('SIGQUIT', ignore).on('SIGTERM', forward).on('SIGHUP', forward);
    try {
      return await new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code, signal) => resolve(exitStatus(code, signal)));
      });
    } finally {
      process.off('SIGINT', ignore).off('SIGQUIT', ignore).off('SIGTERM', forward).off('SIGHUP', forward);
    }
  } finally {
    dir.remove();
  }
}
