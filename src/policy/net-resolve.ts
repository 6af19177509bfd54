/**
 * Host names → addresses, at compile time (the engine only sees IPs). The hosts file
 * comes first; then DNS with a short timeout. `SBX_HOSTS_FILE` replaces /etc/hosts AND
 * turns DNS off, so tests are deterministic. Results are cached for a minute (a later
 * change adds TTL-driven refresh and a filtering proxy for wildcard names).
 */
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import type { Env } from './paths.js';

const TTL_MS = 60_000;
const TIMEOUT_MS = 2_000;
const cache = new Map<string, { at: number; addresses: string[] }>();

function hostsFileEntries(file: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return map;
  }
  for (const line of text.split('\n')) {
    const [addr, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (!addr || names.length === 0) continue;
    for (const n of names) {
      const key = n.toLowerCase();
      map.set(key, [...(map.get(key) ?? []), addr]);
    }
  }
  return map;
}

async function dnsLookup(name: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string[]>((resolve) => {
    timer = setTimeout(() => resolve([]), TIMEOUT_MS);
  });
  try {
    return await Promise.race([lookup(name, { all: true }).then((r) => r.map((a) => a.address)).catch(() => []), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Addresses for a name; [] when it does not resolve (an allow then simply grants nothing). */
export async function resolveHost(name: string, env: Env = process.env): Promise<string[]> {
  const hostsFile = env.SBX_HOSTS_FILE;
  const key = `${hostsFile ?? ''}\0${name}`;
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.addresses;
  const fromFile = hostsFileEntries(hostsFile ?? '/etc/hosts').get(name.toLowerCase());
  const addresses = fromFile ?? (hostsFile ? [] : await dnsLookup(name));
  cache.set(key, { at: Date.now(), addresses });
  return addresses;
}

/** Nameservers (for the implicit DNS allow when hosts are allow-listed). SBX_RESOLV_CONF overrides. */
export function nameservers(env: Env = process.env): string[] {
  let text = '';
  try {
    text = readFileSync(env.SBX_RESOLV_CONF ?? '/etc/resolv.conf', 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((a): a is string => a !== undefined)
    .map((a) => a.replace(/%.*$/, ''));
}

export function clearResolveCache(): void {
  cache.clear();
}
