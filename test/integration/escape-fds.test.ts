/**
 * Descriptors the caller left open (a terminal emulator's, or whatever started the shell, on
 * a secret or another terminal) do not reach a session's program: it starts with its standard
 * streams only, on both start paths of `sbx shell`. Twins: outside sbx the same probe reads
 * the secret through the inherited descriptor; inside, what stdin carries is read; and a
 * command (`sbx exec`) keeps what it was handed, as any command does (make's jobserver).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sbxBin, tempWorld } from './exec-helpers.js';

const world = tempWorld('sbx-fds-');
const secret = join(world.dir, 'vault', 'id_key');
beforeAll(() => {
  mkdirSync(join(world.dir, 'vault'));
  writeFileSync(secret, 'KEY-MATERIAL\n');
  // Served: sbx-fast starts sessions only when a supervisor runs.
  execFileSync(sbxBin, ['daemon', 'start'], { env: world.env, cwd: world.dir });
});
afterAll(() => world.cleanup());

const probe = `cat <&5 2>/dev/null && echo "read fd 5" || echo "no fd 5"; head -c 4 && echo " from stdin"`;
const sh = (prefix: string, env: Record<string, string> = {}) =>
  execFileSync('sh', ['-c', `exec 5<${secret}; echo STDIN | ${prefix}sh -c '${probe}'`], { env: { ...world.env, ...env }, cwd: world.dir, encoding: 'utf8', timeout: 50_000 });

for (const [label, env] of [
  ['sbx-fast', {}],
  ['Node', { SBX_NO_FAST: '1' }],
] as const) {
  it(`${label}: an fd the caller holds is not a session program's (twins: outside it reads; stdin reaches it)`, { timeout: 60_000 }, () => {
    expect(sh('')).toBe('KEY-MATERIAL\nread fd 5\nSTDI from stdin\n');
    expect(sh(`${sbxBin} shell -- `, env)).toBe('no fd 5\nSTDI from stdin\n');
  });
}

it('twin: a served sbx exec keeps the descriptors it was handed (the policy still decides what is done through them)', { timeout: 60_000 }, () => {
  expect(sh(`${sbxBin} exec -q -- `)).toBe('KEY-MATERIAL\nread fd 5\nSTDI from stdin\n');
});
