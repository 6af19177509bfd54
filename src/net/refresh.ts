/**
 * Keeps the resolved addresses of policy hostnames fresh: each name is re-resolved before
 * its TTL runs out (at 80 % of the shortest TTL, clamped to 1 s … 5 min). An address that
 * drops out of the answers stays allowed for a grace period, so a connection a program
 * resolved a moment ago is not refused mid-rotation. A change yields a new CompiledPolicy
 * with the same id, for engineSetPolicy (which replaces a snapshot atomically).
 */
import type { NetNames } from './names.js';
import type { Resolver } from './resolve.js';

const MIN_MS = 1_000;
const MAX_MS = 300_000;

export class NameTable {
  /** name → (address → last time it was in an answer, ms). */
  private readonly seen = new Map<string, Map<string, number>>();

  constructor(
    private readonly resolver: Resolver,
    private readonly names: NetNames,
    private readonly graceMs = 60_000,
  ) {}

  /** Current addresses per name. */
  current(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [name, addrs] of this.seen) out.set(name, [...addrs.keys()].sort());
    return out;
  }

  /** Re-resolves `names`; returns whether any name's address set changed and when to run again. */
  async refresh(names: readonly string[], now = Date.now()): Promise<{ changed: boolean; nextMs: number }> {
    let changed = false;
    let minTtl = Infinity;
    await Promise.all(
      names.map(async (name) => {
        const r = await this.resolver.resolve(name).catch(() => ({ addresses: [] as string[], ttl: 30 }));
        minTtl = Math.min(minTtl, r.ttl);
        const addrs = this.seen.get(name) ?? new Map<string, number>();
        const before = [...addrs.keys()].sort().join(',');
        for (const a of r.addresses) {
          addrs.set(a, now);
          this.names.record(name, a);
        }
        for (const [a, t] of addrs) if (!r.addresses.includes(a) && now - t >= this.graceMs) addrs.delete(a);
        this.seen.set(name, addrs);
        if ([...addrs.keys()].sort().join(',') !== before) changed = true;
      }),
    );
    const nextMs = Number.isFinite(minTtl) ? Math.min(MAX_MS, Math.max(MIN_MS, minTtl * 800)) : MAX_MS;
    return { changed, nextMs };
  }
}

/** Runs `table.refresh` on its own schedule until stopped; calls onChange after a change. */
export function startRefresher(
  table: NameTable,
  names: readonly string[],
  firstMs: number,
  onChange: () => void,
): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      table.refresh(names).then(
        ({ changed, nextMs }) => {
          if (changed && !stopped) onChange();
          schedule(nextMs);
        },
        () => schedule(MIN_MS),
      );
    }, ms);
    // A refresher never keeps a process alive on its own.
    timer.unref();
  };
  schedule(firstMs);
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
