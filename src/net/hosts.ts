/**
 * `net.allow` / `net.deny` / `--allow-net` entries:
 *
 *   github.com            a hostname (resolved to its A + AAAA addresses)
 *   *.npmjs.org           a wildcard: any name ending in ".npmjs.org" (NOT the apex npmjs.org);
 *                         cannot be resolved ahead, so it is enforced by the filtering proxy
 *   localhost             127.0.0.0/8 and ::1 (also the name "localhost" at the proxy)
 *   *                     every address (0.0.0.0/0 and ::/0)
 *   10.1.2.3  ::1  ::ffff:10.1.2.3   one address (mapped IPv6 is IPv4)
 *   10.0.0.0/8  fd00::/8  a network
 *   any of the above + ":PORT" or ":LO-HI"; IPv6 with a port in brackets: [::1]:8080,
 *   [fd00::/8]:443. Without a port: every port.
 *
 * Names are case-insensitive; a trailing dot is dropped. This module only parses; it never
 * resolves (see resolve.ts) and never reads files.
 */
import type { Effect, NetRule } from '../policy/compiled.js';
import { type Ip, maskIp, netRule, parseIp } from './ip.js';

export type HostEntry =
  | { kind: 'name'; name: string; portLo: number; portHi: number }
  | { kind: 'wildcard'; /** The suffix after "*.", e.g. "npmjs.org". */ suffix: string; portLo: number; portHi: number }
  | { kind: 'network'; networks: { ip: Ip; prefix: number }[]; portLo: number; portHi: number; localhost: boolean };

/**
 * A hostname rule still to be resolved (kind name) or to be enforced by the proxy (kind
 * wildcard). Carried next to the NetRules as `net.hosts` (see src/net/README.md).
 */
export interface HostRule {
  rule: number;
  effect: Effect;
  kind: 'name' | 'wildcard';
  /** The name, or for a wildcard the suffix after "*.". Lowercase, no trailing dot. */
  name: string;
  portLo: number;
  portHi: number;
}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

function isHostname(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  return labels.every((l) => LABEL.test(l)) && !/^[0-9.]+$/.test(name);
}

function parsePort(text: string): [number, number] | string {
  if (text === '*') return [0, 65535];
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!m) return `bad port '${text}' (expected N, LO-HI or *)`;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo > 65535 || hi > 65535) return `port out of range in '${text}' (0-65535)`;
  if (lo > hi) return `port range '${text}' is backwards`;
  return [lo, hi];
}

function parseNetwork(text: string): { ip: Ip; prefix: number } | string {
  const slash = text.indexOf('/');
  const addr = slash === -1 ? text : text.slice(0, slash);
  const ip = parseIp(addr);
  if (!ip) return `'${addr}' is not an IP address`;
  const max = ip.family === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return `bad prefix length '/${p}'`;
    prefix = Number(p);
    // A mapped literal ("::ffff:10.0.0.0/104") counts its prefix in IPv6 bits.
    if (ip.family === 4 && addr.includes(':')) prefix -= 96;
    if (prefix < 0 || prefix > max) return `prefix length /${p} out of range for ${text}`;
  }
  return { ip: maskIp(ip, prefix), prefix };
}

