/**
 * Descriptors the caller left open (a terminal emulator's, an editor's task runner's, or one
 * opened on a secret before `sbx exec`) do not reach the sandboxed program: it starts with its
 * standard streams only, both ways `sbx exec` runs. Twin: outside sbx the same probe reads
 * the secret through the inherited descriptor, and inside, what stdin carries is read.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onBothStartPaths, sbxBin, tempWorld } from './exec-helpers.js';

const world = tempWorld('sbx-fds-');
const secret = join(world.dir, 'vault', 'id_key');
beforeAll(() => {
  mkdirSync(join(world.dir, 'vault'));
  writeFileSync(secret, 'KEY-MATERIAL\n');
});
afterAll(() => world.cleanup());

onBothStartPaths(world, (label, env) => {
  it(`${label}: an fd the caller holds on a file the policy denies is not the program's (twin: outside it reads; stdin still reaches it)`, { timeout: 60_000 }, () => {
    const probe = `cat <&5 2>/dev/null && echo "read fd 5" || echo "no fd 5"; head -c 4 && echo " from stdin"`;
    const sh = (inside: boolean) =>
      execFileSync('sh', ['-c', `exec 5<${secret}; echo STDIN | ${inside ? `${sbxBin} exec -q --deny-read --allow-read=/usr -- ` : ''}sh -c '${probe}'`], { env: env(), cwd: world.dir, encoding: 'utf8', timeout: 50_000 });
    expect(sh(false)).toBe('KEY-MATERIAL\nread fd 5\nSTDI from stdin\n');
    expect(sh(true)).toBe('no fd 5\nSTDI from stdin\n');
  });
});
