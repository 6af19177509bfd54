/**
 * The net section as the compiler leaves it: a plan, replayed into rules whenever the
 * resolutions of its host names are known or change. Replaying is what applies the
 * precedence and the trust rule to the addresses a name resolves to, so an untrusted
 * layer's name is checked against the policy below it *after* resolution, every time:
 *
 *   user:    net.deny:  ["127.0.0.2/31"]
 *   project: net.allow: ["svc.test"]        (untrusted; svc.test → 127.0.0.2)
 *   → the host rule stands (the user allows every name), its address is dropped.
 *
 * Pure: no I/O. src/net supplies the resolutions (and refreshes them per TTL);
 * finishPolicy (finish.ts) calls replayNet with them.
 */
import type { Effect, HostRule, NetRule, NetSection } from './compiled.js';
import { formatAddress, hostMatches, parseAddress } from './net-match.js';

/** One net entry of one layer, parsed, with its origin index. */
export interface NetPlanEntry {
  effect: Effect;
  rule: number;
  /** file:line:col (or preset, flag) and the text as written, for "dropped" lines. */
  where: string;
  text: string;
  /** Address rules written as IPs/CIDRs. */
  ips: NetRule[];
  /** Names and wildcards. */
  hosts: HostRule[];
}

/** The net part of one layer, in layer order. */
export interface NetStep {
  trusted: boolean;
  /** `sbx exec --deny-net`/`--allow-net`: drop every allow below, default deny. */
  reset: boolean;
  /** The layer writes `net.allow` (an allow-list turns the default to deny). */
  allowList: boolean;
  entries: NetPlanEntry[];
}

export interface ReplayResult {
  net: NetSection;
  /** Allows of untrusted layers that were dropped (names, and addresses after resolution). */
  dropped: string[];
  /** Names that resolved to nothing (their rules match no address). */
  unresolved: { where: string; name: string }[];
}

function sameRange(a: NetRule, b: NetRule): boolean {
  return a.family === b.family && a.address === b.address && a.prefix === b.prefix && a.portLo === b.portLo && a.portHi === b.portHi;
}

/** Whether network range `a` contains range `b` (addresses and ports). */
function netContains(a: NetRule, b: NetRule): boolean {
  if (a.family !== b.family || a.prefix > b.prefix || a.portLo > b.portLo || a.portHi < b.portHi) return false;
  const x = parseAddress(a.address)!.bytes;
  const y = parseAddress(b.address)!.bytes;
  for (let bit = 0; bit < a.prefix; bit++) {
    const m = 0x80 >> bit % 8;
    if ((x[bit >> 3]! & m) !== (y[bit >> 3]! & m)) return false;
  }
  return true;
}

function netOverlaps(a: NetRule, b: NetRule): boolean {
  if (a.family !== b.family || a.portHi < b.portLo || b.portHi < a.portLo) return false;
  const shorter = a.prefix <= b.prefix ? a : b;
  const longer = shorter === a ? b : a;
  return netContains({ ...shorter, portLo: 0, portHi: 65535 }, { ...longer, portLo: 0, portHi: 65535 });
}

/** An untrusted address allow stands only where nothing below denies any of it and something below allows all of it. */
function safeNet(below: NetSection, r: NetRule): boolean {
  if (below.rules.some((d) => d.effect === 'deny' && netOverlaps(d, r))) return false;
  return below.default === 'allow' || below.rules.some((a) => a.effect === 'allow' && netContains(a, r));
}

/** An untrusted name allow stands only where no name rule below denies an overlapping name, and the names below allow it. */
function safeHost(below: NetSection, h: HostRule): boolean {
  const hosts = below.hosts ?? [];
  const wild = h.pattern.startsWith('*.');
  const portsOverlap = (d: HostRule) => d.portLo <= h.portHi && h.portLo <= d.portHi;
  const namesOverlap = (d: HostRule) =>
    hostMatches(d.pattern, h.pattern.replace(/^\*\./, 'x.')) || (wild && (d.pattern.endsWith(h.pattern.slice(1)) || d.pattern === h.pattern));
  if (hosts.some((d) => d.effect === 'deny' && portsOverlap(d) && namesOverlap(d))) return false;
  if (below.default === 'allow') return true;
  return !wild && hosts.some((a) => a.effect === 'allow' && a.portLo <= h.portLo && a.portHi >= h.portHi && hostMatches(a.pattern, h.pattern));
}

