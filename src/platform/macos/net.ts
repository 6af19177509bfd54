/**
 * IP rules → Seatbelt `network-outbound` rules.
 *
 * What Seatbelt can say (reported by several projects that ran sandbox-exec; not
 * re-verified here, no Mac was available): the host in `(remote ip "HOST:PORT")` must be
 * `*` or `localhost` — an IP literal or a hostname is a profile syntax error ("host must be
 * * or localhost in network address") — and PORT is one number or `*`, no ranges.
 * `localhost` covers 127.0.0.1 and ::1 (also 0.0.0.0, which reaches the same local
 * services), not the rest of 127/8. So Seatbelt sees only two address classes per port:
 * "localhost" and "anything". mise's generator wrote resolved IPs into `remote ip`, which
 * such a Seatbelt refuses to load.
 *
 * Translation, erring on deny: for each port range that no rule boundary splits, a class
 * is allowed only when compiled.ts allows EVERY address of that class on that port;
 * otherwise it is denied. Consequences, stated in the profile too: a per-host allow-list
 * (`net.allow: [github.com]`) allows no remote host on macOS (only localhost if listed),
 * and a per-host deny under a default allow denies every remote host on the ports it
 * covers. Use `net.allow` absent (all hosts) or `[]` (none) for exact behaviour.
 */
import type { NetRule, NetSection } from '../../policy/compiled.js';
import { decideNet, parseAddress } from '../../policy/net-match.js';

const PORT_LO = 1;
const PORT_HI = 65535;
/** Most single-port filters we write for one class before falling back to deny. */
const MAX_PORTS = 1024;

/** The two addresses Seatbelt's `localhost` names (it also covers 0.0.0.0). */
const LOOPBACK = ['127.0.0.1', '::1'];

function isSeatbeltLocalhost(r: NetRule): boolean {
  if (r.family === 4) return r.prefix === 32 && r.address === '127.0.0.1';
  const a = parseAddress(r.address);
  return r.prefix === 128 && a?.family === 6 && a.bytes.every((b, i) => b === (i === 15 ? 1 : 0));
}

/** Port intervals no rule boundary splits. */
function intervals(net: NetSection): [number, number][] {
  const cuts = new Set<number>([PORT_LO, PORT_HI + 1]);
  for (const r of net.rules) {
    cuts.add(Math.max(PORT_LO, r.portLo));
    cuts.add(Math.min(PORT_HI, r.portHi) + 1);
  }
  const xs = [...cuts].filter((x) => x >= PORT_LO && x <= PORT_HI + 1).sort((a, b) => a - b);
  return xs.slice(0, -1).map((x, i) => [x, xs[i + 1]! - 1]);
}

/** Every non-localhost address allowed on `port`? (else the class is denied there). */
function anyAllowed(net: NetSection, port: number): boolean {
  for (const r of net.rules) {
    if (r.effect === 'deny' && r.prefix > 0 && !isSeatbeltLocalhost(r) && port >= r.portLo && port <= r.portHi) return false;
  }
  // An address no specific rule names: decided by /0 rules and the default.
  const generic = net.rules.filter((r) => r.prefix === 0);
  for (const any of ['0.0.0.0', '::']) {
    if (decideNet({ default: net.default, rules: generic }, any, port).effect === 'deny') return false;
  }
  return true;
}

function localhostAllowed(net: NetSection, port: number): boolean {
  return LOOPBACK.every((a) => decideNet(net, a, port).effect === 'allow');
}

export interface NetLines {
  lines: string[];
  /** Human notes on what Seatbelt could not express (already erring on deny). */
  notes: string[];
}

function classLines(host: 'localhost' | '*', decide: (port: number) => boolean, ivs: [number, number][], deny: string, allow: string): NetLines {
  const decided = ivs.map(([lo, hi]) => ({ lo, hi, ok: decide(lo) }));
  const count = (ok: boolean) => decided.filter((d) => d.ok === ok).reduce((n, d) => n + d.hi - d.lo + 1, 0);
  const ports = (ok: boolean) => decided.filter((d) => d.ok === ok).flatMap((d) => Array.from({ length: d.hi - d.lo + 1 }, (_, i) => d.lo + i));
  const rule = (effect: string, ps: (number | '*')[]) => `(${effect} network-outbound ${ps.map((p) => `(remote ip "${host}:${p}")`).join(' ')})`;
  const denied = count(false);
  const allowed = count(true);
  if (denied === 0) return { lines: [rule(allow, ['*'])], notes: [] };
  if (allowed === 0) return { lines: [rule(deny, ['*'])], notes: [] };
  if (denied <= MAX_PORTS) return { lines: [rule(allow, ['*']), rule(deny, ports(false))], notes: [] };
  if (allowed <= MAX_PORTS) return { lines: [rule(deny, ['*']), rule(allow, ports(true))], notes: [] };
  const ranges = decided.filter((d) => d.ok).map((d) => (d.lo === d.hi ? `${d.lo}` : `${d.lo}-${d.hi}`));
  return {
    lines: [rule(deny, ['*'])],
    notes: [`${host === '*' ? 'remote hosts' : 'localhost'}: allowed ports ${ranges.join(',')} are too many to list one by one; denied`],
  };
}

/** Rules for IP traffic only (unix sockets are their own section): "anything" first, localhost after it. */
export function netLines(net: NetSection, deny: string, allow: string): NetLines {
  const ivs = intervals(net);
  const anyClass = classLines('*', (p) => anyAllowed(net, p), ivs, deny, allow);
  const local = classLines('localhost', (p) => localhostAllowed(net, p), ivs, deny, allow);
  const notes = [...anyClass.notes, ...local.notes];
  const named = net.rules.filter((r) => r.effect === 'allow' && r.prefix > 0 && !isSeatbeltLocalhost(r));
  if (named.length > 0 && ivs.some(([lo]) => !anyAllowed(net, lo)))
    notes.push(`Seatbelt cannot filter by remote address: ${named.length} allow rule(s) for specific addresses are not enforceable and deny instead`);
  const namedDeny = net.rules.filter((r) => r.effect === 'deny' && r.prefix > 0 && !isSeatbeltLocalhost(r));
  if (namedDeny.length > 0)
    notes.push(`Seatbelt cannot filter by remote address: ${namedDeny.length} deny rule(s) for specific addresses deny every remote host on their ports`);
  return { lines: [...anyClass.lines, ...local.lines], notes };
}
