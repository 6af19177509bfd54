/**
 * The hook against the real sandbox: bash, zsh and fish in a real `sbx shell` session under
 * tmux, typed as a person would. Every denial has its allowed twin on the same screen.
 *   cd into A (its secret denied, the twin readable), to B, out (A's secret readable again);
 *   env hidden in A and restored outside; a background job started in A keeps A's policy after
 *   the shell leaves; a broken policy file is reported with its line while the last good policy
 *   stays; direnv's `use sandbox` loads and unloads; a second source of the hook adds nothing.
 */
import { describe, expect, it, vi } from 'vitest';
import { execaSync } from 'execa';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trackTerminals, makeHome, repoRoot, sbxBin, shellPath, Tmux, writeRc, type Sandbox, type Shell } from './tmux.js';

// Real shells and supervisors on a loaded 2-core box: generous limits (no timing is asserted).
vi.setConfig({ testTimeout: 120_000 });

const SHELLS: Shell[] = ['bash', 'zsh', 'fish'];

interface World {
  sb: Sandbox;
  A: string;
  B: string;
  out: string;
  D: string;
}

function makeWorld(): World {
  const sb = makeHome('sbx-sess-');
  const w = join(sb.root, 'w');
  const A = join(w, 'projA');
  const B = join(w, 'projB');
  const out = join(w, 'out');
  const D = join(w, 'projD');
  for (const d of [A, join(A, 'sub'), B, out, D]) mkdirSync(d, { recursive: true });
  writeFileSync(join(A, '.sbx.yaml'), 'version: 1\nread:\n  deny: ["secret.txt"]\nenv:\n  deny: ["*_TOKEN"]\n');
  writeFileSync(join(A, 'secret.txt'), 'A-SECRET\n');
  writeFileSync(join(A, 'twin.txt'), 'A-TWIN\n');
  writeFileSync(join(B, '.sbx.yaml'), 'version: 1\nread:\n  deny: ["b-secret.txt"]\n');
  writeFileSync(join(B, 'b-secret.txt'), 'B-SECRET\n');
  writeFileSync(join(B, 'b-twin.txt'), 'B-TWIN\n');
  // D is sandboxed through direnv only: its policy file has a name discovery does not look for.
  writeFileSync(join(D, 'policy.yaml'), 'version: 1\nread:\n  deny: ["d-secret.txt"]\n');
  writeFileSync(join(D, 'd-secret.txt'), 'D-SECRET\n');
  writeFileSync(join(D, 'd-twin.txt'), 'D-TWIN\n');
  writeFileSync(join(D, '.envrc'), 'use sandbox policy.yaml\n');
  const lib = join(sb.env.XDG_CONFIG_HOME!, 'direnv', 'lib');
  mkdirSync(lib, { recursive: true });
  writeFileSync(join(lib, 'sbx.sh'), execaSync(sbxBin, ['hook', 'direnv'], { stripFinalNewline: false }).stdout);
  execaSync('direnv', ['allow', D], { env: sb.env, extendEnv: false, stdin: 'ignore', stdout: 'ignore' });
  return { sb, A, B, out, D };
}

// Each world has its own XDG_RUNTIME_DIR, so its own supervisor, stopped after the file.
const { started, worlds } = trackTerminals();

function hookLines(shell: Shell, twice = false): string {
  const direnv = shell === 'fish' ? 'direnv hook fish | source' : `eval "$(direnv hook ${shell})"`;
  const hook = shell === 'fish' ? `${sbxBin} hook fish | source` : `eval "$(${sbxBin} hook ${shell})"`;
  return [direnv, hook, ...(twice ? [hook] : [])].join('\n');
}

