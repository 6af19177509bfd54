/**
 * Addresses as the network code handles them: canonical text (IPv4-mapped IPv6 → IPv4,
 * RFC 5952 IPv6). Rules and decisions live in src/policy (net-plan.ts, net-match.ts).
 */
import { networkInterfaces } from 'node:os';
import { formatAddress, parseAddress } from '../policy/net-match.js';

/** Canonical text of an address ("::ffff:1.2.3.4" → "1.2.3.4"), or undefined if not an IP. */
export function canonicalIp(text: string): string | undefined {
  const a = parseAddress(text);
  return a && formatAddress(a.family, a.bytes);
}

/**
 * Whether a connection to `address` reaches a server on this machine: loopback,
 * unspecified (the kernel connects it to this host), or one of its interfaces' addresses.
 * Not the rest of the local network (a LAN host a wildcard name resolves to).
 */
export function mayBeThisMachine(address: string): boolean {
  const p = parseAddress(address);
  if (!p) return true;
  const b = p.bytes;
  if (p.family === 4 && (b[0] === 127 || b.every((x) => x === 0))) return true;
  if (p.family === 6 && b.slice(0, 15).every((x) => x === 0) && (b[15] === 0 || b[15] === 1)) return true;
  const a = formatAddress(p.family, b);
  return Object.values(networkInterfaces()).some((list) => list?.some((i) => canonicalIp(i.address) === a));
}
