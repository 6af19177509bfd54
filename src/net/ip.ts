/**
 * Addresses as the network code handles them: canonical text (IPv4-mapped IPv6 → IPv4,
 * RFC 5952 IPv6) and NetRules for one host. Decisions themselves use decideNet from
 * src/policy/net-match.ts, the TS twin of the native engine.
 */
import { formatAddress, parseAddress } from '../policy/net-match.js';
import type { Effect, NetRule } from '../policy/compiled.js';

/** Canonical text of an address ("::ffff:1.2.3.4" → "1.2.3.4"), or undefined if not an IP. */
export function canonicalIp(text: string): string | undefined {
  const a = parseAddress(text);
  return a && formatAddress(a.family, a.bytes);
}

/** A NetRule for exactly one address (a /32 or /128). */
export function hostRule(rule: number, effect: Effect, address: string, portLo = 0, portHi = 65535): NetRule | undefined {
  const a = parseAddress(address);
  if (!a) return undefined;
  return { rule, effect, family: a.family, address: formatAddress(a.family, a.bytes), prefix: a.family === 4 ? 32 : 128, portLo, portHi };
}
