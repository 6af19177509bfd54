/**
 * The reverse map address → name, fed by the resolver (names from the policy) and the
 * proxy (names programs asked for), so a denial the engine reports as "1.2.3.4:443" can be
 * logged as "api.example.test (1.2.3.4:443)".
 */
import { canonicalIp } from './ip.js';

export class NetNames {
  private readonly byAddress = new Map<string, string[]>();

  /** Remembers that `name` resolved to `address` (most recent name first; a few kept). */
  record(name: string, address: string): void {
    const a = canonicalIp(address);
    if (!a) return;
    const list = (this.byAddress.get(a) ?? []).filter((n) => n !== name);
    list.unshift(name);
    this.byAddress.set(a, list.slice(0, 4));
    // Bound memory: the proxy may see many names over a long session.
    if (this.byAddress.size > 10_000) this.byAddress.delete(this.byAddress.keys().next().value!);
  }

  /** Names known for an address (any textual form, mapped IPv6 included), most recent first. */
  lookup(address: string): string[] {
    const a = canonicalIp(address);
    return a ? (this.byAddress.get(a) ?? []) : [];
  }

  /**
   * A log label for an engine target ("1.2.3.4:443", "[::1]:80", "@abstract", a path):
   * "name (target)" when the address is known, else the target unchanged.
   */
  describe(target: string): string {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(target) ?? /^([^:]+):(\d+)$/.exec(target);
    if (!m) return target;
    const names = this.lookup(m[1]!);
    return names.length > 0 ? `${names.join('|')} (${target})` : target;
  }
}

/** One log label for a proxy refusal: "name (addr:port)", "name:port" (did not resolve), "addr:port". */
export function describeDenial(d: { name: string | undefined; address: string | undefined; port: number }): string {
  const where = d.address === undefined ? undefined : d.address.includes(':') ? `[${d.address}]:${d.port}` : `${d.address}:${d.port}`;
  if (d.name === undefined) return where ?? `?:${d.port}`;
  return where === undefined ? `${d.name}:${d.port}` : `${d.name} (${where})`;
}