/** A real session: `sbx shell -- SHELL -i` in a tmux pane, the rc file sourcing the hook. */
async function session(shell: Shell, world: World, cwd: string, opts: { twice?: boolean } = {}): Promise<Tmux> {
  worlds.push(world.sb);
  const rc = writeRc(world.sb, shell, hookLines(shell, opts.twice));
  const argv = shell === 'bash' ? ['bash', '--noprofile', '--rcfile', rc, '-i'] : [shell, '-i'];
  const t = new Tmux(shell);
  t.start([sbxBin, 'shell', '--follow-cd', '--', ...argv], cwd, {
    ...world.sb.env,
    ZDOTDIR: world.sb.home,
    SHELL: shellPath(shell),
    GH_TOKEN: 'gh-value',
    PLAIN: 'plain',
  });
  started.push(t);
  await t.prompt(30_000);
  return t;
}

const show = (shell: Shell, names: string[]) =>
  shell === 'fish'
    ? `echo ${names.map((n) => `${n}=(set -q ${n}; and echo $${n}; or echo -)`).join(' ')}`
    : `echo ${names.map((n) => `${n}=\${${n}-"-"}`).join(' ')}`;

describe('sbx shell --check', () => {
  it('exits 0 silently when a session can start; inside a session it refuses with one line', () => {
    const world = makeWorld();
    worlds.push(world.sb);
    const ok = execaSync(sbxBin, ['shell', '--check'], { env: world.sb.env, extendEnv: false, stdin: 'ignore', stripFinalNewline: false, reject: false });
    expect({ status: ok.exitCode, stdout: ok.stdout, stderr: ok.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
    const inside = execaSync(sbxBin, ['shell', '--check'], { env: { ...world.sb.env, SBX_SESSION: 's1' }, extendEnv: false, stripFinalNewline: false, reject: false });
    expect(inside.exitCode).toBe(2);
    expect(inside.stderr).toMatch(/^sbx: already inside sbx session s1\n/);
  });
});

describe.each(SHELLS)('%s started outside any session', (shell) => {
  it('the rc hook checks, then re-executes the same process into a session; the policy applies — also when the environment carries the hook\'s own markers (what a sandboxed program can put in an editor\'s terminal settings)', async () => {
    const world = makeWorld();
    worlds.push(world.sb);
    const pids = join(world.sb.root, 'pids');
    const pid = shell === 'fish' ? '$fish_pid' : '$$';
    const rc = writeRc(world.sb, shell, `echo ${pid} >> ${pids}\n${hookLines(shell)}`);
    const argv = shell === 'bash' ? ['bash', '--noprofile', '--rcfile', rc, '-i'] : [shell, '-i'];
    const t = new Tmux(shell);
    // Each once made the hook skip the sandbox: its markers, OSTYPE (bash takes it from the
    // environment), a function path whose `uname` says Darwin (fish).
    const fnDir = join(world.sb.root, 'fns');
    mkdirSync(fnDir, { recursive: true });
    writeFileSync(join(fnDir, 'uname.fish'), 'function uname; echo Darwin; end\n');
    const planted = { __sbx_entered: '1', SBX_MACOS_CTL: join(world.sb.root, 'ctl'), OSTYPE: 'darwin23', fish_function_path: `${fnDir} /usr/share/fish/functions` };
    t.start(argv, world.A, { ...world.sb.env, ZDOTDIR: world.sb.home, SHELL: shellPath(shell), GH_TOKEN: 'gh-value', ...planted });
    started.push(t);
    await t.prompt(30_000);
    let r = await t.run(shell === 'fish' ? 'echo S=(set -q SBX_SESSION; and echo yes)' : 'echo S=${SBX_SESSION:+yes}');
    if (process.env.SBX_E2E_DEBUG) console.log(t.capture().join('\n'));
    expect(r.out).toEqual(['S=yes']);
    // The rc ran twice (before and after the exec) in one and the same process: same terminal.
    const lines = readFileSync(pids, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(lines[1]);
    r = await t.run('cat secret.txt');
    expect(r.status).not.toBe(0);
    r = await t.run('cat twin.txt');
    expect(r).toEqual({ out: ['A-TWIN'], status: 0 });
    r = await t.run(show(shell, ['GH_TOKEN']));
    expect(r.out).toEqual(['GH_TOKEN=-']);
    expect(t.capture().join('\n')).not.toContain('NOT sandboxed');
  });
});

describe('bash started with functions in its environment', () => {
  it('an exported function named like a builtin the hook runs (exec) gets one NOT sandboxed line from sbx itself; twin: another exported function, and the terminal enters the session', async () => {
    const world = makeWorld();
    worlds.push(world.sb);
    // The hook printed by sbx's native client, as the README installs it: a `bin/sbx` run by
    // dash never sees these variables (dash drops names it cannot hold).
    const fast = join(repoRoot, 'native', 'unotify', 'build', 'Release', 'sbx-fast');
    const rc = writeRc(world.sb, 'bash', `eval "$(${fast} hook bash)"`);
    const open = async (fn: Record<string, string>) => {
      const t = new Tmux('bash');
      t.start(['bash', '--noprofile', '--rcfile', rc, '-i'], world.A, { ...world.sb.env, SHELL: shellPath('bash'), ...fn });
      started.push(t);
      await t.prompt(30_000);
      return t;
    };
    const hostile = await open({ 'BASH_FUNC_exec%%': '() { unset -f exec; }' });
    expect(hostile.capture().filter((l) => l.startsWith('sbx: NOT sandboxed: this terminal\'s environment defines shell functions named like bash builtins or sbx\'s own (exec)'))).toHaveLength(1);
    const twin = await open({ 'BASH_FUNC_mytool%%': '() { echo mine; }' });
    const r = await twin.run('echo S=${SBX_SESSION:+yes}; mytool');
    expect(r.out).toEqual(['S=yes', 'mine']);
  });
});

describe.each(SHELLS)('%s in a real session', (shell) => {
  it('cd A (secret denied, twin read), B, out (secret readable again); env hidden and restored', async () => {
    const world = makeWorld();
    const t = await session(shell, world, world.out);
    let r = await t.run(`cat ${world.A}/secret.txt`);
    expect(r).toEqual({ out: ['A-SECRET'], status: 0 }); // outside A: readable

    r = await t.run(`cd ${world.A}`);
    expect(r.out.join('\n')).toMatch(/^sbx: .*projA/m); // one line saying the policy changed
    r = await t.run('cat secret.txt');
    expect(r.status).not.toBe(0);
    expect(r.out.join('\n')).toMatch(/Permission denied|Operation not permitted/);
    r = await t.run('cat twin.txt');
    expect(r).toEqual({ out: ['A-TWIN'], status: 0 });
    r = await t.run(show(shell, ['GH_TOKEN', 'PLAIN']));
    expect(r.out).toEqual(['GH_TOKEN=- PLAIN=plain']);
    expect(await t.prompt()).toMatch(/\[sbx:projA\??\]/);

    r = await t.run(`cd ${world.B}`);
    r = await t.run('cat b-secret.txt');
    expect(r.status).not.toBe(0);
    r = await t.run(`cat b-twin.txt ${world.A}/secret.txt`);
    expect(r).toEqual({ out: ['B-TWIN', 'A-SECRET'], status: 0 });
    r = await t.run(show(shell, ['GH_TOKEN']));
    expect(r.out).toEqual(['GH_TOKEN=gh-value']);

    r = await t.run(`cd ${world.out}`);
    r = await t.run(`cat ${world.A}/secret.txt ${world.B}/b-secret.txt`);
    expect(r).toEqual({ out: ['A-SECRET', 'B-SECRET'], status: 0 });
    r = await t.run(show(shell, ['GH_TOKEN', 'PLAIN']));
    expect(r.out).toEqual(['GH_TOKEN=gh-value PLAIN=plain']);
  });

  it('a background job started in A keeps A’s policy after the shell cds out', async () => {
    const world = makeWorld();
    const t = await session(shell, world, world.A);
    const flag = join(world.sb.root, 'go');
    const result = join(world.sb.root, 'bg.txt');
    // The job waits for a flag file, then tries A's secret and records the outcome.
    const job = `sh -c 'while [ ! -e ${flag} ]; do sleep 0.05; done; if cat ${world.A}/secret.txt >/dev/null 2>&1; then echo read > ${result}; else echo denied > ${result}; fi' &`;
    await t.run(job);
    await t.run(`cd ${world.out}`);
    let r = await t.run(`cat ${world.A}/secret.txt`); // the shell itself follows its directory
    expect(r).toEqual({ out: ['A-SECRET'], status: 0 });
    writeFileSync(flag, '');
    const deadline = Date.now() + 10_000;
    const outcome = () => (existsSync(result) ? readFileSync(result, 'utf8').trim() : '');
    while (outcome() === '' && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    expect(outcome()).toBe('denied');
    await t.run('wait'); // reap the job here, so its "Done" line is not in the next output
    // Its twin: a job started now, outside A, reads the file.
    r = await t.run(`sh -c 'cat ${world.A}/secret.txt'`);
    expect(r).toEqual({ out: ['A-SECRET'], status: 0 });
  });

  it('a broken policy file is reported with its line; the last good policy stays', async () => {
    const world = makeWorld();
    const t = await session(shell, world, world.A);
    let r = await t.run('cat secret.txt');
    expect(r.status).not.toBe(0);
    // Break A's file (line 3), then move inside A so the hook pushes again.
    writeFileSync(join(world.A, '.sbx.yaml'), 'version: 1\nread:\n  deny: [secret.txt\nenv: {}\n');
    r = await t.run('cd sub');
    expect(r.out.join('\n')).toMatch(/\.sbx\.yaml:\d+/);
    expect(r.out.join('\n')).toMatch(/last good/);
    expect(await t.prompt()).toMatch(/\[sbx:projA[?!]*!\]/);
    r = await t.run('cat ../secret.txt');
    expect(r.status).not.toBe(0);
    r = await t.run('cat ../twin.txt');
    expect(r).toEqual({ out: ['A-TWIN'], status: 0 });
  });

  it('direnv `use sandbox`: loading applies the file, unloading lifts it', async () => {
    const world = makeWorld();
    const t = await session(shell, world, world.out);
    t.type(`cd ${world.D}`);
    await t.waitFor(/direnv: export .*SBX_DIRENV_USE/);
    await t.prompt();
    let r = await t.run('cat d-secret.txt');
    expect(r.status).not.toBe(0);
    r = await t.run('cat d-twin.txt');
    expect(r).toEqual({ out: ['D-TWIN'], status: 0 });
    t.type(`cd ${world.out}`);
    await t.waitFor(/direnv: unloading/);
    await t.prompt();
    r = await t.run(`cat ${world.D}/d-secret.txt`);
    expect(r).toEqual({ out: ['D-SECRET'], status: 0 });
  });

  it('sourcing the hook twice: one push per cd, $? kept', async () => {
    const world = makeWorld();
    const t = await session(shell, world, world.out, { twice: true });
    let r = await t.run(`cd ${world.A}`);
    expect(r.out.filter((l) => l.startsWith('sbx: policy'))).toHaveLength(1);
    t.type('false');
    await t.prompt();
    r = await t.run(`echo was=${shell === 'fish' ? '$status' : '$?'}`);
    expect(r.out).toEqual(['was=1']);
    r = await t.run('cat secret.txt');
    expect(r.status).not.toBe(0);
  });
});

// One shell is enough here: what is compared is the policy text, not the shell's hook.
describe('bash: a policy file given to direnv', () => {
  it('direnv `use sandbox FILE` with extends: and commands: behaves like the same text in .sbx.yaml', async () => {
    const world = makeWorld();
    // The same text twice: as D's direnv file and as E's .sbx.yaml.
    const text = 'version: 1\nextends: [shell-rc]\nread:\n  deny: ["d-secret.txt"]\ncommands:\n  head: { read: { deny: ["d-twin.txt"] } }\n';
    writeFileSync(join(world.D, 'policy.yaml'), text);
    const E = join(world.sb.root, 'w', 'projE');
    mkdirSync(E, { recursive: true });
    writeFileSync(join(E, '.sbx.yaml'), text);
    for (const f of ['d-secret.txt', 'd-twin.txt']) writeFileSync(join(E, f), readFileSync(join(world.D, f)));
    execaSync('direnv', ['allow', world.D], { env: world.sb.env, extendEnv: false, stdin: 'ignore', stdout: 'ignore' });
    const t = await session('bash', world, world.out);
    const probe = async () => {
      const out: string[] = [];
      for (const cmd of ['cat d-secret.txt', 'cat d-twin.txt', 'head -n1 d-twin.txt', 'mkdir .vscode', 'mkdir .vscodex']) out.push(`${cmd}: ${(await t.run(`${cmd} >/dev/null 2>&1`)).status === 0 ? 'ok' : 'fail'}`);
      return out;
    };
    t.type(`cd ${world.D}`);
    await t.waitFor(/direnv: export .*SBX_DIRENV_USE/);
    await t.prompt();
    const viaDirenv = await probe();
    await t.run(`cd ${E}`);
    const viaFile = await probe();
    expect(viaFile).toEqual(['cat d-secret.txt: fail', 'cat d-twin.txt: ok', 'head -n1 d-twin.txt: fail', 'mkdir .vscode: fail', 'mkdir .vscodex: ok']);
    expect(viaDirenv).toEqual(viaFile);
  });
});

describe('the `use` hint reads a file only under the shell\'s own policy and never quotes it', () => {
  it('bash: `use` of a read-denied file is refused and nothing of it reaches the reply or the log; a readable non-policy file is named, not quoted; a valid file applies', async () => {
    const world = makeWorld();
    writeFileSync(join(world.A, 'alt.yaml'), 'version: 1\nread:\n  deny: ["twin.txt"]\n');
    const t = await session('bash', world, world.A);
    // In A, secret.txt is read-denied: the supervisor must not parse it for the shell.
    let r = await t.run(`read -r -d '' REPLY < /proc/self/sbx/use/${world.A}/secret.txt; echo "rc=$? [$REPLY]"`);
    expect(r.out.join('\n')).toMatch(/rc=1 \[\]/);
    expect(t.capture().join('\n')).not.toContain('A-SECRET');
    // twin.txt is readable but no policy: the notice names the file, quotes nothing of it.
    r = await t.run(`read -r -d '' REPLY < /proc/self/sbx/use/${world.A}/twin.txt; echo "[$REPLY]"`);
    const reply = r.out.join('\n');
    expect(reply).toContain(`${world.A}/twin.txt`);
    expect(reply).toContain('not a valid sbx policy file');
    expect(reply).not.toContain('A-TWIN');
    // Allowed twin: a valid policy file named by `use` applies (twin.txt becomes denied). The
    // broken one above holds (its strict fallback) while the shell stays in A: out and back.
    await t.run(`cd ${world.out}`);
    await t.run(`cd ${world.A}`);
    await t.run(`read -r -d '' REPLY < /proc/self/sbx/use/${world.A}/alt.yaml; echo done`);
    r = await t.run(`cat ${world.A}/twin.txt`);
    expect(r.out.join('\n')).toMatch(/Permission denied/);
    const log = join(world.sb.env.XDG_STATE_HOME!, 'sbx', 'violations.jsonl');
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    expect(text).toContain('not readable under the caller');
    expect(text).not.toContain('A-SECRET');
    expect(text).not.toContain('A-TWIN');
  });
});
