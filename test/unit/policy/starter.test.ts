/**
 * `sbx init` starters: the project is recognised by its files, the starter extends the
 * matching ecosystem presets and, trusted, lets each tool write its caches while the floors
 * hold (denied twins: ~/.npmrc, a git hook, ~/.cargo/bin, a shell rc file).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { starterPolicy } from '../../../src/cli/init.js';
import { detectEcosystems, ecosystemPreset } from '../../../src/policy/ecosystems.js';
import { resolvePolicyForDir } from '../../../src/policy/index.js';
import { loadPolicyFile } from '../../../src/policy/load.js';
import { trust } from '../../../src/policy/trust.js';
import { check, tempWorld } from './helpers.js';

describe('sbx init starters', () => {
  it.each([
    [['package.json'], ['node']],
    [['pnpm-lock.yaml'], ['node']],
    [['pyproject.toml'], ['python']],
    [['requirements.txt', 'package.json'], ['node', 'python']],
    [['Cargo.toml'], ['rust']],
    [['go.mod'], ['go']],
    [['Makefile'], []],
  ])('%j is recognised as %j', (files, names) => {
    const w = tempWorld();
    for (const f of files) w.write(`proj/${f}`, '');
    expect(detectEcosystems(join(w.root, 'proj')).map((e) => e.name)).toEqual(names);
  });

  it('a trusted starter for node+python+rust+go: the sandbox\'s caches and shell state are writable; the shared caches, secrets and the persistence floor hold', async () => {
    // Under /var/tmp: /tmp is writable in the starter, so a home there would prove nothing.
    const w = tempWorld('/var/tmp');
    w.env.PATH = `${join(w.home, '.cargo', 'bin')}:${w.env.PATH}`;
    const proj = join(w.root, 'proj');
    mkdirSync(proj, { recursive: true });
    for (const f of ['package.json', 'requirements.txt', 'Cargo.toml', 'go.mod']) writeFileSync(join(proj, f), '');
    const file = join(proj, '.sbx.yaml');
    writeFileSync(file, starterPolicy(detectEcosystems(proj)));
    trust(file, loadPolicyFile(file, 'project').sha256, w.env);
    const r = await resolvePolicyForDir(proj, { env: w.env });
    expect(r.trusted).toBe(true);
    const h = (p: string) => join(w.home, p);
    const cache = w.env.XDG_CACHE_HOME ?? h('.cache');
    const sandboxCache = join(cache, 'sbx-sandbox');
    const allowed = [join(sandboxCache, 'npm/_cacache/x'), join(sandboxCache, 'pip/x'), join(sandboxCache, 'cargo/registry/x'), join(sandboxCache, 'go-mod/x'), h('.bash_history'), join(proj, '.venv/bin/python'), join(proj, 'node_modules/x')];
    // The caches tools outside share (npx runs what ~/.npm holds; cargo builds and runs the
    // build.rs of what ~/.cargo/registry holds, go compiles ~/go/pkg/mod), fish's universal variables.
    const shared = [
      h('.npm/_npx/x/node_modules/cowsay/cli.js'), join(cache, 'pip/x'), h('.config/fish/fish_variables'),
      h('.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/serde-1.0.0/build.rs'), h('.cargo/git/checkouts/x/build.rs'),
      h('.rustup/tmp/k3j2_dir/rustc/bin/rustc'),
    ];
    // ~/go/pkg/mod is no dot-entry, and this home is under /var/tmp, which the starter allows:
    // the go preset itself must not name it (escape-home-config runs it inside).
    for (const name of ['go', 'rust'] as const) {
      const paths = ecosystemPreset(name, w.env).write?.allow ?? [];
      expect(paths.filter((p) => /pkg\/mod|\.cargo\/(registry|git)/.test(p)), name).toEqual([]);
    }
    for (const p of shared) expect({ p, allowed: (await check(r.policy, 'write', [p], { cwd: proj, env: w.env })).allowed }).toEqual({ p, allowed: false });
    const denied = [h('.npmrc'), join(proj, '.git/hooks/pre-commit'), join(proj, '.git/config'), h('.cargo/bin/cargo-evil'), h('.bashrc'), h('.ssh/id_rsa'), join(proj, '.sbx.yaml')];
    for (const p of allowed) expect({ p, allowed: (await check(r.policy, 'write', [p], { cwd: proj, env: w.env })).allowed }).toEqual({ p, allowed: true });
    for (const p of denied) expect({ p, allowed: (await check(r.policy, 'write', [p], { cwd: proj, env: w.env })).allowed }).toEqual({ p, allowed: false });
    expect((await check(r.policy, 'read', [h('.npmrc')], { cwd: proj, env: w.env })).allowed).toBe(false);
  });
});