/** One address of a name as the rule the engine evaluates (IPv4-mapped → IPv4). */
export function addressRule(rule: number, effect: Effect, address: string, portLo: number, portHi: number): NetRule | undefined {
  const a = parseAddress(address);
  if (!a) return undefined;
  return { rule, effect, family: a.family, address: formatAddress(a.family, a.bytes), prefix: a.family === 4 ? 32 : 128, portLo, portHi };
}

/**
 * Layers in order → the net section. `resolved` maps an exact name to its addresses; a
 * name missing from it contributes no address rule (and is reported as unresolved only
 * when `reportUnresolved`).
 */
export function replayNet(steps: readonly NetStep[], resolved: ReadonlyMap<string, readonly string[]>, reportUnresolved = true): ReplayResult {
  const net: NetSection = { default: 'allow', rules: [], hosts: [] };
  const dropped: string[] = [];
  const unresolved: ReplayResult['unresolved'] = [];
  for (const step of steps) {
    const before: NetSection | undefined = step.trusted ? undefined : { default: net.default, rules: [...net.rules], hosts: [...net.hosts!] };
    if (step.reset) {
      net.rules = net.rules.filter((r) => r.effect === 'deny');
      net.hosts = net.hosts!.filter((r) => r.effect === 'deny');
      net.default = 'deny';
    }
    if (step.allowList) net.default = 'deny';
    for (const e of step.entries) {
      const check = e.effect === 'allow' ? before : undefined;
      const rules: NetRule[] = [...e.ips];
      for (const h of e.hosts) {
        if (check && !safeHost(check, h)) {
          dropped.push(`${e.where}: net.allow ${JSON.stringify(e.text)} (untrusted)`);
          continue;
        }
        net.hosts!.push(h);
        // A wildcard cannot be resolved ahead: the filtering proxy decides it by name.
        if (h.pattern.startsWith('*.')) continue;
        const addrs = resolved.get(h.pattern);
        if ((!addrs || addrs.length === 0) && reportUnresolved) unresolved.push({ where: e.where, name: h.pattern });
        for (const a of addrs ?? []) {
          const r = addressRule(h.rule, h.effect, a, h.portLo, h.portHi);
          if (r) rules.push(r);
        }
      }
      for (const r of rules) {
        if (check && !safeNet(check, r)) {
          dropped.push(`${e.where}: net.allow ${JSON.stringify(e.text)} → ${r.address}/${r.prefix} (untrusted)`);
          continue;
        }
        if (!net.rules.some((x) => sameRange(x, r) && x.effect === r.effect)) net.rules.push(r);
      }
    }
  }
  return { net, dropped, unresolved };
}

/** The exact names a plan needs resolved (wildcards are the proxy's). */
export function planNames(steps: readonly NetStep[]): string[] {
  const out = new Set<string>();
  for (const s of steps) for (const e of s.entries) for (const h of e.hosts) if (!h.pattern.startsWith('*.')) out.add(h.pattern);
  return [...out];
}

/**
 * The plan of a net section: its own, or — for a section built by hand (tests, or a
 * policy from before plans) — one trusted step holding its rules and names.
 */
export function planOf(net: NetSection): NetStep[] {
  if (net.plan) return net.plan;
  const entries: NetPlanEntry[] = [
    ...net.rules.map((r) => ({ effect: r.effect, rule: r.rule, where: '', text: '', ips: [r], hosts: [] })),
    ...(net.hosts ?? []).map((h) => ({ effect: h.effect, rule: h.rule, where: '', text: '', ips: [], hosts: [h] })),
  ];
  return [{ trusted: true, reset: false, allowList: net.default === 'deny', entries }];
}
