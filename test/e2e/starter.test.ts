/**
 * `sbx init` starter policies in real terminals (bash, zsh, fish under tmux, the hook in the rc
 * file): in a node project and in a python project, after `sbx init` and `sbx trust`,
 * `git init && git commit`, `npm install` of a real package from the npm registry and
 * `pip install` of a local wheel into a venv in the project all work — while the secrets
 * (~/.npmrc's token) and the persistence floor (~/.bashrc) stay out of reach (the denied
 * twins on the same screen). npm keeps the user's ~/.npmrc settings without its token.
 */
import { describe, expect, it, vi } from 'vitest';
import { execaSync } from 'execa';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trackTerminals, makeHome, sbxBin, shellPath, Tmux, writeRc, type Sandbox, type Shell } from './tmux.js';

// npm over the network and venvs on a loaded 2-core box: generous limits (no timing is asserted).
vi.setConfig({ testTimeout: 240_000, hookTimeout: 180_000 });

const SHELLS: Shell[] = ['bash', 'zsh', 'fish'];
const TOKEN = 'npm_SECRET-TOKEN-1234';

const { started, worlds } = trackTerminals();

/** A wheel built by hand (no network, no build backend): sbxdemo 1.0, pure python. */
function writeWheel(dir: string): string {
  const file = join(dir, 'sbxdemo-1.0-py3-none-any.whl');
  const py = [
    'import sys, zipfile',
    'files = {"sbxdemo/__init__.py": "GREETING = \\"hello from sbxdemo\\"\\n",',
    ' "sbxdemo-1.0.dist-info/METADATA": "Metadata-Version: 2.1\\nName: sbxdemo\\nVersion: 1.0\\n",',
    ' "sbxdemo-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}',
    'with zipfile.ZipFile(sys.argv[1], "w") as z:',
    '    for k, v in files.items(): z.writestr(k, v)',
    '    z.writestr("sbxdemo-1.0.dist-info/RECORD", "".join(k + ",,\\n" for k in files) + "sbxdemo-1.0.dist-info/RECORD,,\\n")',
  ].join('\n');
  execaSync('python3', ['-c', py, file]);
  return file;
}

function makeWorld(): { sb: Sandbox; node: string; python: string } {
  const sb = makeHome('sbx-starter-');
  worlds.push(sb);
  const node = join(sb.root, 'webapp');
  const python = join(sb.root, 'pytool');
  mkdirSync(node);
  mkdirSync(python);
  writeFileSync(join(node, 'package.json'), '{"name":"webapp","version":"1.0.0","private":true}\n');
  writeFileSync(join(python, 'requirements.txt'), 'sbxdemo\n');
  writeWheel(python);
  // The user's npm settings, with a token the sandbox must never see.
  writeFileSync(join(sb.home, '.npmrc'), `fund=false\nregistry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=${TOKEN}\n`);
  writeFileSync(join(sb.home, '.gitconfig'), '[user]\n\tname = Dev\n\temail = dev@example.test\n');
  // What a person does once per project, at the terminal: write the starter, read it, trust it.
  for (const dir of [node, python]) {
    const out = execaSync(sbxBin, ['init'], { cwd: dir, env: sb.env, extendEnv: false, stripFinalNewline: false }).stdout;
    expect(out).toContain(dir === node ? 'for node' : 'for python');
    execaSync(sbxBin, ['trust'], { cwd: dir, env: sb.env, extendEnv: false, stdin: 'ignore', stdout: 'ignore' });
  }
  return { sb, node, python };
}

async function terminal(shell: Shell, sb: Sandbox, cwd: string): Promise<Tmux> {
  const hook = shell === 'fish' ? `${sbxBin} hook fish | source` : `eval "$(${sbxBin} hook ${shell})"`;
  const rc = writeRc(sb, shell, hook);
  const argv = shell === 'bash' ? ['bash', '--noprofile', '--rcfile', rc, '-i'] : [shell, '-i'];
  const t = new Tmux(shell);
  t.start(argv, cwd, { ...sb.env, ZDOTDIR: sb.home, SHELL: shellPath(shell) });
  started.push(t);
  await t.prompt(60_000);
  return t;
}

