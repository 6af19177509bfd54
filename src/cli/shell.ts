/**
 * `sbx shell [--] [PROGRAM ARGS...]`: run $SHELL (or PROGRAM) as a sandboxed session in
 * the current directory. On Linux this process becomes the launcher (execve): no node
 * stays resident; the session's policy follows its directory via the shell hook.
 */
import type { Command } from './main.js';
import { flag, parseArgs } from './args.js';
import { currentPlatform } from '../platform/index.js';

const usage = `usage: sbx shell [--check] [--follow-cd] [--] [PROGRAM ARGS...]

Runs your $SHELL (or PROGRAM) sandboxed, as a session served by the supervisor
(started on demand). The session ends when its last process exits.
  --check      only check that a session can start (exit 0, or say why not); the shell hook
               runs it once before re-executing an interactive shell inside a session
  --follow-cd  PROGRAM is an interactive shell with the sbx hook: its policy follows its
               directory (the hook passes it; $SHELL, with no PROGRAM, always follows).
               A PROGRAM without it keeps the policy of the directory it started in`;

async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, { check: {}, 'follow-cd': {} }, usage, { stopAtPositional: true });
  const argv = [...parsed.positionals, ...parsed.rest];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  if (flag(parsed, 'check')) return (await import('../hook/check.js')).checkSession(env);
  const program = argv.length > 0 ? argv : [env.SHELL || '/bin/sh'];
  // A command's own process must not move itself to another directory's policy (cd pushes
  // are the interactive shell's): only the hook's shell and the default $SHELL follow.
  const followsCd = argv.length === 0 || flag(parsed, 'follow-cd');
  return (await currentPlatform()).shell({ argv: program, cwd: process.cwd(), env, followsCd });
}

export const command: Command = { summary: 'start a sandboxed shell session', usage, run };
