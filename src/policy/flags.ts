/**
 * mise-compatible `sbx exec` flags on the same model as the files: they are the top
 * layers over the user/project policy (and an optional `--policy FILE`).
 *
 *   --deny-read / --allow-read=P   reads only in system paths, /tmp and $TMPDIR (+ P); implied by
 *                                  --allow-read. Without any --allow-read the working directory
 *                                  stays readable too (a build reads its sources: the README's
 *                                  `--deny-all --allow-write=./dist -- npm run build`), unless it
 *                                  is / or holds the home directory
 *   --deny-write / --allow-write=P writes only in /tmp, $TMPDIR, /dev (+ P, which is readable)
 *   --deny-net / --allow-net=H     no network, loopback included (+ H, resolved to addresses);
 *                                  no unix socket served outside the sandbox (+ H = /path.sock, @name);
 *                                  serving (bind/listen) only on addresses H allows
 *   --deny-env / --allow-env=V     only PATH HOME USER SHELL TERM LANG (+ V) reach the program
 *   --deny-all                     all four
 * A deny flag drops every allow of the lower layers for its section; floors stay.
 */
import { dirname, resolve } from 'node:path';
import type { FlagSpec, ParsedArgs } from '../cli/args.js';
import type { CompiledPolicy } from './compiled.js';
import type { DenySection, Layer } from './compile.js';
import { brokenNotice, resolvePolicy } from './index.js';
import type { KeyPath } from './load.js';
import { stateLastGood } from './last-good.js';
import { filterEnv } from './match.js';
import { SYSTEM_READ_PATHS, preset } from './presets.js';
import { homeDir, type Env } from './paths.js';
import { canonicalPath, pathExists } from './expand.js';

export { SYSTEM_READ_PATHS } from './presets.js';
export const ENV_KEPT = ['PATH', 'HOME', 'USER', 'SHELL', 'TERM', 'LANG'];

export interface ExecFlags {
  denyAll: boolean;
  denyRead: boolean;
  denyWrite: boolean;
  denyNet: boolean;
  denyEnv: boolean;
  allowRead: string[];
  allowWrite: string[];
  allowNet: string[];
  allowEnv: string[];
  /** `--policy FILE`: an extra policy file (trusted: the user named it). */
  policyFile?: string;
}

/** Flag declarations for src/cli/args.ts (repeatable, comma lists). */
export const EXEC_FLAG_SPEC: Record<string, FlagSpec> = {
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
};

export function execFlagsFromArgs(parsed: ParsedArgs): ExecFlags {
  const v = (n: string) => parsed.flags.get(n) ?? [];
  const policy = v('policy');
  return {
    denyAll: parsed.flags.has('deny-all'),
    denyRead: parsed.flags.has('deny-read'),
    denyWrite: parsed.flags.has('deny-write'),
    denyNet: parsed.flags.has('deny-net'),
    denyEnv: parsed.flags.has('deny-env'),
    allowRead: v('allow-read'),
    allowWrite: v('allow-write'),
    allowNet: v('allow-net'),
    allowEnv: v('allow-env'),
    policyFile: policy[policy.length - 1],
  };
}

export function emptyExecFlags(): ExecFlags {
  return { denyAll: false, denyRead: false, denyWrite: false, denyNet: false, denyEnv: false, allowRead: [], allowWrite: [], allowNet: [], allowEnv: [] };
}

/** /tmp and $TMPDIR (when it is an absolute path other than /). */
function tempDirs(env: Env): string[] {
  const t = env.TMPDIR && env.TMPDIR.startsWith('/') ? resolve(env.TMPDIR) : undefined;
  return [...new Set(['/tmp', ...(t && t !== '/' ? [t] : [])])];
}

/**
 * The working directory, kept readable under --deny-read when no --allow-read says exactly what
 * is: not / and not the home directory or a directory holding it (that would open every file
 * of the user's the floor does not name).
 */
function readableCwd(flags: ExecFlags, cwd: string, env: Env): string | undefined {
  if (flags.allowRead.length > 0) return undefined;
  const dir = canonicalPath(cwd);
  const home = canonicalPath(homeDir(env));
  if (dir === '/' || home === dir || home.startsWith(`${dir}/`)) return undefined;
  return dir;
}

