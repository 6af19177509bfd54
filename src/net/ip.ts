/**
 * IP addresses as the network policy sees them: parsing, canonical text, prefix matching,
 * and `decideNet`, the TS twin of the native engine's decision on a NetSection
 * (see src/policy/compiled.ts: mapped IPv6 is matched as IPv4; longest prefix wins; then
 * the narrower port range; then deny beats allow; no match → the section default).
 */
import { isIP } from 'node:net';
import type { Effect, NetRule, NetSection } from '../policy/compiled.js';

export interface Ip {
  family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

/** Parses an IPv4 or IPv6 literal (no brackets, no zone). IPv4-mapped IPv6 becomes IPv4. */
export function parseIp(text: string): Ip | undefined {
  const kind = isIP(text);
  if (kind === 4) return { family: 4, bytes: Uint8Array.from(text.split('.').map(Number)) };
  if (kind !== 6) return undefined;
  const bytes = parseV6(text);
  if (!bytes) return undefined;
  if (isMapped(bytes)) return { family: 4, bytes: bytes.slice(12) };
  return { family: 6, bytes };
}

function parseV6(text: string): Uint8Array | undefined {
  let head = text;
  let v4tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) !== -1) {
    const v4 = text.slice(lastColon + 1);
    if (isIP(v4) !== 4) return undefined;
    v4tail = v4.split('.').map(Number);
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const fill = 8 - left.length - right.length;
  if (halves.length === 1 ? fill !== 0 : fill < 0) return undefined;
  const all = [...left, ...new Array<number>(fill).fill(0), ...right];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  if (v4tail.length === 4) bytes.set(v4tail, 12);
  return bytes;
}

function isMapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Canonical text: dotted quad, or RFC 5952 compressed lowercase IPv6. */
export function formatIp(ip: Ip): string {
  if (ip.family === 4) return Array.from(ip.bytes).join('.');
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((ip.bytes[i]! << 8) | ip.bytes[i + 1]!);
  // Longest run (≥ 2) of zero groups becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best === -1) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** Zeroes the host bits. */
export function maskIp(ip: Ip, prefix: number): Ip {
  const bytes = ip.bytes.slice();
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - 8 * i));
    bytes[i]! &= bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  }
  return { family: ip.family, bytes };
}

export function inPrefix(ip: Ip, network: Ip, prefix: number): boolean {
  if (ip.family !== network.family) return false;
  const masked = maskIp(ip, prefix).bytes;
  return masked.every((b, i) => b === network.bytes[i]);
}

/** Canonical text of an address ("::ffff:1.2.3.4" → "1.2.3.4"), or undefined if not an IP. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip && formatIp(ip);
}

export interface NetDecision {
  effect: Effect;
  /** Index into origins; -1 = the section default. */
  rule: number;
}

/** The NetSection decision for one destination (same algorithm as native). */
export function decideNet(section: NetSection, address: string, port: number): NetDecision {
  const ip = parseIp(address);
  if (!ip) return { effect: 'deny', rule: -1 };
  let best: NetRule | undefined;
  for (const r of section.rules) {
    if (port < r.portLo || port > r.portHi) continue;
    const net = parseIp(r.address);
    const prefix = net && net.family === 4 && r.family === 6 ? r.prefix - 96 : r.prefix;
    if (!net || !inPrefix(ip, net, prefix)) continue;
    if (!best || better(r, prefix, best)) best = r;
  }
  return best ? { effect: best.effect, rule: best.rule } : { effect: section.default, rule: -1 };
}

function better(r: NetRule, prefix: number, than: NetRule): boolean {
  const thanPrefix = than.family === 6 && parseIp(than.address)?.family === 4 ? than.prefix - 96 : than.prefix;
  if (prefix !== thanPrefix) return prefix > thanPrefix;
  const width = r.portHi - r.portLo;
  const thanWidth = than.portHi - than.portLo;
  if (width !== thanWidth) return width < thanWidth;
  return r.effect === 'deny' && than.effect === 'allow';
}

/** A NetRule for one address (host route) or network. */
export function netRule(rule: number, effect: Effect, ip: Ip, prefix: number, portLo = 0, portHi = 65535): NetRule {
  return { rule, effect, family: ip.family, address: formatIp(maskIp(ip, prefix)), prefix, portLo, portHi };
}
