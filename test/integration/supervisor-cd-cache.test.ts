/**
 * The supervisor caches resolved policies (src/supervisor/policy-cache.ts): a cd into a
 * known project, or into another directory under the same project file, reuses the
 * compiled policy. The cache must never serve a stale or wrong policy: a cd to another
 * project still switches, and an edit made after a cached cd is in force at the next cd.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, makeSandbox, PUSH_FN, sleep, until, type Sandbox } from './supervisor-helpers.js';

let sb: Sandbox;
beforeAll(() => {
  sb = makeSandbox('cdcache');
});
afterAll(() => sb.cleanup());

/** `name read|denied` for a file. */
const probe = (name: string, file: string) => `if cat ${file} >/dev/null 2>&1; then echo "${name} read"; else echo "${name} denied"; fi`;

describe('policy cache behind cd', () => {
  it('same project file: policy kept; other project: switched; an edit after a cached cd is in force at the next cd', { timeout: 90_000 }, async () => {
    const a = makeProject(join(sb.home, 'a'));
    const b = makeProject(join(sb.home, 'b'), 'version: 1\nread:\n  deny: ["public.txt"]\n');
    mkdirSync(join(a, 'sub'));
    // Files older than the cache's settle time, so the cds below really hit the cache.
    await sleep(1200);
    const ready = join(sb.dir, 'ready');
    const go = join(sb.dir, 'go');
    const script = [
      PUSH_FN,
      // Warm the cache: A, B, A again (a hit), then A/sub (same project file as A).
      `cd ${a} && push "cd$PWD" >/dev/null`,
      `cd ${b} && push "cd$PWD" >/dev/null`,
      probe('b-secret', `${b}/secret.txt`),
      probe('b-public', `${b}/public.txt`),
      `cd ${a} && push "cd$PWD" >/dev/null`,
      probe('a-secret', `${a}/secret.txt`),
      probe('a-public', `${a}/public.txt`),
      `cd ${a}/sub && push "cd$PWD" >/dev/null`,
      probe('sub-secret', `${a}/secret.txt`),
      probe('sub-public', `${a}/public.txt`),
      // Leave for B, let the test edit A's file, come back.
      `cd ${b} && push "cd$PWD" >/dev/null`,
      `touch ${ready}; while [ ! -e ${go} ]; do sleep 0.05; done`,
      `cd ${a} && push "cd$PWD" >/dev/null`,
      probe('edited-secret', `${a}/secret.txt`),
      probe('edited-public', `${a}/public.txt`),
    ].join('\n');
    const run = sb.spawnSbx(['shell', '--', 'sh', '-c', script], { cwd: sb.home });
    await until('session waiting in B', () => existsSync(ready), 30_000);
    writeFileSync(join(a, '.sbx.yaml'), 'version: 1\nread:\n  deny: ["public.txt", "nothing-else"]\n');
    writeFileSync(go, '');
    const out = (await run.done).stdout;
    // Another project switches the policy (its own denial, and A's lifted).
    expect(out).toContain('b-secret read');
    expect(out).toContain('b-public denied');
    // Back in A (a cache hit): A's policy again.
    expect(out).toContain('a-secret denied');
    expect(out).toContain('a-public read');
    // A/sub shares A's project file: the same policy.
    expect(out).toContain('sub-secret denied');
    expect(out).toContain('sub-public read');
    // After the edit: the new file is in force, not the cached one.
    expect(out).toContain('edited-secret read');
    expect(out).toContain('edited-public denied');
  });
});
