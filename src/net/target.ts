/**
 * What the filtering proxy may connect to for a request to HOST:PORT: the host resolved
 * here (src/net supplies resolutions), every address decided by src/policy's
 * decideNamedTarget on the asking program's *finished* policy — the same net section the
 * engine decides its direct connects on — and on every policy it was narrowed within (a
 * nested `sbx exec`): allowed only if all of them allow it, as the engine's decide_all.
 * See decideNamedTarget for the steps; in short: a denied name is refused, an address rule
 * decides its address (a wildcard-allowed name gets no exception from an address deny), and
 * under a default deny a name allowed only by a host rule reaches no local address
 * (loopback, LAN, link-local/cloud metadata).
 * Names are matched lower-case without a trailing dot; an IP literal is decided like a
 * direct connect.
 */
import { OUTER_RULE, type NetSection } from '../policy/compiled.js';
import { decideNamedTarget, nameMayReach, normalizeTargetHost } from '../policy/net-match.js';
import type { NetNames } from './names.js';
import type { Resolver } from './resolve.js';

export interface TargetPolicy {
  /**
   * The current finished net sections, host rules included (they change when names are
   * refreshed): the asking program's own first, then each policy it was narrowed within.
   * Empty: the policy is not known (the request is refused).
   */
  nets(): NetSection[];
  /** mode: audit — the program's own refusals are only reported (never an outer policy's). */
  audit?(): boolean;
}

export type TargetDecision =
  | { ok: true; addresses: string[] }
  | { ok: false; rule: number; reason: string; address?: string; unresolved?: boolean };

type ChainDecision = { effect: 'allow' | 'deny'; rule: number; reason: string };

/**
 * decideNamedTarget on the program's own section, then on each outer one: the own refusal,
 * else the first outer refusal (OUTER_RULE). As the engine's decide_all, a refusal that audit
 * mode lifts still asks the outer sections, which are enforced whatever the inner mode.
 */
function decideChain(policy: TargetPolicy, nets: NetSection[], name: string | undefined, address: string, port: number): ChainDecision {
  if (nets.length === 0) return { effect: 'deny', rule: -1, reason: 'the policy of the program that asked is unknown' };
  const own = decideNamedTarget(nets[0]!, name, address, port);
  if (own.effect !== 'allow' && !(policy.audit?.() ?? false)) return own;
  for (const net of nets.slice(1)) {
    const d = decideNamedTarget(net, name, address, port);
    if (d.effect !== 'allow') return { effect: 'deny', rule: OUTER_RULE, reason: d.reason };
  }
  return own;
}

export async function decideTarget(policy: TargetPolicy, resolver: Resolver, names: NetNames, host: string, port: number): Promise<TargetDecision> {
  const t = normalizeTargetHost(host);
  if (t.address !== undefined) {
    const d = decideChain(policy, policy.nets(), undefined, t.address, port);
    return d.effect === 'allow' ? { ok: true, addresses: [t.address] } : { ok: false, rule: d.rule, reason: d.reason, address: t.address };
  }
  const name = t.name!;
  const early = decideChain(policy, policy.nets(), name, '0.0.0.0', port);
  if (early.reason === 'name denied' || policy.nets().length === 0) return { ok: false, rule: early.rule, reason: early.reason };
  // A name no policy of the chain could allow is not resolved: the query alone would carry
  // what the program put in the name out to a resolver (audit mode resolves, as it allows).
  if (!(policy.audit?.() ?? false) && !policy.nets().every((n) => nameMayReach(n, name, port)))
    return { ok: false, rule: early.rule, reason: 'no rule allows this name' };
  const res = name === 'localhost' ? { addresses: ['127.0.0.1', '::1'] } : await resolver.resolve(name);
  for (const a of res.addresses) names.record(name, a);
  if (res.addresses.length === 0) return { ok: false, rule: -1, reason: 'name does not resolve', unresolved: true };
  // Decided after resolving, on the policies as they are now (a refresh may have replaced them).
  const nets = policy.nets();
  const usable: string[] = [];
  let refused: { rule: number; reason: string; address: string } | undefined;
  for (const a of res.addresses) {
    const d = decideChain(policy, nets, name, a, port);
    if (d.effect === 'allow') usable.push(a);
    else refused ??= { rule: d.rule, reason: d.reason, address: a };
  }
  if (usable.length > 0) return { ok: true, addresses: usable };
  return { ok: false, ...refused! };
}
