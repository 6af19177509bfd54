/**
 * One explanation per decision, for `sbx check` and `sbx policy`: what was asked, the
 * verdict, the deciding rule as written, and where it came from.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { CompiledPolicy, PathSection, RuleOrigin } from './compiled.js';
import { canonicalTarget } from './expand.js';
import { decideEnv, decideExec, decidePathDetailed } from './match.js';
import { decideHost, decideNamedTarget, normalizeTargetHost, parseAddress } from './net-match.js';
import { deputyByProgram } from './deputies.js';
import { SbxError } from '../errors.js';
import { displaySafe } from '../display-safe.js';

export type CheckOp = 'read' | 'write' | 'exec' | 'net' | 'env';

export interface Explanation {
  op: CheckOp | 'unix';
  /** The target as decided (canonical path, address:port, variable name). */
  target: string;
  allowed: boolean;
  /** Origin index, -1 = section default. */
  rule: number;
  origin?: RuleOrigin;
  /** The rule is a floor (protect list / sbx's own files). */
  floor: boolean;
  /** Human text for the deciding rule. */
  because: string;
  /** `net` on a unix socket: who serves it (when something does). */
  server?: UnixServer;
}

/** The process serving a unix socket, as found by `sbx check` (a connection of its own). */
export interface UnixServer {
  pid: number;
  /** Its executable (or comm). */
  program: string;
  /** It runs under a seccomp filter: inside a sandbox (sbx's or another). */
  sandboxed: boolean;
}

function describe(policy: CompiledPolicy, rule: number, fallback: string): { origin?: RuleOrigin; because: string } {
  const origin = rule >= 0 ? policy.origins[rule] : undefined;
  if (!origin) return { because: fallback };
  return { origin, because: `${origin.section} rule ${JSON.stringify(origin.text)} from ${origin.source}` };
}

function pathExplain(policy: CompiledPolicy, op: 'read' | 'write' | 'unix', section: PathSection, target: string): Explanation {
  const d = decidePathDetailed(section, target);
  const floor = d.index >= 0 && section.rules[d.index]!.floor && d.effect === 'deny';
  return {
    op,
    target,
    allowed: d.effect === 'allow',
    rule: d.rule,
    floor,
    ...describe(policy, d.rule, `no rule matches: ${op} defaults to ${section.default}`),
  };
}

/** PATH lookup like a shell's; a name with a slash is taken relative to cwd. */
export function whichProgram(name: string, cwd: string, pathVar: string | undefined): string | undefined {
  if (name.includes('/')) return resolve(cwd, name);
  for (const dir of (pathVar ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(isAbsolute(dir) ? dir : resolve(cwd, dir), name);
    try {
      if (statSync(p).isFile()) {
        accessSync(p, constants.X_OK);
        return p;
      }
    } catch {
      // keep looking
    }
  }
  return undefined;
}

function parseHostPort(target: string): { host: string; port: number } {
  let host = target;
  let port = 443;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(target);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2]) port = Number(bracket[2]);
  } else if ((target.match(/:/g) ?? []).length === 1) {
    const i = target.indexOf(':');
    host = target.slice(0, i);
    port = Number(target.slice(i + 1));
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SbxError(`bad port in '${target}' (1-65535)`, { exitCode: 2 });
  return { host: host.toLowerCase(), port };
}

/** Decides one question against a compiled policy. */
export interface ExplainOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  /** For `net NAME`: the addresses the name resolves to (see netTargetName; src/net resolves). */
  addresses?: string[];
  /** For `net /path.sock`: who serves it; a string says why nobody could be found. */
  unixServer?: (name: string) => UnixServer | string;
}

/**
 * A unix socket (compiled.ts UnixSection): refused by a deny rule; reachable when an allow
 * rule names it; otherwise only when its server runs in the sandbox's own session.
 */
function unixExplain(policy: CompiledPolicy, target: string, opts: ExplainOptions): Explanation {
  const section = policy.unix;
  const d = decidePathDetailed(section, target);
  const win = d.index >= 0 ? section.rules[d.index] : undefined;
  const base = pathExplain(policy, 'unix', section, target);
  const deputyRule = win?.deputy && win.effect === 'deny';
  const found = opts.unixServer?.(target);
  const server = typeof found === 'object' ? found : undefined;
  const serving = server
    ? `served by pid ${server.pid} (${server.program})${server.sandboxed ? ', inside a sandbox' : ', outside any sandbox'}`
    : typeof found === 'string'
      ? found
      : undefined;
  const withServer = (e: Explanation): Explanation => ({ ...e, ...(server ? { server } : {}), because: serving ? `${e.because}; ${serving}` : e.because });
  if (!deputyRule && (d.effect === 'deny' || win)) return withServer(base);
  // Without a way to ask who serves it (macOS, where no server check exists, and the
  // policy tables): the verdict by name, with the condition the Linux engine adds.
  if (!opts.unixServer && !deputyRule) return { ...base, because: `${base.because} (on Linux: only if its server runs in the same sandbox session, else it must be named)` };
  // Reachable only from the server's own session.
  const deputy = deputyRule ? policy.origins[win!.rule]?.text : server && deputyByProgram(server.program) ? `${deputyByProgram(server.program)!.name}: ${deputyByProgram(server.program)!.why}` : undefined;
  const named = 'name the socket itself in net.unix.allow (or --allow-net=PATH) to allow it';
  const origin = deputyRule ? policy.origins[win!.rule] : undefined;
  if (server?.sandboxed) {
    return {
      op: 'unix',
      target,
      allowed: true,
      rule: d.rule,
      floor: false,
      server,
      ...(origin ? { origin } : {}),
      because: `${serving}: reachable from the sandbox session that started it only, refused from any other${deputy ? ` (${deputy})` : ''}; ${named}`,
    };
  }
  const who = serving ?? 'no server found';
  return {
    op: 'unix',
    target,
    allowed: false,
    rule: d.rule,
    floor: false,
    ...(server ? { server } : {}),
    ...(origin ? { origin } : {}),
    because: `${who}: a server outside the sandbox would act for it (a confused deputy${deputy ? `: ${deputy}` : ''}); only one the same sandbox session started is reachable; ${named}`,
  };
}

