/**
 * The all-day shell's conventions, against the real sandbox, in real bash, zsh and fish under
 * tmux, with the hook in ~/.bashrc (and ~/.profile sourcing it), ~/.zshrc and fish's config, as
 * a user has it. Every denial sits next to its allowed twin.
 *   - `-ic` (and bash's `-lic`) run their command, sandboxed: the project's secret is denied, its
 *     twin read; from a terminal and without one (as an IDE or `ssh host bash -ic` runs it);
 *   - sourcing the hook at a prompt, twice, keeps the shell usable: in a session already, and
 *     outside one (fish used to be stopped by SIGTTIN there);
 *   - `env: deny: [X]` hides X in every shell (untrusted and trusted project) and gives it back;
 *   - `sbx exec --deny-read` keeps /tmp and $TMPDIR readable, a file elsewhere still denied; the
 *     README's `--deny-all --allow-write=./dist -- npm run build` works outside /tmp;
 *   - quiet: no notice on cd between policy-less dirs, one on entering a project, one with direnv's
 *     `use sandbox`; the prompt segment follows `sbx trust` and a reload; `sbx status` shows where
 *     the shell is; no "keeper hung up" at a normal exit.
 */
import { describe, expect, it, vi } from 'vitest';
import { execaSync } from 'execa';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trackTerminals, makeHome, sbxBin, shellPath, Tmux, writeRc, type Sandbox, type Shell } from './tmux.js';

// Real shells and supervisors on a loaded 2-core box: generous limits (no timing is asserted).
vi.setConfig({ testTimeout: 180_000 });

const SHELLS: Shell[] = ['bash', 'zsh', 'fish'];

interface World {
  sb: Sandbox;
  A: string;
  out: string;
  x: string;
  y: string;
}

const { started: panes, worlds } = trackTerminals();

/** A: a project denying secret.txt and MY_SECRET; out, x, y: directories without a policy. */
function makeWorld(): World {
  const sb = makeHome('sbx-conv-');
  worlds.push(sb);
  const w = join(sb.root, 'w');
  const [A, out, x, y] = ['projA', 'out', 'x', 'y'].map((d) => join(w, d)) as [string, string, string, string];
  for (const d of [A, out, x, y]) mkdirSync(d, { recursive: true });
  writeFileSync(join(A, '.sbx.yaml'), 'version: 1\nread:\n  deny: ["secret.txt"]\nenv:\n  deny: [MY_SECRET, MY_LATE]\n');
  writeFileSync(join(A, 'secret.txt'), 'A-SECRET\n');
  writeFileSync(join(A, 'twin.txt'), 'A-TWIN\n');
  return { sb, A, out, x, y };
}

const hookLine = (shell: Shell) => (shell === 'fish' ? `${sbxBin} hook fish | source` : `eval "$(${sbxBin} hook ${shell})"`);

/** The user's rc files with the hook (bash: ~/.bashrc, and ~/.profile sourcing it as Debian's does), then `after`. */
function installHook(world: World, shell: Shell, withHook = true, after = ''): void {
  writeRc(world.sb, shell, `${withHook ? hookLine(shell) : ''}\n${after}`);
  if (shell === 'bash') writeFileSync(join(world.sb.home, '.profile'), 'if [ -f "$HOME/.bashrc" ]; then . "$HOME/.bashrc"; fi\n');
}

function envFor(world: World, shell: Shell, extra: Record<string, string> = {}): Record<string, string> {
  return { ...world.sb.env, ZDOTDIR: world.sb.home, SHELL: shellPath(shell), MY_SECRET: 'my-value', PLAIN: 'plain', ...extra };
}

/** A new terminal running `shell -i` (its rc file decides whether it enters a session). */
async function terminal(world: World, shell: Shell, cwd: string, extra: Record<string, string> = {}): Promise<Tmux> {
  const t = new Tmux(shell);
  panes.push(t);
  t.start([shell, '-i'], cwd, envFor(world, shell, extra));
  await t.prompt(60_000);
  return t;
}

/** A plain bash (no rc, no hook) to type other shells' command lines in, as from an IDE's terminal. */
async function plainTerminal(world: World, cwd: string, extra: Record<string, string> = {}): Promise<Tmux> {
  const t = new Tmux('bash');
  panes.push(t);
  t.start(['bash', '--norc', '--noprofile', '-i'], cwd, { ...envFor(world, 'bash', extra), PS1: '[plain] $ ' });
  await t.prompt(30_000);
  return t;
}

