/**
 * Name resolution for the network policy (A + AAAA, with TTLs).
 *
 * Production: the system's DNS servers (node:dns, which reads /etc/resolv.conf), plus the
 * system lookup (getaddrinfo: /etc/hosts) so a name only in /etc/hosts still resolves.
 *
 * TESTS ONLY: `SBX_HOSTS_FILE=/path` in the environment of the process that prepares the
 * network (sbx exec, the supervisor) makes every resolution read that file instead — a
 * hosts(5)-format file ("127.0.0.2 api.example.test other.example.test") — and never
 * touch DNS. Names missing from it do not resolve. `SBX_HOSTS_TTL` (seconds, default 2)
 * sets the TTL it reports, so tests can watch a refresh. It is not a feature for users:
 * anyone who can set the supervisor's environment already controls the sandbox.
 */
import { readFileSync } from 'node:fs';
import { canonicalIp } from './ip.js';

export interface Resolution {
  /** Canonical IPv4/IPv6 addresses; empty when the name does not resolve. */
  addresses: string[];
  /** Seconds the answer may be cached. */
  ttl: number;
}

export interface Resolver {
  /** "dns" or "hosts-file <path>", for logs and `sbx doctor`. */
  readonly description: string;
  resolve(name: string): Promise<Resolution>;
}

/** TTL used for negative answers and for answers without a TTL (system lookup). */
const FALLBACK_TTL = 30;

export class DnsResolver implements Resolver {
  readonly description = 'dns';

  async resolve(name: string): Promise<Resolution> {
    const dns = (await import('node:dns')).promises;
    const addresses = new Set<string>();
    let ttl = Infinity;
    const [v4, v6, sys] = await Promise.allSettled([
      dns.resolve4(name, { ttl: true }),
      dns.resolve6(name, { ttl: true }),
      dns.lookup(name, { all: true, verbatim: true }),
    ]);
    for (const r of [v4, v6]) {
      if (r.status !== 'fulfilled') continue;
      for (const a of r.value) {
        const c = canonicalIp(a.address);
        if (c) addresses.add(c);
        ttl = Math.min(ttl, a.ttl);
      }
    }
    if (sys.status === 'fulfilled') {
      for (const a of sys.value) {
        const c = canonicalIp(a.address);
        if (c && !addresses.has(c)) {
          addresses.add(c);
          ttl = Math.min(ttl, FALLBACK_TTL);
        }
      }
    }
    return { addresses: [...addresses], ttl: Number.isFinite(ttl) ? Math.max(ttl, 1) : FALLBACK_TTL };
  }
}

/** Test-only resolver backed by a hosts(5)-format file, re-read on every call. */
export class HostsFileResolver implements Resolver {
  readonly description: string;

  constructor(
    readonly file: string,
    readonly ttl = 2,
  ) {
    this.description = `hosts-file ${file}`;
  }

  async resolve(name: string): Promise<Resolution> {
    const wanted = name.toLowerCase().replace(/\.$/, '');
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      // A missing file resolves nothing: fail closed.
    }
    const addresses: string[] = [];
    for (const line of text.split('\n')) {
      const [addr, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
      if (!addr || !names.some((n) => n.toLowerCase() === wanted)) continue;
      const c = canonicalIp(addr);
      if (c && !addresses.includes(c)) addresses.push(c);
    }
    return { addresses, ttl: this.ttl };
  }
}

/** The resolver for this process: SBX_HOSTS_FILE (tests) or DNS. */
export function createResolver(env: NodeJS.ProcessEnv = process.env): Resolver {
  const file = env.SBX_HOSTS_FILE;
  if (file) {
    const ttl = Number(env.SBX_HOSTS_TTL ?? '2');
    return new HostsFileResolver(file, Number.isFinite(ttl) && ttl > 0 ? ttl : 2);
  }
  return new DnsResolver();
}