/** The flag layers: a reset+defaults layer per restricted section, then the user's allows. */
export function flagLayers(flags: ExecFlags, cwd: string, env: Env): Layer[] {
  const read = flags.denyAll || flags.denyRead || flags.allowRead.length > 0;
  const write = flags.denyAll || flags.denyWrite || flags.allowWrite.length > 0;
  const net = flags.denyAll || flags.denyNet || flags.allowNet.length > 0;
  const envs = flags.denyAll || flags.denyEnv || flags.allowEnv.length > 0;
  const layers: Layer[] = [];
  const why = (s: string, implied: boolean) => (flags.denyAll ? '--deny-all' : implied ? `--allow-${s} (implies --deny-${s})` : `--deny-${s}`);
  const esc = (p: string) => p.replace(/[\\*?]/g, (c) => `\\${c}`);
  if (read) {
    const nodeDir = dirname(dirname(process.execPath));
    const paths = [...SYSTEM_READ_PATHS, nodeDir].filter((p) => pathExists(p));
    layers.push({ source: `${why('read', !flags.denyRead)}: system paths stay readable`, body: { read: { allow: paths.map(esc) } }, baseDir: '/', trusted: true, literal: true, resetAllows: ['read'] });
    // mise's defaults: /tmp (and $TMPDIR) stay readable, so a program reads back its temp files
    // (credential caches there are under the floor). Above the reset: these allows are the flags'.
    layers.push({ source: `${why('read', !flags.denyRead)}: /tmp and $TMPDIR stay readable`, body: { read: { allow: tempDirs(env).map(esc) } }, baseDir: '/', trusted: true, literal: true });
    const here = readableCwd(flags, cwd, env);
    if (here) layers.push({ source: `${why('read', !flags.denyRead)}: the working directory stays readable (name --allow-read to choose)`, body: { read: { allow: [esc(here)] } }, baseDir: '/', trusted: true, literal: true });
  }
  if (write) {
    const temps = [...new Set([...tempDirs(env), '/dev'])];
    layers.push({ source: `${why('write', !flags.denyWrite)}: /tmp and /dev stay writable`, body: { write: { allow: temps.map(esc) } }, baseDir: '/', trusted: true, literal: true, resetAllows: ['write'] });
  }
  if (net) layers.push({ source: why('net', !flags.denyNet), body: { net: { allow: [] } }, baseDir: '/', trusted: true, resetAllows: ['net'] });
  if (envs) layers.push({ source: `${why('env', !flags.denyEnv)}: ${ENV_KEPT.join(' ')} are kept`, body: { env: { allow: ENV_KEPT } }, baseDir: '/', trusted: true, resetAllows: ['env'] });

  const names: Record<string, string> = { read: 'allow-read', write: 'allow-write', net: 'allow-net', env: 'allow-env' };
  // --allow-net=/path/to.sock (or ./x, ~/x, @abstract) names a unix socket.
  const isSocket = (e: string) => /^[/.~@]/.test(e);
  const hosts = flags.allowNet.filter((e) => !isSocket(e));
  const sockets = flags.allowNet.filter(isSocket);
  const body = {
    read: flags.allowRead.length ? { allow: flags.allowRead } : undefined,
    write: flags.allowWrite.length ? { allow: flags.allowWrite } : undefined,
    net: flags.allowNet.length ? { allow: hosts, ...(sockets.length ? { unix: { allow: sockets } } : {}) } : undefined,
    env: flags.allowEnv.length ? { allow: flags.allowEnv } : undefined,
  };
  const lists: Record<string, string[]> = { read: flags.allowRead, write: flags.allowWrite, net: hosts, env: flags.allowEnv };
  const where = (p: KeyPath) => {
    const s = String(p[0]);
    const i = Number(p[p.length - 1]);
    if (s === 'net' && p[1] === 'unix') return `--allow-net=${sockets[i] ?? ''}`;
    return `--${names[s] ?? s}=${lists[s]?.[i] ?? ''}`;
  };
  if (Object.values(body).some((x) => x !== undefined)) {
    layers.push({ source: 'sbx exec flags', body, baseDir: cwd, trusted: true, where });
  }
  return layers;
}

export interface ExecPolicy {
  policy: CompiledPolicy;
  overrides: CompiledPolicy[];
  /** The environment the program gets (the env filter applied to `env`). */
  env: Record<string, string>;
  envFilter: { deny: string[]; allow: string[] };
  files: string[];
  /** What a cache of this policy re-checks: files + paths whose change alters it, and the build's facts. */
  watch: string[];
  facts: ReadonlyMap<string, string>;
  /** Files in force only at their last good version or the strict fallback (sbx's state decided). */
  broken: number;
  trusted: boolean;
  dropped: string[];
  warnings: string[];
}

/**
 * Policy for `sbx exec`: user + project policy for cwd (a broken file at its last good
 * version or the strict fallback, said in `warnings`), then `--policy FILE` with its
 * `extends:` and `commands:` (a broken one is an error), then the flags.
 */
export async function compileExecFlags(flags: ExecFlags, options: { cwd: string; env?: Env }): Promise<ExecPolicy> {
  const env = options.env ?? process.env;
  const r = await resolvePolicy(
    { dir: options.cwd, policyFile: flags.policyFile, top: flagLayers(flags, options.cwd, env) },
    { env, onBroken: 'keep', lastGood: stateLastGood(env, false) },
  );
  return {
    policy: r.policy,
    overrides: r.overrides,
    env: filterEnv(env, r.policy.env),
    envFilter: r.policy.env,
    files: r.files,
    watch: r.watch,
    facts: r.facts,
    broken: r.broken.length,
    trusted: r.trusted,
    dropped: r.dropped,
    warnings: [...r.broken.map((b) => brokenNotice(b).replace(/^sbx: /, '')), ...r.warnings],
  };
}

export type { DenySection };
