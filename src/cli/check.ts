/**
 * `sbx check <read|write|exec|net|env> TARGET [--dir D] [--use FILE]`: would this be
 * allowed in D? Decided on the finished policy — the one a session's engine and proxy
 * receive (floors, policy files in force, names resolved with the trust check applied,
 * DNS, unix defaults; a broken file at its last good version or the strict fallback).
 * Exit 0 allowed, 1 denied, 2 error (bad target).
 */
import type { Command } from './main.js';
import { flagValue, parseArgs, type FlagSpec } from './args.js';
import { SbxError, UsageError } from '../errors.js';
import { explain, formatExplanation, netTargetName, type CheckOp, type UnixServer } from '../policy/explain.js';
import { readFileSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { resolveForExplain } from './explain-policy.js';

/** Who serves a unix socket: a connection of our own (native SO_PEERPIDFD), then /proc. */
async function unixServer(name: string): Promise<UnixServer | string> {
  const { loadNative } = await import('../native/load.js');
  let r: { pid: number; uid: number } | { errno: number };
  try {
    r = loadNative().unixPeer(name);
  } catch (err) {
    return `its server could not be asked (${(err as Error).message})`;
  }
  if ('errno' in r) {
    const why: Record<number, string> = { 2: 'no such socket', 111: 'nobody listens there', 13: 'could not connect (permission denied)', 91: 'a datagram socket (no server to ask)' };
    return `${why[r.errno] ?? `could not connect (errno ${r.errno})`}, so no server was found`;
  }
  if (r.pid <= 0) return 'its server (the process that listened) has exited: unknown';
  let program = '';
  try {
    program = readlinkSync(`/proc/${r.pid}/exe`);
  } catch {
    try {
      program = readFileSync(`/proc/${r.pid}/comm`, 'utf8').trim();
    } catch {
      program = '?';
    }
  }
  let sandboxed = false;
  try {
    sandboxed = /^Seccomp:\s*2$/m.test(readFileSync(`/proc/${r.pid}/status`, 'utf8'));
  } catch {}
  // sbx performs listen() for sandboxed programs, so their servers show sbx's own process.
  let argv: string[] = [];
  try {
    argv = readFileSync(`/proc/${r.pid}/cmdline`, 'utf8').split('\0');
  } catch {}
  const sbxAt = argv.findIndex((a) => /(^|\/)sbx$|\/dist\/cli\/main\.js$/.test(a));
  const verb = sbxAt >= 0 ? argv[sbxAt + 1] : undefined;
  if (verb === 'exec' || verb === 'daemon') return { pid: r.pid, program: `sbx ${verb}: the listening socket of a sandboxed program`, sandboxed: true };
  return { pid: r.pid, program, sandboxed };
}

const usage = `usage: sbx check <read|write|exec|net|env> TARGET [--dir D] [--use FILE] [--json]

  read PATH | write PATH       a file or directory (relative to the current directory)
  exec PROGRAM [ARGS...]       a program as you would run it (flags for check go before it)
  net HOST[:PORT] | IP[:PORT] | /path/to.sock | @abstract    (port defaults to 443;
                               a socket: which process serves it, and whether a sandbox may use it)
  env NAME                     whether a variable reaches programs

  --dir D     decide with the policy in force for directory D (default: current directory)
  --use FILE  as under direnv's \`use sandbox FILE\` in D
  --json      print the decision as JSON

Exit status: 0 allowed, 1 denied, 2 error.`;

const spec: Record<string, FlagSpec> = { dir: { value: true }, use: { value: true }, json: {} };
const OPS: CheckOp[] = ['read', 'write', 'exec', 'net', 'env'];

async function run(args: string[]): Promise<number> {
  const head = parseArgs(args, spec, usage, { stopAtPositional: true });
  const op = head.positionals[0] as CheckOp | undefined;
  if (op === undefined) throw new UsageError('missing what to check', usage);
  if (!OPS.includes(op)) throw new UsageError(`unknown check '${op}' (expected ${OPS.join(', ')})`, usage);
  // exec: flags must come before the program (its own args may look like flags).
  const tail = parseArgs(head.rest, spec, usage, { stopAtPositional: op === 'exec' });
  const flags = new Map([...head.flags, ...tail.flags]);
  const parsed = { flags, positionals: [], rest: [] };
  const target = [...tail.positionals, ...tail.rest];
  if (target.length === 0) throw new UsageError(`sbx check ${op} needs a target`, usage);
  if (op !== 'exec' && target.length > 1) throw new UsageError(`sbx check ${op} takes one target (got ${target.length})`, usage);

  const cwd = process.cwd();
  const dir = resolve(cwd, flagValue(parsed, 'dir') ?? '.');
  const use = flagValue(parsed, 'use');
  try {
    const { resolved: r, policy } = await resolveForExplain({ dir, use: use === undefined ? undefined : resolve(cwd, use) });
    const t = target[0]!;
    const name = op === 'net' ? netTargetName(t) : undefined;
    const addresses = name === undefined ? undefined : await (await import('../net/index.js')).resolveName(name, process.env);
    const socket = op === 'net' && /^[/.@]/.test(t);
    const server = socket && process.platform === 'linux' ? await unixServer(t.startsWith('@') ? t : resolve(cwd, t)) : undefined;
    const e = explain(policy, op, target, { cwd, env: process.env, addresses, ...(server !== undefined ? { unixServer: () => server } : {}) });
    if (flags.has('json')) process.stdout.write(`${JSON.stringify({ ...e, mode: policy.mode, policyOrigin: r.origin })}\n`);
    else process.stdout.write(`${formatExplanation(e, policy.mode)}\n  policy: ${r.origin}\n`);
    return e.allowed ? 0 : 1;
  } catch (err) {
    // Exit 1 means "denied": any failure must be 2.
    if (err instanceof SbxError && err.exitCode !== 2) {
      const { reportError } = await import('./main.js');
      reportError(err);
      return 2;
    }
    throw err;
  }
}

export const command: Command = {
  summary: 'explain whether a read/write/exec/net/env would be allowed, and by which rule',
  usage,
  run,
};
