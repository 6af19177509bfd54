/**
 * Addresses as the network code handles them: canonical text (IPv4-mapped IPv6 → IPv4,
 * RFC 5952 IPv6). Rules and decisions live in src/policy (net-plan.ts, net-match.ts).
 */
import { networkInterfaces } from 'node:os';
import { formatAddress, isLocalAddress, parseAddress } from '../policy/net-match.js';

/** Canonical text of an address ("::ffff:1.2.3.4" → "1.2.3.4"), or undefined if not an IP. */
export function canonicalIp(text: string): string | undefined {
  const a = parseAddress(text);
  return a && formatAddress(a.family, a.bytes);
}

/**
 * Whether a connection to `address` may reach a server on this machine: a local address
 * (loopback, private, link-local, unspecified …: isLocalAddress) or one of its interfaces'.
 */
export function mayBeThisMachine(address: string): boolean {
  const a = canonicalIp(address);
  if (a === undefined || isLocalAddress(a)) return true;
  return Object.values(networkInterfaces()).some((list) => list?.some((i) => canonicalIp(i.address) === a));
}
