/**
 * What a computation read of an environment, for caches of its answer: an exec build's
 * policy (src/supervisor/policies.ts) and the deputies' socket patterns (deputies.ts).
 */
import type { Env } from './paths.js';

/**
 * `env` seen through a recorder: every variable read (present or not) is noted; iteration
 * sees nothing (only the program's environment filter iterates, and it is given `env` itself).
 */
export function recordReads(env: Env): { view: Env; read: () => Record<string, string>; names: () => string[] } {
  const names = new Set<string>();
  const view = new Proxy({} as Env, {
    get: (_t, name) => {
      if (typeof name !== 'string') return undefined;
      names.add(name);
      return env[name];
    },
    has: (_t, name) => typeof name === 'string' && (names.add(name), env[name] !== undefined),
  });
  const read = () => {
    const out: Record<string, string> = {};
    for (const n of [...names].sort()) if (typeof env[n] === 'string') out[n] = env[n];
    return out;
  };
  return { view, read, names: () => [...names].sort() };
}
