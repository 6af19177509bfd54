/**
 * A resolved policy kept by a cache (policy-cache.ts, exec-policy-cache.ts) and handed to
 * many sessions. Sessions renumber the policies' ids (installed.ts setEntry) and set a few
 * top-level fields; nothing else of a resolved policy is written after it is built. So a
 * session gets its own copy of just those parts, and the cache's version is frozen: a write
 * anywhere else throws at once instead of reaching the next session. (A whole
 * structuredClone per hit was ~0.5 ms and ~300 KB of garbage, most of a scavenge, on every
 * `sbx exec` and terminal start.)
 */
import type { CompiledPolicy } from '../policy/compiled.js';
import type { ResolvedSource } from './policies.js';

/** Freezes `value` and everything reachable from it (plain objects and arrays; Maps, Sets and byte arrays cannot be frozen and are left as they are). */
export function freezeShared<T>(value: T): T {
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || seen.has(v) || ArrayBuffer.isView(v) || v instanceof Map || v instanceof Set) return;
    seen.add(v);
    Object.freeze(v);
    for (const k of Object.keys(v)) walk((v as Record<string, unknown>)[k]);
  };
  walk(value);
  return value;
}

/** A session's copy of a shared policy: its own ids (the policies and their commands' targets), the rest shared. */
function policyCopy(p: CompiledPolicy): CompiledPolicy {
  return { ...p, commands: p.commands.map((c) => ({ ...c })) };
}

/** A session's copy of a shared resolved policy: its own top level, policies and commands; the rules shared (frozen). */
export function sessionCopy<T extends ResolvedSource>(shared: T): T {
  return { ...shared, main: policyCopy(shared.main), overrides: shared.overrides.map(policyCopy) };
}
