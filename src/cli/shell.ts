/**
 * `sbx shell [--] [PROGRAM ARGS...]`: run $SHELL (or PROGRAM) as a sandboxed session in
 * the current directory. On Linux this process becomes the launcher (execve): no node
 * stays resident; the session's policy follows its directory via the shell hook.
 */
import type { Command } from './main.js';
import { flag, parseArgs } from './args.js';
import { currentPlatform } from '../platform/index.js';

const usage = `usage: sbx shell [--check] [--] [PROGRAM ARGS...]

Runs your $SHELL (or PROGRAM) sandboxed, as a session served by the supervisor
(started on demand). The session ends when its last process exits.
  --check   only check that a session can start (exit 0, or say why not); the shell hook
            runs it once before re-executing an interactive shell inside a session`;

async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, { check: {} }, usage, { stopAtPositional: true });
  const argv = [...parsed.positionals, ...parsed.rest];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  if (flag(parsed, 'check')) return (await import('../hook/check.js')).checkSession(env);
  const program = argv.length > 0 ? argv : [env.SHELL || '/bin/sh'];
  return (await currentPlatform()).shell({ argv: program, cwd: process.cwd(), env });
}

export const command: Command = { summary: 'start a sandboxed shell session', usage, run };
