/**
 * Network entries: parsing what a person writes in `net.allow`/`net.deny` and deciding
 * an address against NetRules and HostRules.
 *
 * Entry forms: `github.com`, `github.com:443`, `*.npmjs.org`, `*.npmjs.org:443-444`,
 * `1.2.3.4`, `10.0.0.0/8`, `10.0.0.0/8:5432`, `::1`, `[::1]:8080`, `fd00::/8`,
 * `[fd00::/8]:53`, `localhost` (= 127.0.0.0/8 and ::1), `*` (every address).
 *
 * Wildcards: `*.example.com` matches every name that ends in `.example.com`
 * (`a.example.com`, `a.b.example.com`) but NOT the apex `example.com` — write both
 * entries to cover both. An exact name beats a wildcard, a longer wildcard beats a
 * shorter one, a narrower port range beats a wider one, deny beats allow.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Effect, HostRule, NetRule, NetSection } from './compiled.js';
import { EntryError } from './expand.js';
import type { Decision } from './match.js';

export type NetEntry =
  | { kind: 'ip'; family: 4 | 6; address: string; prefix: number; portLo: number; portHi: number }
  | { kind: 'host'; pattern: string; portLo: number; portHi: number };

/** An address entry as the compiled rule enforcers evaluate. */
export function ipRule(e: Extract<NetEntry, { kind: 'ip' }>, rule: number, effect: Effect): NetRule {
  return { rule, effect, family: e.family, address: e.address, prefix: e.prefix, portLo: e.portLo, portHi: e.portHi };
}

/** A name entry as the compiled rule the proxy and the resolver evaluate. */
export function hostRule(e: Extract<NetEntry, { kind: 'host' }>, rule: number, effect: Effect): HostRule {
  return { rule, effect, pattern: e.pattern, portLo: e.portLo, portHi: e.portHi };
}

function parseV4(s: string): number[] | undefined {
  if (!isIPv4(s)) return undefined;
  return s.split('.').map(Number);
}

