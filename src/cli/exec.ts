/**
 * `sbx exec [flags] [--policy FILE] [--quiet] -- CMD ARGS`: runs one command sandboxed,
 * with mise-compatible flags. Exit code = the command's (128+signal when killed), 127
 * when it is not found, 2 for a bad command line.
 */
import type { Command } from './main.js';
import { flag, parseArgs, type FlagSpec } from './args.js';
import { UsageError } from '../errors.js';
import { currentPlatform } from '../platform/index.js';
import type { ExecRequest } from '../platform/types.js';
import { compileExecFlags, EXEC_FLAG_SPEC, execFlagsFromArgs, type ExecFlags } from '../policy/flags.js';
import { SbxError } from '../errors.js';
import { narrowInside } from '../protocol/inside.js';
import { noteNamedPolicyFile } from '../policy/trust.js';
import { resolve } from 'node:path';
import { filterEnv } from '../policy/match.js';
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/** Runs the command as our child (it inherits the nested policy); its exit code, 128+signal when killed. */
function runNested(argv: string[], envFilter: { deny: string[]; allow: string[] } | undefined): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env: envFilter ? filterEnv(process.env, envFilter) : process.env });
    // Like a shell: ^C goes to the command (same process group), not to us.
    const ignore = () => {};
    process.on('SIGINT', ignore);
    child.on('error', (err: NodeJS.ErrnoException) => {
      process.stderr.write(`sbx: ${argv[0]}: ${err.code === 'ENOENT' ? 'command not found' : err.message}\n`);
      resolve(err.code === 'ENOENT' ? 127 : 126);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}

const usage = `usage: sbx exec [flags] [--policy FILE] [--quiet] -- CMD [ARGS...]

Runs CMD in the sandbox. Flags (mise-compatible; repeatable; comma lists; wildcards):
  --deny-all            all of the --deny-* below
  --deny-read           no reads outside system paths (/usr, /lib, /bin, /etc, …), /tmp, $TMPDIR
                        and (with no --allow-read) the working directory unless it holds ~
  --deny-write          no writes outside /tmp and /dev
  --deny-net            no network, loopback included
  --deny-env            only PATH HOME USER SHELL TERM LANG (and --allow-env) survive
  --allow-read=PATH     readable (implies --deny-read elsewhere)
  --allow-write=PATH    writable and readable (implies --deny-write elsewhere)
  --allow-net=HOST      reachable: name, IP, localhost, HOST:PORT (implies --deny-net elsewhere)
  --allow-env=VAR       passed through, e.g. --allow-env='NODE_*' (implies --deny-env)
  --policy FILE         a .sbx.yaml-style policy file (combined with the flags)
  -q, --quiet           no "sbx: denied …" lines on stderr`;

const spec: Record<string, FlagSpec> = { ...EXEC_FLAG_SPEC, quiet: { short: 'q' } };

/** Which flag made each section deny by default, for denial lines decided by the default. */
export function defaultOriginsFor(flags: ExecFlags): NonNullable<ExecRequest['defaultOrigins']> {
  const out: NonNullable<ExecRequest['defaultOrigins']> = {};
  const sections = [
    ['read', flags.denyRead, flags.allowRead],
    ['write', flags.denyWrite, flags.allowWrite],
    ['net', flags.denyNet, flags.allowNet],
  ] as const;
  for (const [section, deny, allows] of sections) {
    if (flags.denyAll) out[section] = '--deny-all';
    else if (deny) out[section] = `--deny-${section}`;
    else if (allows.length > 0) out[section] = `--allow-${section} (implies --deny-${section})`;
  }
  return out;
}

/**
 * The command line after `exec`: flags, quiet, the command. Throws a UsageError. Shared with
 * the supervisor, which parses the native fast path's raw request with it (one parser).
 */
export function parseExecCommandLine(args: string[]): { flags: ExecFlags; quiet: boolean; argv: string[] } {
  const parsed = parseArgs(args, spec, usage, { stopAtPositional: true });
  const argv = [...parsed.positionals, ...parsed.rest];
  if (argv.length === 0) throw new UsageError('missing the command to run', usage);
  return { flags: execFlagsFromArgs(parsed), quiet: flag(parsed, 'quiet'), argv };
}

async function run(args: string[]): Promise<number> {
  const { flags, quiet, argv } = parseExecCommandLine(args);
  // Inside a session (a nested seccomp listener is refused): the session's engine narrows
  // this process to the flags' policy intersected with its own, then the command runs as
  // our child, inheriting it.
  const nested = narrowInside(args.slice(0, args.length - argv.length).filter((a) => a !== '--' && a !== '-q' && a !== '--quiet'));
  if (nested) {
    if (nested.error) throw new SbxError(`sbx exec inside a sandbox: ${String(nested.error)}`, { exitCode: 70 });
    return runNested(argv, nested.env as { deny: string[]; allow: string[] } | undefined);
  }
  const cwd = process.cwd();
  // User + project policy for cwd, then --policy FILE, then the flags on top.
  const compiled = await compileExecFlags(flags, { cwd, env: process.env });
  // A file the user named is a floor in every sandbox from now on (trust.ts TrustDb.named).
  const named = flags.policyFile ? noteNamedPolicyFile(resolve(cwd, flags.policyFile)) : undefined;
  if (named) compiled.warnings.push(named);
  if (!quiet) for (const w of compiled.warnings) process.stderr.write(`sbx: warning: ${w}\n`);
  const platform = await currentPlatform();
  return platform.exec({
    policy: compiled.policy,
    overrides: compiled.overrides,
    argv,
    cwd,
    env: compiled.env,
    callerEnv: Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined)),
    quiet,
    defaultOrigins: defaultOriginsFor(flags),
  });
}

export const command: Command = {
  summary: 'run one command in the sandbox (mise-compatible --deny-*/--allow-* flags)',
  usage,
  run,
};
