/**
 * A foothold in the home: files tools load when they start, outside the sandbox, later
 * (src/policy/home-config.ts). Under the default policy (no policy file anywhere) a
 * sandboxed program wrote python's usercustomize.py, direnv's direnvrc and allow list,
 * ~/.tmux.conf, a file an rc file sources (~/.cargo/env), a $ZDOTDIR's .zshrc and ~/bin/ls —
 * each ran in the next unsandboxed python, direnv, tmux, shell. Every one is written here
 * outside first (the twin: the place is writable), then refused inside; the caches and
 * histories programs inside must write stay writable, and an exception is never a grant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sbxExec, tempWorld } from './exec-helpers.js';

const world = tempWorld('sbx-homecfg-');
const home = world.env.HOME!;
// The XDG dirs at their defaults, under the home (as on most machines).
const env = Object.fromEntries(Object.entries(world.env).filter(([k]) => !/^XDG_(CONFIG|STATE|CACHE|DATA)_HOME$/.test(k)));
const project = join(world.dir, 'proj');
const h = (p: string) => join(home, p);

/** Appends a line to each path from inside; returns the per-path verdict "ok"/"refused". */
async function writeInside(paths: string[], args: string[] = []): Promise<{ verdicts: Record<string, string>; stderr: string }> {
  const script = paths.map((p, i) => `if mkdir -p "$(dirname "\${${i + 1}}")" 2>/dev/null; echo planted >> "\${${i + 1}}"; then echo "${i} ok"; else echo "${i} refused"; fi`).join('\n');
  const r = await sbxExec([...args, '--', 'sh', '-c', script, 'sh', ...paths], { env, cwd: project });
  const verdicts: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^(\d+) (ok|refused)$/.exec(line);
    if (m) verdicts[paths[Number(m[1])]!] = m[2]!;
  }
  return { verdicts, stderr: r.stderr };
}

const FOOTHOLDS = [
  '.local/lib/python3.11/site-packages/usercustomize.py', // every python3 start
  '.config/direnv/direnvrc', // every direnv run
  '.local/share/direnv/allow/0123abcd', // an .envrc approved by the program itself
  '.tmux.conf', // a new file: tmux's run-shell
  '.vimrc',
  '.cargo/env', // sourced by ~/.bashrc after rustup's setup
  '.config/zsh/.zshrc', // $ZDOTDIR set in ~/.zshenv
  '.local/share/fish/vendor_conf.d/x.fish',
  '.cache/pre-commit/repo/hook.py', // a cache whose content pre-commit runs
  'bin/ls', // on PATH from the next login (~/.profile)
];

beforeAll(() => {
  mkdirSync(project, { recursive: true });
  // As on any machine: sbx keeps its state there, fish its config (ancestors of floors,
  // which cannot be created inside).
  for (const d of ['.local/state', '.config/fish']) mkdirSync(h(d), { recursive: true });
  mkdirSync(h('.cargo'), { recursive: true });
  writeFileSync(h('.cargo/env'), 'export PATH="$HOME/.cargo/bin:$PATH"\n');
});
afterAll(() => world.cleanup());

describe('the home configuration cannot be written from inside (default policy)', () => {
  it('each foothold place is writable outside (twin) and refused inside, with a denial naming the rule', async () => {
    for (const p of FOOTHOLDS) {
      mkdirSync(dirname(h(p)), { recursive: true });
      appendFileSync(h(`${p}.outside-twin`), 'outside\n');
      expect(readFileSync(h(`${p}.outside-twin`), 'utf8')).toBe('outside\n');
    }
    const { verdicts, stderr } = await writeInside(FOOTHOLDS.map(h));
    for (const p of FOOTHOLDS) expect(verdicts[h(p)], p).toBe('refused');
    expect(readFileSync(h('.cargo/env'), 'utf8')).not.toContain('planted');
    expect(existsSync(h('.tmux.conf'))).toBe(false);
    expect(stderr).toContain(`sbx: denied write ${h('.tmux.conf')} (built-in: home configuration (tools load it outside later): dot-entries of the home)`);
    expect(stderr).toContain(`sbx: denied write ${h('bin/ls')} (default protect (protect: preset persistence)`);
  });

  it('caches, histories, XDG state and fish universal variables stay writable; the project too; dotfiles stay readable', async () => {
    const allowed = ['.cache/pip/x', '.bash_history', '.npm/_cacache/x', '.local/state/less/x', '.config/fish/fish_variables', '.cargo/registry/x'].map(h);
    const { verdicts } = await writeInside([...allowed, join(project, 'out.txt')]);
    for (const p of [...allowed, join(project, 'out.txt')]) expect(verdicts[p], p).toBe('ok');
    const r = await sbxExec(['--', 'cat', h('.cargo/env')], { env, cwd: project });
    expect(r.stdout).toContain('cargo/bin');
  });

  it('an exception is never a grant: under --deny-write the caches are refused too; --allow-write lifts one place', async () => {
    const denied = await writeInside([h('.cache/pip/y'), h('.bash_history')], ['--deny-write']);
    expect(denied.verdicts[h('.cache/pip/y')]).toBe('refused');
    expect(denied.verdicts[h('.bash_history')]).toBe('refused');
    const lifted = await writeInside([h('.config/gh/hosts.yml'), h('.config/other/x')], [`--allow-write=${h('.config/gh')}`]);
    expect(lifted.verdicts[h('.config/gh/hosts.yml')]).toBe('ok');
    expect(lifted.verdicts[h('.config/other/x')]).toBe('refused');
  });
});