/** 16 bytes, or undefined. Handles `::`, embedded IPv4, zone ids are rejected. */
function parseV6(s: string): number[] | undefined {
  if (!isIPv6(s) || s.includes('%')) return undefined;
  let text = s;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseV4(tail);
    if (!v4) return undefined;
    text = `${s.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [l, r] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = l ? l.split(':') : [];
  const right = r ? r.split(':') : [];
  const fill = r === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(Math.max(0, fill)).fill('0'), ...right].map((g) => parseInt(g, 16));
  if (groups.length !== 8 || groups.some((g) => Number.isNaN(g))) return undefined;
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

function formatV6(bytes: number[]): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
}

function mask(bytes: number[], prefix: number): number[] {
  return bytes.map((b, i) => {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
}

/** Parses an address; IPv4-mapped IPv6 becomes IPv4. */
export function parseAddress(s: string): { family: 4 | 6; bytes: number[] } | undefined {
  const v4 = parseV4(s);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseV6(s);
  if (!v6) return undefined;
  if (v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff) return { family: 4, bytes: v6.slice(12) };
  return { family: 6, bytes: v6 };
}

export function formatAddress(family: 4 | 6, bytes: number[]): string {
  return family === 4 ? bytes.join('.') : formatV6(bytes);
}

function parsePorts(text: string): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!m) throw new EntryError(`bad port '${text}' (expected a number or a range like 8000-8999)`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535 || lo > hi) throw new EntryError(`bad port range '${text}' (ports are 1-65535, low-high)`);
  return [lo, hi];
}

function cidr(text: string, portLo: number, portHi: number): NetEntry {
  const slash = text.indexOf('/');
  const addrText = slash === -1 ? text : text.slice(0, slash);
  const addr = parseAddress(addrText);
  if (!addr) throw new EntryError(`not an IP address: '${addrText}'`);
  const max = addr.family === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > (parseV4(addrText) || addr.family === 6 ? max : 128)) {
      throw new EntryError(`bad prefix length '/${p}' (IPv${addr.family} allows 0-${max})`);
    }
    prefix = Number(p);
    // ::ffff:a.b.c.d/N (N ≥ 96) names IPv4 space.
    if (addr.family === 4 && !parseV4(addrText)) {
      if (prefix < 96) throw new EntryError(`bad prefix length '/${p}' for an IPv4-mapped address (96-128)`);
      prefix -= 96;
    }
  }
  return { kind: 'ip', family: addr.family, address: formatAddress(addr.family, mask(addr.bytes, prefix)), prefix, portLo, portHi };
}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/** One `net.allow`/`net.deny` entry → IP rules (addresses) or a host pattern. */
export function parseNetEntry(raw: string): NetEntry[] {
  const text = raw.trim().toLowerCase();
  let host = text;
  let ports: [number, number] = [0, 65535];
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) throw new EntryError(`missing ']' in '${raw}'`);
    host = text.slice(1, close);
    const after = text.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw new EntryError(`unexpected '${after}' after ']'`);
      ports = parsePorts(after.slice(1));
    }
    return [cidr(host, ports[0], ports[1])];
  }
  if (text.includes('://')) throw new EntryError(`not a host, IP, CIDR or host:port (leave out the scheme)`);
  const colons = (text.match(/:/g) ?? []).length;
  if (colons === 1) {
    const i = text.indexOf(':');
    host = text.slice(0, i);
    ports = parsePorts(text.slice(i + 1));
  } else if (colons > 1) {
    return [cidr(text, 0, 65535)]; // bare IPv6 (use [addr]:port for a port)
  }
  if (host.includes('/') && !/^[\d.]+\/\d+$/.test(host)) throw new EntryError(`not a host, IP, CIDR or host:port`);
  if (host === '*') {
    return [
      { kind: 'ip', family: 4, address: '0.0.0.0', prefix: 0, portLo: ports[0], portHi: ports[1] },
      { kind: 'ip', family: 6, address: '::', prefix: 0, portLo: ports[0], portHi: ports[1] },
    ];
  }
  if (host === 'localhost') {
    return [
      { kind: 'ip', family: 4, address: '127.0.0.0', prefix: 8, portLo: ports[0], portHi: ports[1] },
      { kind: 'ip', family: 6, address: '::1', prefix: 128, portLo: ports[0], portHi: ports[1] },
    ];
  }
  if (/^[\d./]+$/.test(host)) return [cidr(host, ports[0], ports[1])];
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  const labels = (name.startsWith('*.') ? name.slice(2) : name).split('.');
  if (name.length > 253 || labels.some((l) => !LABEL.test(l))) {
    throw new EntryError(name.includes('*') ? `a wildcard must be a whole first label, like '*.example.com'` : `not a host, IP, CIDR or host:port`);
  }
  if (name.startsWith('*.') && labels.length < 2) throw new EntryError(`wildcard '${name}' is too broad (use '*' for every host)`);
  return [{ kind: 'host', pattern: name, portLo: ports[0], portHi: ports[1] }];
}

/** Longest prefix, then narrower port range, then deny, then first. */
export function decideNet(section: NetSection, address: string, port: number): Decision {
  const addr = parseAddress(address);
  if (!addr) return { effect: section.default, rule: -1 };
  let best: NetRule | undefined;
  for (const r of section.rules) {
    if (r.family !== addr.family || port < r.portLo || port > r.portHi) continue;
    const net = parseAddress(r.address);
    if (!net) continue;
    const masked = mask(addr.bytes, r.prefix);
    if (masked.some((b, i) => b !== net.bytes[i])) continue;
    if (
      !best ||
      r.prefix > best.prefix ||
      (r.prefix === best.prefix &&
        (r.portHi - r.portLo < best.portHi - best.portLo ||
          (r.portHi - r.portLo === best.portHi - best.portLo && r.effect === 'deny' && best.effect === 'allow')))
    ) {
      best = r;
    }
  }
  return best ? { effect: best.effect, rule: best.rule } : { effect: section.default, rule: -1 };
}

/** Whether a host pattern covers the name: exact, or `*.d` for strict subdomains of d. */
export function hostMatches(pattern: string, name: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (pattern.startsWith('*.')) return n.endsWith(pattern.slice(1));
  return n === pattern;
}

/** Host-name rules (explanations, and the filtering proxy to come). No match → undefined. */
export function decideHost(rules: HostRule[], name: string, port: number): Decision | undefined {
  let best: { r: HostRule; spec: number } | undefined;
  for (const r of rules) {
    if (port < r.portLo || port > r.portHi || !hostMatches(r.pattern, name)) continue;
    // exact names outrank any wildcard; longer wildcards outrank shorter ones
    const spec = r.pattern.startsWith('*.') ? r.pattern.length : 1000 + r.pattern.length;
    const width = r.portHi - r.portLo;
    if (
      !best ||
      spec > best.spec ||
      (spec === best.spec &&
        (width < best.r.portHi - best.r.portLo || (width === best.r.portHi - best.r.portLo && r.effect === 'deny' && best.r.effect === 'allow')))
    ) {
      best = { r, spec };
    }
  }
  return best && { effect: best.r.effect as Effect, rule: best.r.rule };
}

/**
 * Whether a connection to `name`:`port` could be allowed at all, whatever the name resolves
 * to: the default allows, a host rule allows the name, or an address rule allows some
 * address on that port. False: the proxy refuses it without resolving the name, which would
 * otherwise send a DNS query (a channel out) for a program that may reach nothing.
 */
export function nameMayReach(net: NetSection, name: string, port: number): boolean {
  if (net.default === 'allow') return true;
  if (decideHost(net.hosts ?? [], name, port)?.effect === 'allow') return true;
  return net.rules.some((r) => r.effect === 'allow' && port >= r.portLo && port <= r.portHi);
}

/** [network, prefix] of the address space that reaches this machine or its local networks. */
const LOCAL_V4: [number[], number][] = [
  [[0, 0, 0, 0], 8], // "this network", 0.0.0.0
  [[10, 0, 0, 0], 8], // private
  [[100, 64, 0, 0], 10], // carrier-grade NAT
  [[127, 0, 0, 0], 8], // loopback
  [[169, 254, 0, 0], 16], // link-local: cloud metadata (169.254.169.254)
  [[172, 16, 0, 0], 12], // private
  [[192, 0, 0, 0], 24], // IETF protocol assignments
  [[192, 168, 0, 0], 16], // private
  [[198, 18, 0, 0], 15], // benchmarking
  [[224, 0, 0, 0], 4], // multicast
  [[240, 0, 0, 0], 4], // reserved, broadcast
];
const LOCAL_V6: [number[], number][] = [
  [[0], 96], // ::, ::1 and the IPv4-compatible ::a.b.c.d
  [[0xfc], 7], // unique local
  [[0xfe, 0x80], 10], // link-local
  [[0xfe, 0xc0], 10], // site-local (deprecated)
  [[0xff], 8], // multicast
];

function inPrefix(bytes: number[], net: number[], prefix: number): boolean {
  for (let bit = 0; bit < prefix; bit++) {
    const m = 0x80 >> bit % 8;
    if (((bytes[bit >> 3] ?? 0) & m) !== ((net[bit >> 3] ?? 0) & m)) return false;
  }
  return true;
}

/**
 * Whether an address is local: loopback, private (RFC 1918), carrier-grade NAT,
 * link-local (cloud metadata), unique-local, multicast, unspecified or reserved — and
 * NAT64 / 6to4 forms of those. What a name matched only by a host rule may not reach
 * through the filtering proxy unless an address rule allows it (see decideNamedTarget).
 */
export function isLocalAddress(address: string): boolean {
  const a = parseAddress(address);
  if (!a) return true;
  if (a.family === 4) return LOCAL_V4.some(([n, p]) => inPrefix(a.bytes, n, p));
  const b = a.bytes;
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address.
  if (inPrefix(b, [0, 0x64, 0xff, 0x9b], 96)) return isLocalAddress(b.slice(12).join('.'));
  if (inPrefix(b, [0x20, 0x02], 16)) return isLocalAddress(b.slice(2, 6).join('.'));
  return LOCAL_V6.some(([n, p]) => inPrefix(b, n, p));
}

/** The verdict on one address of a named target (the filtering proxy, `sbx check net NAME`). */
export interface NamedDecision {
  effect: Effect;
  /** Origin index of the deciding rule (host or address), -1 = the net default. */
  rule: number;
  reason: string;
}

/**
 * A connection to NAME:PORT at ADDRESS, decided on the finished policy — the same net
 * section the engine decides a direct connect on:
 *   1. a host rule that denies the name (exact beats wildcard) → denied;
 *   2. an address rule that matches ADDRESS decides, as for a direct connect (an allowed
 *      name gets no exception from an address deny — not even another name's);
 *   3. no address rule: the net default; under a default deny, a name a host rule allows
 *      reaches ADDRESS only when it is not local (isLocalAddress): a wildcard that
 *      resolves to loopback, the LAN or the cloud metadata address is refused unless an
 *      address rule allows that address.
 * `name` is lower-case without a trailing dot; undefined for an IP literal (step 2/3 only).
 */
export function decideNamedTarget(net: NetSection, name: string | undefined, address: string, port: number): NamedDecision {
  const h = name === undefined ? undefined : decideHost(net.hosts ?? [], name, port);
  if (h?.effect === 'deny') return { effect: 'deny', rule: h.rule, reason: 'name denied' };
  const d = decideNet(net, address, port);
  if (d.rule !== -1) return { effect: d.effect, rule: d.rule, reason: d.effect === 'allow' ? 'address allowed' : 'address denied' };
  if (net.default === 'allow') return { effect: 'allow', rule: -1, reason: 'net default allow' };
  if (!h) return { effect: 'deny', rule: -1, reason: name === undefined ? 'address not allowed' : 'name not allowed' };
  if (isLocalAddress(address)) return { effect: 'deny', rule: h.rule, reason: 'local address: allow it by address' };
  return { effect: 'allow', rule: h.rule, reason: 'name allowed' };
}

/** A host as a client wrote it → lower-case, no trailing dot; an IP literal → canonical text. */
export function normalizeTargetHost(host: string): { name?: string; address?: string } {
  const bare = host.replace(/^\[|\]$/g, '');
  const literal = parseAddress(bare);
  if (literal) return { address: formatAddress(literal.family, literal.bytes) };
  const name = bare.toLowerCase().replace(/\.$/, '');
  const again = parseAddress(name);
  if (again) return { address: formatAddress(again.family, again.bytes) };
  return { name };
}