const ok = (r: { out: string[]; status: number }) => ({ status: r.status, out: r.out.filter((l) => !l.startsWith('sbx: ')) });

describe.each(SHELLS)('%s: sbx init starters', (shell) => {
  it('node project: git init && git commit, npm install from the registry, the ~/.npmrc settings without the token; ~/.npmrc and ~/.bashrc stay denied', async () => {
    const { sb, node } = makeWorld();
    const t = await terminal(shell, sb, node);
    expect((await t.run(shell === 'fish' ? 'echo S=(set -q SBX_SESSION; and echo yes)' : 'echo S=${SBX_SESSION:+yes}')).out).toEqual(['S=yes']);
    let r = await t.run('git init -q && git add -A && git commit -qm init && git log --format=%s');
    expect(ok(r)).toEqual({ status: 0, out: ['init'] });
    r = await t.run('npm install --no-audit --loglevel=error is-number@7.0.0 && echo installed', 180_000);
    expect(r.out).toContain('installed');
    expect(existsSync(join(node, 'node_modules', 'is-number', 'package.json'))).toBe(true);
    // npm's cache: the sandbox's own (no tool outside reads it: npx runs what ~/.npm holds).
    expect(existsSync(join(sb.env.XDG_CACHE_HOME ?? join(sb.home, '.cache'), 'sbx-sandbox', 'npm', '_cacache'))).toBe(true);
    expect(existsSync(join(sb.home, '.npm'))).toBe(false);
    // The user's settings hold inside (fund=false), the token does not come along.
    expect((await t.run('npm config get fund')).out).toContain('false');
    r = await t.run(`npm config list 2>&1 | grep -c ${TOKEN.slice(0, 10)}`);
    expect(r.out).toContain('0');
    // Denied twins: the secret file itself, and a file that runs outside later.
    r = await t.run('cat ~/.npmrc');
    expect(r.status).not.toBe(0);
    expect(r.out.join('\n')).not.toContain(TOKEN);
    r = await t.run('echo planted >> ~/.bashrc');
    expect(r.status).not.toBe(0);
    expect(existsSync(join(sb.home, '.bashrc')) ? readFileSync(join(sb.home, '.bashrc'), 'utf8') : '').not.toContain('planted');
    // Outside, the commit made inside is there.
    expect(execaSync('git', ['-C', node, 'log', '--format=%s']).stdout.trim()).toBe('init');
  });

  it('python project: pip install of a local wheel into a venv in the project, git init && git commit; fish universal variables', async () => {
    const { sb, python } = makeWorld();
    const t = await terminal(shell, sb, python);
    let r = await t.run(
      'python3 -m venv --without-pip --system-site-packages .venv && .venv/bin/python -m pip install -q --no-index ./sbxdemo-1.0-py3-none-any.whl && .venv/bin/python -c "import sbxdemo; print(sbxdemo.GREETING)"',
      180_000,
    );
    expect(ok(r)).toEqual({ status: 0, out: ['hello from sbxdemo'] });
    r = await t.run('git init -q && git add requirements.txt && git commit -qm py && git log --format=%s');
    expect(ok(r)).toEqual({ status: 0, out: ['py'] });
    if (shell === 'fish') {
      // A universal variable is not saved (SETUVAR --export would reach every program an
      // outside fish starts); a global one works.
      await t.run('set -U sbx_starter_uvar 42');
      const vars = join(sb.env.XDG_CONFIG_HOME ?? join(sb.home, '.config'), 'fish', 'fish_variables');
      expect(readFileSync(vars, 'utf8')).not.toContain('sbx_starter_uvar');
      r = await t.run('set -g sbx_starter_gvar 43; and echo $sbx_starter_gvar');
      expect(r.out).toContain('43');
    }
    // The denied twin: the venv may not go where PATH directories of the home are (persistence).
    r = await t.run('mkdir -p ~/.local/bin && touch ~/.local/bin/python-planted');
    expect(r.status).not.toBe(0);
    expect(existsSync(join(sb.home, '.local', 'bin', 'python-planted'))).toBe(false);
  });
});
