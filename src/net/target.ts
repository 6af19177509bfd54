/**
 * What the filtering proxy may connect to for a request to HOST:PORT: the host resolved
 * here (src/net supplies resolutions), every address decided by src/policy's
 * decideNamedTarget on the session's *finished* policy — the same net section the engine
 * decides direct connects on. See decideNamedTarget for the steps; in short: a denied
 * name is refused, an address rule decides its address (a wildcard-allowed name gets no
 * exception from an address deny), and under a default deny a name allowed only by a
 * host rule reaches no local address (loopback, LAN, link-local/cloud metadata).
 * Names are matched lower-case without a trailing dot; an IP literal is decided like a
 * direct connect.
 */
import type { NetSection } from '../policy/compiled.js';
import { decideNamedTarget, normalizeTargetHost } from '../policy/net-match.js';
import type { NetNames } from './names.js';
import type { Resolver } from './resolve.js';

export interface TargetPolicy {
  /** The current finished net section, host rules included (it changes when names are refreshed). */
  net(): NetSection;
}

export type TargetDecision =
  | { ok: true; addresses: string[] }
  | { ok: false; rule: number; reason: string; address?: string; unresolved?: boolean };

export async function decideTarget(policy: TargetPolicy, resolver: Resolver, names: NetNames, host: string, port: number): Promise<TargetDecision> {
  const t = normalizeTargetHost(host);
  if (t.address !== undefined) {
    const d = decideNamedTarget(policy.net(), undefined, t.address, port);
    return d.effect === 'allow' ? { ok: true, addresses: [t.address] } : { ok: false, rule: d.rule, reason: d.reason, address: t.address };
  }
  const name = t.name!;
  const early = decideNamedTarget(policy.net(), name, '0.0.0.0', port);
  if (early.reason === 'name denied') return { ok: false, rule: early.rule, reason: early.reason };
  const res = name === 'localhost' ? { addresses: ['127.0.0.1', '::1'] } : await resolver.resolve(name);
  for (const a of res.addresses) names.record(name, a);
  if (res.addresses.length === 0) return { ok: false, rule: -1, reason: 'name does not resolve', unresolved: true };
  // Decided after resolving, on the policy as it is now (a refresh may have replaced it).
  const net = policy.net();
  const usable: string[] = [];
  let refused: { rule: number; reason: string; address: string } | undefined;
  for (const a of res.addresses) {
    const d = decideNamedTarget(net, name, a, port);
    if (d.effect === 'allow') usable.push(a);
    else refused ??= { rule: d.rule, reason: d.reason, address: a };
  }
  if (usable.length > 0) return { ok: true, addresses: usable };
  return { ok: false, ...refused! };
}