/** Parses one entry; a string result is the reason it is invalid. */
export function parseHostEntry(raw: string): HostEntry | string {
  const text = raw.trim().toLowerCase();
  if (text.length === 0) return 'empty host entry';
  let host = text;
  let port: [number, number] = [0, 65535];
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) return `missing ']' in '${raw}'`;
    host = text.slice(1, close);
    const after = text.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return `unexpected '${after}' after ']' in '${raw}'`;
      const p = parsePort(after.slice(1));
      if (typeof p === 'string') return p;
      port = p;
    }
    if (!host.includes(':')) return `brackets are only for IPv6 addresses ('${raw}')`;
  } else if ((text.match(/:/g) ?? []).length === 1) {
    // Exactly one colon: host:port (an IPv6 literal has at least two).
    const colon = text.indexOf(':');
    host = text.slice(0, colon);
    const p = parsePort(text.slice(colon + 1));
    if (typeof p === 'string') return p;
    port = p;
  }
  const [portLo, portHi] = port;
  if (host === 'localhost') {
    const networks = [parseNetwork('127.0.0.0/8'), parseNetwork('::1')] as { ip: Ip; prefix: number }[];
    return { kind: 'network', networks, portLo, portHi, localhost: true };
  }
  if (host === '*') {
    const networks = [parseNetwork('0.0.0.0/0'), parseNetwork('::/0')] as { ip: Ip; prefix: number }[];
    return { kind: 'network', networks, portLo, portHi, localhost: false };
  }
  if (/^[0-9a-f:.]+(\/\d+)?$/.test(host) && (host.includes(':') || /^[0-9.]+(\/\d+)?$/.test(host))) {
    const n = parseNetwork(host);
    if (typeof n === 'string') return n;
    return { kind: 'network', networks: [n], portLo, portHi, localhost: false };
  }
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.startsWith('*.')) {
    const suffix = name.slice(2);
    if (!isHostname(suffix)) return `'${raw}' is not a valid wildcard (expected *.domain)`;
    return { kind: 'wildcard', suffix, portLo, portHi };
  }
  if (name.includes('*')) return `'${raw}': a wildcard must be a whole leading label ('*.example.com')`;
  if (!isHostname(name)) return `'${raw}' is not a hostname, IP address or CIDR`;
  return { kind: 'name', name, portLo, portHi };
}

export interface NetEntry {
  text: string;
  effect: Effect;
  /** Origin index for the rules this entry produces. */
  rule: number;
}

export interface CompiledNetEntries {
  rules: NetRule[];
  hosts: HostRule[];
  /** Entries that could not be parsed: index into the input and the reason. */
  errors: { index: number; message: string }[];
}

/**
 * Turns net entries into NetRules (addresses, networks, localhost) and HostRules (names
 * and wildcards, resolved later by prepareNetwork). For the policy compiler.
 */
export function compileNetEntries(entries: NetEntry[]): CompiledNetEntries {
  const out: CompiledNetEntries = { rules: [], hosts: [], errors: [] };
  entries.forEach((e, index) => {
    const h = parseHostEntry(e.text);
    if (typeof h === 'string') {
      out.errors.push({ index, message: h });
    } else if (h.kind === 'network') {
      for (const n of h.networks) out.rules.push(netRule(e.rule, e.effect, n.ip, n.prefix, h.portLo, h.portHi));
      // The name "localhost" itself, for the proxy.
      if (h.localhost) out.hosts.push({ rule: e.rule, effect: e.effect, kind: 'name', name: 'localhost', portLo: h.portLo, portHi: h.portHi });
    } else {
      const name = h.kind === 'name' ? h.name : h.suffix;
      out.hosts.push({ rule: e.rule, effect: e.effect, kind: h.kind, name, portLo: h.portLo, portHi: h.portHi });
    }
  });
  return out;
}

/**
 * The host-rule decision for a name (used by the proxy): the most specific matching rule
 * wins — an exact name beats any wildcard, a longer wildcard suffix beats a shorter one,
 * then the narrower port range, then deny beats allow. Undefined: no host rule matches.
 */
export function decideHost(hosts: HostRule[], rawName: string, port: number): HostRule | undefined {
  const name = rawName.toLowerCase().replace(/\.$/, '');
  let best: HostRule | undefined;
  let bestScore = -1;
  for (const h of hosts) {
    if (port < h.portLo || port > h.portHi) continue;
    let score: number;
    if (h.kind === 'name') {
      if (h.name !== name) continue;
      score = 1000;
    } else {
      if (!name.endsWith(`.${h.name}`)) continue;
      score = h.name.length;
    }
    if (
      !best ||
      score > bestScore ||
      (score === bestScore &&
        (h.portHi - h.portLo < best.portHi - best.portLo ||
          (h.portHi - h.portLo === best.portHi - best.portLo && h.effect === 'deny')))
    ) {
      best = h;
      bestScore = score;
    }
  }
  return best;
}
