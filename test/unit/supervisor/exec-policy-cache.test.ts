/**
 * ExecPolicyCache (src/supervisor/exec-policy-cache.ts) on real files: a policy built from
 * settled files is reused; one with a broken file (its last good version lives in sbx's
 * state, which no stamp covers) is built every time. The reuse conditions themselves are
 * shown end to end in test/integration/fastpath-policy-reuse.test.ts.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExecPolicyCache } from '../../../src/supervisor/exec-policy-cache.js';
import { tempWorld } from '../policy/helpers.js';

/** Past the cache's settle time (a file changed within the last second is not kept). */
const settle = () => new Promise((r) => setTimeout(r, 1100));

/** A throwaway world with a project directory, and its `.sbx.yaml` when given (settled). */
async function project(name: string, policy?: string) {
  const w = tempWorld();
  const proj = join(w.root, name);
  mkdirSync(proj);
  if (policy !== undefined) {
    w.write(`${name}/.sbx.yaml`, policy);
    await settle();
  }
  return { w, proj, cache: new ExecPolicyCache() };
}

describe('ExecPolicyCache', () => {
  it('reuses a policy built from settled files, and hands each run its own command', async () => {
    const { w, proj, cache } = await project('p', 'version: 1\nread:\n  deny: ["secret"]\n');
    const first = await cache.resolve({ kind: 'exec', cwd: proj, args: ['--', 'true'] }, w.env);
    const second = await cache.resolve({ kind: 'exec', cwd: proj, args: ['--', 'make', 'all'] }, w.env);
    expect([cache.misses, cache.hits]).toEqual([1, 1]);
    expect(second.argv).toEqual(['make', 'all']);
    expect(second.source).toMatchObject({ kind: 'exec', cwd: proj, args: ['--', 'make', 'all'] });
    expect(second.main).toEqual(first.main);
    expect(first.origin).toBe('sbx exec flags');
    expect(first.inputs.stamped).toContain(join(proj, '.sbx.yaml'));
  });

  it('keeps at most 32 policies in all: the least recently used goes first', async () => {
    const { w, proj, cache } = await project('q');
    const flags = (i: number) => ({ kind: 'exec' as const, cwd: proj, args: [`--allow-env=V${i}`, '--', 'true'] });
    for (let i = 0; i < 33; i++) await cache.resolve(flags(i), w.env);
    await cache.resolve(flags(32), w.env); // the newest: still there
    await cache.resolve(flags(0), w.env); // the oldest: gone
    expect([cache.misses, cache.hits]).toEqual([34, 1]);
  });

  it('a policy with a broken file in force (its last good version or the strict fallback) is built every time', async () => {
    const { w, proj, cache } = await project('p', 'version: 1\nread: [unclosed\n');
    const first = await cache.resolve({ kind: 'exec', cwd: proj, args: ['--', 'true'] }, w.env);
    expect(first.warnings.join('\n')).toContain('.sbx.yaml');
    await cache.resolve({ kind: 'exec', cwd: proj, args: ['--', 'true'] }, w.env);
    expect([cache.misses, cache.hits]).toEqual([2, 0]);
  });
});