const show = (shell: Shell, name: string) => (shell === 'fish' ? `echo S=(set -q ${name}; and echo yes; or echo no)` : `echo S=\${${name}:+yes}`);

describe.each(SHELLS)('%s: -ic runs its command, sandboxed', (shell) => {
  it('from a terminal: the project secret is denied and its twin read; outside the project the same read works; the exit status is kept', async () => {
    const world = makeWorld();
    installHook(world, shell);
    const t = await plainTerminal(world, world.A);
    // The unsandboxed twin: the file is there and readable without sbx.
    let r = await t.run('cat secret.txt');
    expect(r).toEqual({ out: ['A-SECRET'], status: 0 });

    const variants = shell === 'bash' ? ['-ic', '-lic'] : ['-ic'];
    for (const v of variants) {
      r = await t.run(`${shell} ${v} 'cat secret.txt; cat twin.txt; printenv PLAIN; printenv MY_SECRET; printenv SBX_SESSION >/dev/null && echo in-session'`, 90_000);
      const text = r.out.join('\n');
      expect(text).toMatch(/secret\.txt: Permission denied/);
      expect(text).not.toContain('A-SECRET');
      expect(r.out).toContain('A-TWIN');
      expect(r.out).toContain('plain');
      expect(r.out).not.toContain('my-value'); // env: deny: [MY_SECRET]
      expect(r.out).toContain('in-session');
      expect(r.status).toBe(0);
      // The command ran and returned: no interactive prompt of the inner shell on the screen.
      expect(text).not.toMatch(/^\[sbx[^\]]*\] [#$%>]/m);
    }
    r = await t.run(`${shell} -ic 'exit 7'`, 90_000);
    expect(r.status).toBe(7);

    // The allowed twin through the same path: from a directory without a policy the secret reads.
    r = await t.run(`cd ${world.out} && ${shell} -ic 'cat ${world.A}/secret.txt; printenv MY_SECRET; printenv SBX_SESSION >/dev/null && echo in-session'`, 90_000);
    expect(r.out.filter((l) => !l.startsWith('sbx: '))).toEqual(['A-SECRET', 'my-value', 'in-session']);
    expect(r.status).toBe(0);
  });

  it('without a terminal (an IDE reading the environment, ssh host … -ic): same command, same sandbox', () => {
    const world = makeWorld();
    installHook(world, shell);
    const env = envFor(world, shell);
    const run = (cwd: string, cmd: string) => {
      const r = execaSync(shell, ['-ic', cmd], { cwd, env, extendEnv: false, stdin: 'ignore', stripFinalNewline: false, reject: false, timeout: 120_000 });
      return { status: r.exitCode ?? null, stdout: r.stdout, stderr: r.stderr };
    };
    const inA = run(world.A, 'cat secret.txt; cat twin.txt; printenv MY_SECRET; printenv SBX_SESSION');
    expect(inA.stderr).toMatch(/secret\.txt: Permission denied/);
    const lines = inA.stdout.split('\n').filter(Boolean);
    expect(lines[0]).toBe('A-TWIN');
    expect(lines[1]).toMatch(/^s[0-9a-f]+$/); // SBX_SESSION: the command ran inside a session
    expect(lines).toHaveLength(2); // no A-SECRET, no MY_SECRET
    const twin = run(world.out, `cat ${world.A}/secret.txt; printenv MY_SECRET; printenv SBX_SESSION`);
    expect(twin.stdout.split('\n').filter(Boolean).slice(0, 2)).toEqual(['A-SECRET', 'my-value']);
    expect(twin.stdout).toMatch(/\ns[0-9a-f]+\n$/);
  });

  // bash and zsh run -c's last command in the shell's own process (exec, no fork): that
  // program is not the shell, so it must not get the shell's power to move its policy by
  // pushing a cd (here: to a directory where A's secret is not denied).
  it('the command -c runs in the shell\'s place cannot push a cd; the shell itself can', () => {
    const world = makeWorld();
    installHook(world, shell);
    const env = envFor(world, shell);
    const run = (cmd: string) => execaSync(shell, ['-ic', cmd], { cwd: world.A, env, extendEnv: false, stdin: 'ignore', reject: false, timeout: 120_000 });
    // sh's own `read` opens the hint file (no fork): the push comes from the exec'd program.
    const moved = run(`sh -c 'cd ${world.out} && read x </proc/self/sbx/cd/${world.out}; echo pushed=$?; cat ${world.A}/secret.txt'`);
    expect(moved.stdout).not.toContain('A-SECRET');
    expect(moved.stdout).toMatch(/pushed=[1-9]/); // refused
    expect(moved.stderr).toMatch(/secret\.txt: Permission denied/);
    // The twin: the shell's own cd (the hook pushes it) moves the policy and the secret reads.
    const twin = run(`cd ${world.out}; cat ${world.A}/secret.txt; true`);
    expect(twin.stdout).toContain('A-SECRET');
  });
});

describe.each(SHELLS)('%s: the hook sourced at a prompt', (shell) => {
  it('in a session (hook in the rc file), twice: the shell stays usable and sandboxed, one push per cd', async () => {
    const world = makeWorld();
    installHook(world, shell);
    const t = await terminal(world, shell, world.A);
    for (let i = 0; i < 2; i++) {
      t.type(hookLine(shell));
      await t.prompt(60_000);
    }
    let r = await t.run('echo usable');
    expect(r).toEqual({ out: ['usable'], status: 0 });
    r = await t.run('cat secret.txt');
    expect(r.status).not.toBe(0);
    r = await t.run('cat twin.txt');
    expect(r).toEqual({ out: ['A-TWIN'], status: 0 });
    r = await t.run(`cd ${world.out}`);
    expect(r.out.filter((l) => l.startsWith('sbx: policy'))).toHaveLength(1);
    r = await t.run(`cat ${world.A}/secret.txt`);
    expect(r).toEqual({ out: ['A-SECRET'], status: 0 });
  });

  it('outside a session (no hook in the rc file), twice: the shell enters a session and stays usable — fish is not stopped', async () => {
    const world = makeWorld();
    installHook(world, shell, false);
    const pid = shell === 'fish' ? '$fish_pid' : '$$';
    const t = await terminal(world, shell, world.A);
    let r = await t.run(`echo pid=${pid}`);
    const before = r.out[0];
    r = await t.run('cat secret.txt');
    expect(r).toEqual({ out: ['A-SECRET'], status: 0 }); // not sandboxed yet: the twin

    t.type(hookLine(shell));
    // bash and zsh re-exec at once; fish just before its next prompt (it had lent the terminal to
    // the pipeline's process group). Either way the first prompt on the screen is the new shell's.
    await t.prompt(60_000);
    for (let i = 0; ; i++) {
      r = await t.run(show(shell, 'SBX_SESSION'), 60_000);
      if (r.out[0] === 'S=yes' || i === 10) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    expect(r.out).toEqual(['S=yes']);
    r = await t.run(`echo pid=${pid}`);
    expect(r.out[0]).toBe(before); // the same process, the same terminal
    r = await t.run('cat secret.txt');
    expect(r.status).not.toBe(0);
    expect(r.out.join('\n')).toMatch(/Permission denied/);
    r = await t.run('cat twin.txt');
    expect(r).toEqual({ out: ['A-TWIN'], status: 0 });

    // Again, now inside: nothing is re-executed, the hook is (now) loaded and follows cd.
    t.type(hookLine(shell));
    await t.prompt(60_000);
    r = await t.run('echo usable');
    expect(r).toEqual({ out: ['usable'], status: 0 });
    r = await t.run(`cd ${world.out}`);
    r = await t.run(`cat ${world.A}/secret.txt`);
    expect(r).toEqual({ out: ['A-SECRET'], status: 0 });
    r = await t.run(`cd ${world.A}; cat secret.txt`);
    expect(r.status).not.toBe(0);
  });
});

describe.each(SHELLS.flatMap((s) => [[s, 'untrusted'], [s, 'trusted']] as [Shell, string][]))('%s: env rules (%s project)', (shell, trust) => {
  it('`env: deny: [MY_SECRET, MY_LATE]`: hidden on entering, restored on leaving; PLAIN untouched; a new terminal in the project hides them from its first prompt', async () => {
    const world = makeWorld();
    // MY_LATE: exported by the rc file after the hook line.
    installHook(world, shell, true, shell === 'fish' ? 'set -gx MY_LATE late' : 'export MY_LATE=late');
    if (trust === 'trusted') execaSync(sbxBin, ['trust', world.A], { env: world.sb.env, extendEnv: false, stdin: 'ignore', stdout: 'ignore' });
    const t = await terminal(world, shell, world.out);
    let r = await t.run('printenv MY_SECRET');
    expect(r).toEqual({ out: ['my-value'], status: 0 });
    r = await t.run(`cd ${world.A}`);
    r = await t.run('printenv MY_SECRET');
    expect(r).toEqual({ out: [], status: 1 });
    r = await t.run('printenv PLAIN');
    expect(r).toEqual({ out: ['plain'], status: 0 });
    r = await t.run('sh -c \'echo "child sees ${MY_SECRET:-nothing}"\'');
    expect(r.out).toEqual(['child sees nothing']);
    r = await t.run(`cd ${world.out}`);
    r = await t.run('printenv MY_SECRET');
    expect(r).toEqual({ out: ['my-value'], status: 0 });
    r = await t.run('printenv MY_LATE');
    expect(r).toEqual({ out: ['late'], status: 0 });
    // A new terminal opened in the project: hidden from its first prompt.
    const t2 = await terminal(world, shell, world.A);
    r = await t2.run('printenv MY_SECRET MY_LATE');
    expect(r).toEqual({ out: [], status: 1 });
    r = await t2.run('printenv PLAIN');
    expect(r).toEqual({ out: ['plain'], status: 0 });
    r = await t2.run(`cd ${world.out}; printenv MY_SECRET MY_LATE`);
    expect(r).toEqual({ out: ['sbx: policy built-in defaults (preset secrets)', 'my-value', 'late'], status: 0 });
  });
});

describe.each([
  ['bash', "PROMPT_COMMAND='history -a'"],
  ['zsh', 'precmd_functions=()'],
] as [Shell, string][])('%s: an rc file that resets the prompt hooks after ours (%s)', (shell, reset) => {
  it('a new terminal in the project still hides MY_SECRET and shows the segment; a cd still switches', async () => {
    const world = makeWorld();
    installHook(world, shell, true, reset);
    const t = await terminal(world, shell, world.A);
    let r = await t.run('printenv MY_SECRET');
    expect(r).toEqual({ out: [], status: 1 });
    r = await t.run('echo "segment=$SBX_PROMPT"');
    expect(r.out).toEqual(['segment=sbx:projA?']);
    r = await t.run('cat secret.txt');
    expect(r.status).not.toBe(0);
    r = await t.run(`cd ${world.out}; printenv MY_SECRET; cat ${world.A}/secret.txt`);
    // The denied cat above is explained at a prompt (shell-inside.test.ts): that line may land here.
    const out = r.out.filter((l) => !l.startsWith('sbx: denied cat read '));
    expect({ out, status: r.status }).toEqual({ out: ['sbx: policy built-in defaults (preset secrets)', 'my-value', 'A-SECRET'], status: 0 });
  });
});

describe('bash: a cd the hook\'s wrapper does not see', () => {
  it('builtin cd, and a cd() or z() defined after the hook: the policy switches before the next command on the same line (twins: the project\'s other file reads, the secret reads back outside)', async () => {
    const world = makeWorld();
    installHook(world, 'bash', true, 'z() { builtin cd "$@"; }\ncd() { builtin cd "$@"; }');
    const t = await terminal(world, 'bash', world.out);
    let r = await t.run(`cat ${world.A}/secret.txt`); // outside the project: readable
    expect(r).toEqual({ out: ['A-SECRET'], status: 0 });
    r = await t.run(`builtin cd ${world.A} && cat secret.txt`);
    expect(r.status).not.toBe(0);
    expect(r.out.join('\n')).not.toContain('A-SECRET');
    r = await t.run('cat twin.txt');
    expect(r).toEqual({ out: ['A-TWIN'], status: 0 });
    r = await t.run(`builtin cd ${world.out} && cat ${world.A}/secret.txt`);
    expect(r.out).toContain('A-SECRET');
    r = await t.run(`z ${world.A} && cat secret.txt`);
    expect(r.out.join('\n')).not.toContain('A-SECRET');
    r = await t.run(`cd ${world.out} && mkdir -p made/here && cd $_ && pwd`); // `$_` is kept
    expect(r.out).toContain(join(world.out, 'made', 'here'));
  });
});

describe.each(SHELLS)('%s: sbx exec keeps mise’s temp dirs', (shell) => {
  it('--deny-read keeps /tmp and $TMPDIR readable (write then read back), a file elsewhere still denied; the README’s npm sample builds outside /tmp', async () => {
    const world = makeWorld();
    installHook(world, shell, false);
    const base = realpathSync(mkdtempSync('/var/tmp/sbx-conv-exec-'));
    const proj = join(base, 'proj');
    const tmpdir = join(base, 'tmpdir');
    const elsewhere = join(base, 'elsewhere');
    for (const d of [proj, tmpdir, elsewhere]) mkdirSync(d, { recursive: true });
    writeFileSync(join(elsewhere, 'secret.txt'), 'ELSEWHERE\n');
    writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'tiny', version: '1.0.0', private: true, scripts: { build: 'node build.js' } }));
    writeFileSync(
      join(proj, 'build.js'),
      "const fs = require('fs');\nfs.mkdirSync('dist', { recursive: true });\nfs.writeFileSync('dist/out.txt', 'built\\n');\n" +
        "try { fs.writeFileSync('../escape.txt', 'x'); console.log('escape written'); } catch (e) { console.log('escape ' + e.code); }\n" +
        "console.log('built ok');\n",
    );
    const t = await terminal(world, shell, proj, { SBX_DISABLE: '1' });
    const tmpRoundTrip = `sh -c 'f=$(mktemp); echo tmp-ok > "$f"; cat "$f"; rm -f "$f"'`;
    let r = await t.run(`${sbxBin} exec --deny-read -- ${tmpRoundTrip}`, 90_000);
    expect(r).toEqual({ out: ['tmp-ok'], status: 0 });
    r = await t.run(`${shell === 'fish' ? `env TMPDIR=${tmpdir}` : `TMPDIR=${tmpdir}`} ${sbxBin} exec --deny-read -- ${tmpRoundTrip}`, 90_000);
    expect(r).toEqual({ out: ['tmp-ok'], status: 0 });
    r = await t.run(`${sbxBin} exec --deny-read -- cat ${elsewhere}/secret.txt`, 90_000);
    expect(r.status).toBe(1);
    expect(r.out.join('\n')).toContain(`sbx: denied read ${elsewhere}/secret.txt (--deny-read)`);
    r = await t.run(`${sbxBin} exec -- cat ${elsewhere}/secret.txt`, 90_000); // its allowed twin
    expect(r).toEqual({ out: ['ELSEWHERE'], status: 0 });

    r = await t.run(`${sbxBin} exec --deny-all --allow-write=./dist -- npm run build`, 120_000);
    expect(r.status).toBe(0);
    expect(r.out).toContain('built ok');
    expect(r.out).toContain('escape EACCES'); // outside ./dist: denied …
    expect(readFileSync(join(proj, 'dist', 'out.txt'), 'utf8')).toBe('built\n'); // … inside: written
    expect(existsSync(join(base, 'escape.txt'))).toBe(false);
  });
});

