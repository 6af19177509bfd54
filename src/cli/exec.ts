/**
 * `sbx exec [flags] [--policy FILE] [--quiet] -- CMD ARGS`: runs one command sandboxed,
 * with mise-compatible flags. Exit code = the command's (128+signal when killed), 127
 * when it is not found, 2 for a bad command line.
 */
import type { Command } from './main.js';
import { flag, flagValue, flagValues, parseArgs, type FlagSpec } from './args.js';
import { SbxError, UsageError } from '../errors.js';
import { currentPlatform } from '../platform/index.js';
import type { ExecRequest } from '../platform/types.js';
import { compileExecFlagsTemp, type ExecFlags } from '../platform/linux/flags-temp.js';

const usage = `usage: sbx exec [flags] [--policy FILE] [--quiet] -- CMD [ARGS...]

Runs CMD in the sandbox. Flags (mise-compatible; repeatable; comma lists; wildcards):
  --deny-all            all of the --deny-* below
  --deny-read           no reads outside system paths (/usr, /lib, /bin, /etc, …)
  --deny-write          no writes outside /tmp and /dev
  --deny-net            no network, loopback included
  --deny-env            only PATH HOME USER SHELL TERM LANG (and --allow-env) survive
  --allow-read=PATH     readable (implies --deny-read elsewhere)
  --allow-write=PATH    writable and readable (implies --deny-write elsewhere)
  --allow-net=HOST      reachable: name, IP, localhost, HOST:PORT (implies --deny-net elsewhere)
  --allow-env=VAR       passed through, e.g. --allow-env='NODE_*' (implies --deny-env)
  --policy FILE         a .sbx.yaml-style policy file (combined with the flags)
  -q, --quiet           no "sbx: denied …" lines on stderr`;

const spec: Record<string, FlagSpec> = {
  'deny-all': {},
  'deny-read': {},
  'deny-write': {},
  'deny-net': {},
  'deny-env': {},
  'allow-read': { value: true, repeat: true, list: true },
  'allow-write': { value: true, repeat: true, list: true },
  'allow-net': { value: true, repeat: true, list: true },
  'allow-env': { value: true, repeat: true, list: true },
  policy: { value: true },
  quiet: { short: 'q' },
};

/** `*` any run of characters, `?` one character; anchored. */
function envPattern(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Drops every variable a deny pattern matches unless an allow pattern matches it too. */
export function filterEnv(env: NodeJS.ProcessEnv, rules: { deny: string[]; allow: string[] }): Record<string, string> {
  const deny = rules.deny.map(envPattern);
  const allow = rules.allow.map(envPattern);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (deny.some((re) => re.test(name)) && !allow.some((re) => re.test(name))) continue;
    out[name] = value;
  }
  return out;
}

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

async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, spec, usage, { stopAtPositional: true });
  const argv = [...parsed.positionals, ...parsed.rest];
  if (argv.length === 0) throw new UsageError('missing the command to run', usage);

  if (flagValue(parsed, 'policy') !== undefined) {
    // TODO(policy module): loadPolicyFile + compile, combined with the flags.
    throw new SbxError('--policy is not supported yet: the policy compiler has not landed', { exitCode: 2 });
  }
  const flags: ExecFlags = {
    denyAll: flag(parsed, 'deny-all'),
    denyRead: flag(parsed, 'deny-read'),
    denyWrite: flag(parsed, 'deny-write'),
    denyNet: flag(parsed, 'deny-net'),
    denyEnv: flag(parsed, 'deny-env'),
    allowRead: flagValues(parsed, 'allow-read'),
    allowWrite: flagValues(parsed, 'allow-write'),
    allowNet: flagValues(parsed, 'allow-net'),
    allowEnv: flagValues(parsed, 'allow-env'),
  };
  const cwd = process.cwd();
  // TEMPORARY: switch to the policy module's compileExecFlags once it exists.
  const policy = await compileExecFlagsTemp(flags, cwd);
  const platform = await currentPlatform();
  return platform.exec({
    policy,
    overrides: [],
    argv,
    cwd,
    env: filterEnv(process.env, policy.env),
    quiet: flag(parsed, 'quiet'),
    defaultOrigins: defaultOriginsFor(flags),
  });
}

export const command: Command = {
  summary: 'run one command in the sandbox (mise-compatible --deny-*/--allow-* flags)',
  usage,
  run,
};
