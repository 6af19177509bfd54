/**
 * What "DNS is permitted only as far as allowed names need it" means concretely:
 *
 * When the allow-list has at least one hostname or wildcard and the net default is deny,
 * the nameservers listed in /etc/resolv.conf are allowed on port 53 (UDP and TCP: the
 * engine decides by address and port, not protocol). Nothing else on port 53 is allowed.
 * With only IPs/CIDRs/localhost allowed (or nothing), no DNS server is reachable.
 *
 * Query names are NOT filtered: a program allowed to reach the resolver can ask it about
 * any name (and so leak data through query names to whoever runs the resolver's upstream).
 * Resolving a denied name gives a program nothing it can connect to, but the lookup itself
 * is not blocked. The proxy resolves names itself, so proxied programs need no DNS at all.
 */
import { readFileSync } from 'node:fs';
import { canonicalIp } from './ip.js';

/** The nameserver addresses in a resolv.conf (missing file → none). */
export function nameservers(file = '/etc/resolv.conf'): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    // A scoped address (fe80::1%eth0) keeps its address part.
    const addr = m && canonicalIp(m[1]!.replace(/%.*/, ''));
    if (addr && !out.includes(addr)) out.push(addr);
  }
  return out;
}
