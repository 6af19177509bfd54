/**
 * TEMPORARY — TO BE REPLACED by `compileExecFlags` from src/policy once it lands.
 *
 * A minimal mise-flags → CompiledPolicy mapping so `sbx exec` can run end to end before
 * the policy module exists. It follows mise's defaults: system paths stay readable and
 * runnable, /tmp and /dev stay writable, --allow-write paths are readable, an --allow-*
 * flag implies the matching --deny-* elsewhere, --deny-net blocks loopback too, and
 * PATH HOME USER SHELL TERM LANG survive --deny-env.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CompiledPolicy, NetRule, PathRule, RuleOrigin } from '../../policy/compiled.js';
import { UsageError } from '../../errors.js';

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
}

/** Readable (and runnable) whatever --deny-read says. */
const SYSTEM_READ = ['/usr', '/lib', '/lib32', '/lib64', '/libx32', '/bin', '/sbin', '/etc', '/opt', '/proc', '/sys', '/run', '/var/lib'];
/** Writable whatever --deny-write says (and so readable). */
const ALWAYS_WRITE = ['/tmp', '/dev'];
export const ENV_SURVIVORS = ['PATH', 'HOME', 'USER', 'SHELL', 'TERM', 'LANG'];

function canonical(path: string, cwd: string): string {
  const abs = resolve(cwd, path.startsWith('~/') ? `${process.env.HOME ?? ''}${path.slice(1)}` : path);
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}

async function hostRules(host: string, rule: number): Promise<NetRule[]> {
  const m = /^(.*?)(?::(\d+))?$/.exec(host.startsWith('[') ? host.replace(/^\[(.*)\](.*)$/, '$1$2') : host);
  let name = m?.[1] ?? host;
  const port = m?.[2] === undefined ? undefined : Number(m[2]);
  if (isIP(host) === 6) name = host; // a bare IPv6 literal has colons but no port
  const ports = port === undefined ? { portLo: 0, portHi: 65535 } : { portLo: port, portHi: port };
  if (name.includes('*')) {
    throw new UsageError(`--allow-net=${host}: wildcard hosts need the policy module (not built yet)`);
  }
  let addrs: { address: string; family: number }[];
  if (name === 'localhost') addrs = [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }];
  else if (isIP(name)) addrs = [{ address: name, family: isIP(name) }];
  else {
    try {
      addrs = await lookup(name, { all: true });
    } catch (err) {
      throw new UsageError(`--allow-net=${host}: cannot resolve ${name} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return addrs.map((a) => ({
    rule,
    effect: 'allow' as const,
    family: a.family === 6 ? (6 as const) : (4 as const),
    address: a.address,
    prefix: a.family === 6 ? 128 : 32,
    ...ports,
  }));
}

export async function compileExecFlagsTemp(flags: ExecFlags, cwd: string, id = 1): Promise<CompiledPolicy> {
  const origins: RuleOrigin[] = [];
  const origin = (source: string, text: string, section: RuleOrigin['section']) => origins.push({ source, text, section }) - 1;
  const subtree = (rule: number, effect: 'allow' | 'deny', pattern: string): PathRule => ({ rule, effect, match: 'subtree', pattern, floor: false });

  const denyRead = flags.denyAll || flags.denyRead || flags.allowRead.length > 0;
  const denyWrite = flags.denyAll || flags.denyWrite || flags.allowWrite.length > 0;
  const denyNet = flags.denyAll || flags.denyNet || flags.allowNet.length > 0;
  const denyEnv = flags.denyAll || flags.denyEnv || flags.allowEnv.length > 0;
  const why = (flag: boolean, implied: string) => (flags.denyAll ? '--deny-all' : flag ? implied.split(' ')[0]! : implied);

  const read: PathRule[] = [];
  const write: PathRule[] = [];
  if (denyWrite) {
    write.push(subtree(origin(why(flags.denyWrite, '--deny-write (implied by --allow-write)'), '/', 'write'), 'deny', '/'));
    const sys = origin('built-in', 'writable system paths', 'write');
    for (const p of ALWAYS_WRITE) write.push(subtree(sys, 'allow', p));
  }
  if (denyRead) {
    read.push(subtree(origin(why(flags.denyRead, '--deny-read (implied by --allow-read)'), '/', 'read'), 'deny', '/'));
    const sys = origin('built-in', 'readable system paths', 'read');
    for (const p of [...SYSTEM_READ, ...ALWAYS_WRITE]) read.push(subtree(sys, 'allow', p));
  }
  for (const p of flags.allowRead) read.push(subtree(origin(`--allow-read=${p}`, p, 'read'), 'allow', canonical(p, cwd)));
  for (const p of flags.allowWrite) {
    const rule = origin(`--allow-write=${p}`, p, 'write');
    write.push(subtree(rule, 'allow', canonical(p, cwd)));
    read.push(subtree(rule, 'allow', canonical(p, cwd)));
  }

  const net: NetRule[] = [];
  for (const host of flags.allowNet) net.push(...(await hostRules(host, origin(`--allow-net=${host}`, host, 'net'))));
  let netDefault: 'allow' | 'deny' = 'allow';
  if (denyNet) {
    // A catch-all deny names the flag in denial messages (the default would say "default").
    const rule = origin(why(flags.denyNet, '--deny-net (implied by --allow-net)'), '*', 'net');
    net.push({ rule, effect: 'deny', family: 4, address: '0.0.0.0', prefix: 0, portLo: 0, portHi: 65535 });
    net.push({ rule, effect: 'deny', family: 6, address: '::', prefix: 0, portLo: 0, portHi: 65535 });
    netDefault = 'deny';
  }

  return {
    id,
    mode: 'enforce',
    read: { default: 'allow', rules: read },
    write: { default: 'allow', rules: write },
    exec: { default: 'allow', paths: [], programs: [] },
    net: { default: netDefault, rules: net },
    unix: { default: 'allow', rules: [] },
    commands: [],
    origins,
    env: denyEnv ? { deny: ['*'], allow: [...ENV_SURVIVORS, ...flags.allowEnv] } : { deny: [], allow: [] },
  };
}
