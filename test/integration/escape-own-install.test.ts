/**
 * sbx's own program files run outside the sandbox later: the supervisor (dist/, node_modules/,
 * the addon), the launcher and keeper (native/unotify/build), the CLI (bin/sbx), the hook text
 * every new terminal evaluates (shells/, direnvrc.sh), package.json (how Node loads dist/).
 * Installed the way the README says (a checkout the user owns, symlinked onto PATH), they are
 * the user's files — writable under the default policy unless they are a floor. Each write is
 * shown possible outside (the test itself) and refused inside, next to its allowed twin: a
 * file of the same checkout that nothing runs (test/) stays writable inside.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { repo, run, sbxBin, sbxExec, servedBySupervisor, tempWorld } from './exec-helpers.js';

vi.setConfig({ testTimeout: 120_000 });

const world = tempWorld('sbx-own-');
servedBySupervisor(world);
const probe = `.sbx-escape-probe-${process.pid}`;
const places = ['bin', 'dist', join('dist', 'supervisor'), join('native', 'unotify', 'build', 'Release'), join('native', 'unotify', 'src'), 'shells', 'node_modules', 'src', 'share'];
const planted = [...places.map((p) => join(repo, p, probe)), join(repo, 'test', probe)];
afterAll(() => {
  for (const f of planted) rmSync(f, { force: true });
  world.cleanup();
});

const inside = (script: string) => sbxExec(['--', 'sh', '-c', script], { env: world.env, cwd: world.dir });

describe("sbx's own install is a write floor", () => {
  it('outside: the user (this test) may write each of them', async () => {
    for (const p of places) {
      const r = await run('sh', ['-c', `touch ${join(repo, p, probe)} && rm ${join(repo, p, probe)} && echo ok`]);
      expect(r.stdout, p).toBe('ok\n');
    }
  });

  it('inside (default policy): a file planted in bin, dist, the native build and sources, shells, node_modules, src or share is refused; one in test/ is not', async () => {
    for (const p of places) {
      const f = join(repo, p, probe);
      const r = await inside(`touch ${f} && echo planted`);
      expect(r.stdout, p).not.toContain('planted');
      expect(r.stderr, p).toMatch(/sbx: denied write/);
      expect(existsSync(f), p).toBe(false);
    }
    const twin = await inside(`touch ${join(repo, 'test', probe)} && echo planted`);
    expect(twin.stdout).toBe('planted\n');
  });

  it('inside: appending to package.json, bin/sbx, direnvrc.sh, a hook template, binding.gyp and the lock file is refused', async () => {
    for (const f of ['package.json', join('bin', 'sbx'), 'direnvrc.sh', join('shells', 'sbx.bash'), join('native', 'unotify', 'binding.gyp'), 'package-lock.json']) {
      const r = await inside(`: >> ${join(repo, f)} && echo opened`);
      expect(r.stdout, f).not.toContain('opened');
    }
  });

  it('sbx check names the floor; the checkout itself cannot be replaced (an exact floor)', async () => {
    const r = await run(sbxBin, ['check', 'write', join(repo, 'dist', 'cli', 'main.js'), '--dir', world.dir], { env: world.env });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("built-in: sbx's own program files");
    const root = await run(sbxBin, ['check', 'write', repo, '--dir', world.dir], { env: world.env });
    expect(root.code).toBe(1);
  });
});