describe.each(SHELLS)('%s: quiet by default', (shell) => {
  it('no notice between policy-less dirs, one entering a project; the prompt follows `sbx trust` and a reload; status shows the current dir; no keeper line at exit', async () => {
    const world = makeWorld();
    installHook(world, shell);
    const t = await terminal(world, shell, world.x);
    expect(t.capture().filter((l) => l.startsWith('sbx:'))).toEqual([]); // a new terminal outside a project: silent
    const sbxLines = (out: string[]) => out.filter((l) => l.startsWith('sbx:'));
    let r = await t.run(`cd ${world.y}`);
    expect(sbxLines(r.out)).toEqual([]);
    r = await t.run(`cd ${world.x}`);
    expect(sbxLines(r.out)).toEqual([]);
    r = await t.run(`cd ${world.A}`);
    expect(sbxLines(r.out)[0]).toMatch(/^sbx: policy project .*projA\/\.sbx\.yaml \(untrusted/);
    expect(sbxLines(r.out).filter((l) => l.startsWith('sbx: policy'))).toHaveLength(1);
    expect(await t.prompt()).toContain('[sbx:projA?]');
    r = await t.run('cd .');
    expect(sbxLines(r.out)).toEqual([]);

    // `sbx trust` from outside: the next prompt says so, once, and the policy is the trusted one.
    execaSync(sbxBin, ['trust', world.A], { env: world.sb.env, extendEnv: false, stdin: 'ignore', stdout: 'ignore' });
    const until = async (want: string) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        r = await t.run('true');
        const p = await t.prompt();
        if (p.includes(want)) return r;
        if (Date.now() > deadline) throw new Error(`prompt never showed ${want}: ${p}`);
        await new Promise((res) => setTimeout(res, 200));
      }
    };
    await until('[sbx:projA]');
    expect(t.capture().filter((l) => /^sbx: policy project .*projA\/\.sbx\.yaml \(trusted\)$/.test(l))).toHaveLength(1);
    // An edit untrusts the file: the reload shows in the prompt.
    appendFileSync(join(world.A, '.sbx.yaml'), '# edited\n');
    await until('[sbx:projA?]');
    r = await t.run('cat secret.txt');
    expect(r.status).not.toBe(0);
    r = await t.run('cat twin.txt');
    expect(r).toEqual({ out: ['A-TWIN'], status: 0 });

    // sbx status: where the shell is now, not where the session started (x).
    const status = JSON.parse(execaSync(sbxBin, ['status', '--json'], { env: world.sb.env, extendEnv: false }).stdout) as { sessions: { cwd: string }[] };
    expect(status.sessions.map((s) => s.cwd)).toEqual([world.A]);

    // A normal exit: the session ends, and the log has no "keeper hung up" line for it.
    t.type('exit');
    const log = join(world.sb.env.XDG_STATE_HOME!, 'sbx', 'supervisor.log');
    const deadline = Date.now() + 30_000;
    while (!/ended: no sandboxed process left/.test(existsSync(log) ? readFileSync(log, 'utf8') : '') && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 100));
    }
    await new Promise((res) => setTimeout(res, 2500)); // past the keeper line's grace period
    const text = readFileSync(log, 'utf8');
    expect(text).toMatch(/ended: no sandboxed process left/);
    expect(text).not.toMatch(/hung up/);
  });

  it('direnv `use sandbox` of the project file: one notice on entering, one on leaving', async () => {
    const world = makeWorld();
    const D = join(world.sb.root, 'w', 'dproj');
    mkdirSync(D);
    writeFileSync(join(D, '.sbx.yaml'), 'version: 1\nread:\n  deny: ["d-secret.txt"]\n');
    writeFileSync(join(D, 'd-secret.txt'), 'D-SECRET\n');
    writeFileSync(join(D, 'd-twin.txt'), 'D-TWIN\n');
    writeFileSync(join(D, '.envrc'), 'use sandbox\n');
    const lib = join(world.sb.env.XDG_CONFIG_HOME!, 'direnv', 'lib');
    mkdirSync(lib, { recursive: true });
    writeFileSync(join(lib, 'sbx.sh'), execaSync(sbxBin, ['hook', 'direnv'], { stripFinalNewline: false }).stdout);
    execaSync('direnv', ['allow', D], { env: world.sb.env, extendEnv: false, stdin: 'ignore', stdout: 'ignore' });
    const direnv = shell === 'fish' ? 'direnv hook fish | source' : `eval "$(direnv hook ${shell})"`;
    writeRc(world.sb, shell, `${direnv}\n${hookLine(shell)}`);
    const t = await terminal(world, shell, world.out);
    const mark = t.capture().length;
    t.type(`cd ${D}`);
    await t.waitFor(/direnv: export .*SBX_DIRENV_USE/);
    await t.prompt();
    let r = await t.run('cat d-secret.txt');
    expect(r.status).not.toBe(0);
    r = await t.run('cat d-twin.txt');
    expect(r).toEqual({ out: ['D-TWIN'], status: 0 });
    expect(t.capture().slice(mark).filter((l) => l.startsWith('sbx: policy'))).toHaveLength(1);
    const mark2 = t.capture().length;
    t.type(`cd ${world.out}`);
    await t.waitFor(/direnv: unloading/);
    await t.prompt();
    r = await t.run(`cat ${D}/d-secret.txt`);
    expect(r).toEqual({ out: ['D-SECRET'], status: 0 });
    expect(t.capture().slice(mark2).filter((l) => l.startsWith('sbx: policy'))).toHaveLength(1);
  });
});
