/**
 * The supervisor caches resolved policies (src/supervisor/policy-cache.ts): a cd into a
 * known project, or into another directory under the same project file, reuses the
 * compiled policy. The cache must never serve a stale or wrong policy: a cd to another
 * project still switches, and an edit made after a cached cd is in force at the next cd.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
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
    const run = sb.spawnSbx(['shell', '--follow-cd', '--', 'sh', '-c', script], { cwd: sb.home });
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

  it('a link a rule goes through, pointed elsewhere after a cached cd: the rule follows it at the next cd (the build facts are re-checked)', { timeout: 90_000 }, async () => {
    // A denies `sub/data`, a link to one directory outside the project, then to another. The
    // link is below the project directory, whose own stamp does not see it change.
    const a = makeProject(join(sb.home, 'linked'), 'version: 1\nread:\n  deny: ["sub/data"]\n');
    mkdirSync(join(a, 'sub'));
    const b = makeProject(join(sb.home, 'other'));
    for (const d of ['first', 'second']) {
      mkdirSync(join(sb.home, d));
      writeFileSync(join(sb.home, d, 'x.txt'), d);
    }
    symlinkSync(join(sb.home, 'first'), join(a, 'sub/data'));
    await sleep(1200);
    const ready = join(sb.dir, 'ready-link');
    const go = join(sb.dir, 'go-link');
    const script = [
      PUSH_FN,
      `cd ${a} && push "cd$PWD" >/dev/null`,
      probe('before-link', `${a}/sub/data/x.txt`),
      probe('before-second', `${sb.home}/second/x.txt`),
      `cd ${b} && push "cd$PWD" >/dev/null`,
      `touch ${ready}; while [ ! -e ${go} ]; do sleep 0.05; done`,
      `cd ${a} && push "cd$PWD" >/dev/null`,
      probe('after-link', `${a}/sub/data/x.txt`),
      probe('after-second', `${sb.home}/second/x.txt`),
      probe('after-first', `${sb.home}/first/x.txt`),
    ].join('\n');
    const run = sb.spawnSbx(['shell', '--follow-cd', '--', 'sh', '-c', script], { cwd: sb.home });
    await until('session waiting in the other project', () => existsSync(ready), 30_000);
    unlinkSync(join(a, 'sub/data'));
    symlinkSync(join(sb.home, 'second'), join(a, 'sub/data'));
    writeFileSync(go, '');
    const out = (await run.done).stdout;
    // Before: the link's target is denied, the other directory is not (the twin).
    expect(out).toContain('before-link denied');
    expect(out).toContain('before-second read');
    // After: the deny went with the link; the directory it left is readable again.
    expect(out).toContain('after-link denied');
    expect(out).toContain('after-second denied');
    expect(out).toContain('after-first read');
  });
});