/** The name a `net` target asks about, when it is one (not an IP, a socket or localhost). */
export function netTargetName(target: string): string | undefined {
  if (target.startsWith('/') || target.startsWith('@') || target.startsWith('.')) return undefined;
  const { host } = parseHostPort(target);
  const t = normalizeTargetHost(host);
  if (t.address !== undefined || t.name === 'localhost') return undefined;
  return t.name;
}

export function explain(policy: CompiledPolicy, op: CheckOp, target: string[], opts: ExplainOptions): Explanation {
  const first = target[0];
  if (first === undefined || first === '') throw new SbxError(`sbx check ${op} needs a target`, { exitCode: 2 });
  switch (op) {
    case 'read':
    case 'write':
      return pathExplain(policy, op, policy[op], canonicalTarget(first, opts.cwd));
    case 'exec': {
      const found = whichProgram(first, opts.cwd, opts.env.PATH);
      if (!found) throw new SbxError(`${first}: command not found`, { exitCode: 2 });
      const binary = canonicalTarget(found, opts.cwd);
      const d = decideExec(policy.read, policy.exec, binary, first, target);
      const shown = [binary, ...target.slice(1)].join(' ');
      const dflt = d.by === 'read' ? `no rule matches: read defaults to ${policy.read.default}` : `no rule matches: exec defaults to ${policy.exec.default}`;
      const floor = d.by === 'read' && pathExplain(policy, 'read', policy.read, binary).floor;
      const { origin, because } = describe(policy, d.rule, dflt);
      return { op, target: shown, allowed: d.effect === 'allow', rule: d.rule, floor, origin, because: d.by === 'read' && d.effect === 'deny' ? `the binary is not readable: ${because}` : because };
    }
    case 'net': {
      if (first.startsWith('/') || first.startsWith('@') || first.startsWith('.')) {
        const t = first.startsWith('@') ? first : canonicalTarget(first, opts.cwd);
        return unixExplain(policy, t, opts);
      }
      const { host, port } = parseHostPort(first);
      const t = normalizeTargetHost(host);
      const dflt = `no rule matches: net defaults to ${policy.net.default}`;
      if (t.address !== undefined) {
        const d = decideNamedTarget(policy.net, undefined, t.address, port);
        const shown = t.address.includes(':') ? `[${t.address}]:${port}` : `${t.address}:${port}`;
        return { op, target: shown, allowed: d.effect === 'allow', rule: d.rule, floor: false, ...describe(policy, d.rule, dflt) };
      }
      // Decided like the filtering proxy and the engine decide it (decideNamedTarget), on
      // every address the name resolves to: any refused address is shown.
      const name = t.name!;
      const shown = `${name}:${port}`;
      const addresses = name === 'localhost' ? ['127.0.0.1', '::1'] : (opts.addresses ?? []);
      if (addresses.length === 0) {
        const h = decideHost(policy.net.hosts ?? [], name, port);
        if (h?.effect === 'deny') return { op, target: shown, allowed: false, rule: h.rule, floor: false, ...describe(policy, h.rule, dflt) };
        const via = describe(policy, h?.rule ?? -1, dflt);
        const because = h ? `${via.because}, but ${name} does not resolve: nothing to connect to` : `${via.because} (${name} does not resolve)`;
        return { op, target: shown, allowed: false, rule: h?.rule ?? -1, floor: false, origin: via.origin, because };
      }
      const decisions = addresses.map((a) => ({ a, d: decideNamedTarget(policy.net, name, a, port) }));
      const pick = decisions.find((x) => x.d.effect === 'deny') ?? decisions[0]!;
      const via = describe(policy, pick.d.rule, dflt);
      const note = pick.d.reason === 'local address: allow it by address' ? ': a name allowed only by a host rule reaches no local address' : '';
      return { op, target: shown, allowed: pick.d.effect === 'allow', rule: pick.d.rule, floor: false, origin: via.origin, because: `${via.because} (for ${pick.a}${note})` };
    }
    case 'env': {
      const d = decideEnv(policy.env, first);
      return {
        op,
        target: first,
        allowed: d.effect === 'allow',
        rule: -1,
        floor: false,
        because: d.pattern === undefined ? 'no pattern matches: variables are kept by default' : `env ${d.effect} pattern ${JSON.stringify(d.pattern)}`,
      };
    }
  }
}

/** Two-line human form used by `sbx check`. */
export function formatExplanation(e: Explanation, mode: CompiledPolicy['mode']): string {
  const verdict = e.allowed ? 'allowed' : mode === 'audit' ? 'denied (mode audit: would be logged, not blocked)' : 'denied';
  const lines = [`${verdict}: ${e.op} ${e.target}`, `  by: ${e.because}`];
  if (e.floor) lines.push('  (a protected floor: no project policy can lift it)');
  return lines.map(displaySafe).join('\n');
}
