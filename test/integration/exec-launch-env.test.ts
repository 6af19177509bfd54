/**
 * What `sbx exec` adds to the program's environment (src/policy/launch-env.ts) is made from the
 * caller's whole environment, as the policy is, on both start paths — also when --deny-env
 * drops the caller's variables: the program's cache is the one its policy lets it write, and
 * sbx's empty git template replaces a GIT_TEMPLATE_DIR it no longer has.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { onBothStartPaths, sbxBin, tempWorld } from './exec-helpers.js';

const world = tempWorld('sbx-launchenv-');
const cache = join(world.dir, 'own-cache');
// The terminal's cache, the supervisor's too (a served launch takes the supervisor's places).
world.env.XDG_CACHE_HOME = cache;
const template = join(world.dir, 'my-template');
beforeAll(() => {
  mkdirSync(cache);
  mkdirSync(template);
});
afterAll(() => world.cleanup());

const probe = 'echo "cache=$XDG_CACHE_HOME"; echo "template=$GIT_TEMPLATE_DIR"; touch "$XDG_CACHE_HOME/probe" && echo cache-writable';

onBothStartPaths(world, (label, env) => {
  it(`${label}: under --deny-env the program's cache is its policy's and git gets sbx's template (twin: without --deny-env, the caller's template stays)`, { timeout: 60_000 }, () => {
    const vars = { ...env(), XDG_CACHE_HOME: cache, GIT_TEMPLATE_DIR: template };
    const run = (flags: string[]) => execFileSync(sbxBin, ['exec', '-q', ...flags, '--', 'sh', '-c', probe], { env: vars, cwd: world.dir, encoding: 'utf8', timeout: 50_000 });
    const denied = run(['--deny-env']);
    expect(denied).toContain(`cache=${join(cache, 'sbx-sandbox')}\n`);
    expect(denied).toMatch(/^template=\/.*share\/git-template$/m);
    expect(denied).toContain('cache-writable');
    const plain = run([]);
    expect(plain).toContain(`cache=${join(cache, 'sbx-sandbox')}\n`);
    expect(plain).toContain(`template=${template}\n`);
  });
});
