/**
 * Never lose a terminal: real bash, zsh and fish under tmux, the rc file loading the hook, when
 *   (a) the native build is missing (addon and launcher; or dist/ never built),
 *   (b) the sbx checkout the hook was saved from has moved away,
 *   (c) the supervisor dies while a shell is open.
 * Each time the terminal opens and stays usable, prints ONE line with the cause and the exact
 * fix, and either runs sandboxed or marks every prompt "[sbx: NOT SANDBOXED]". Every broken
 * case has its twin: once fixed, a new terminal is sandboxed (the secret denied, the twin read).
 *
 * The broken checkouts are copies of this one (bin, dist, shells, package.json; node_modules
 * linked; the native build copied in or not), so the real build is never touched.
 */
import { describe, expect, it, vi } from 'vitest';
import { execaSync } from 'execa';
import { cpSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trackTerminals, makeHome, repoRoot, sbxBin, shellPath, Tmux, writeRc, type Sandbox, type Shell } from './tmux.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

const SHELLS: Shell[] = ['bash', 'zsh', 'fish'];
const RELEASE = join(repoRoot, 'native', 'unotify', 'build', 'Release');

interface World {
  sb: Sandbox;
  proj: string;
}

function makeWorld(): World {
  const sb = makeHome('sbx-keep-');
  const proj = join(sb.root, 'proj');
  mkdirSync(proj, { recursive: true });
  writeFileSync(join(proj, '.sbx.yaml'), 'version: 1\nread:\n  deny: ["secret.txt"]\n');
  writeFileSync(join(proj, 'secret.txt'), 'THE-SECRET\n');
  writeFileSync(join(proj, 'twin.txt'), 'THE-TWIN\n');
  worlds.push(sb);
  return { sb, proj };
}

/** A copy of the checkout at `dir`: what `git clone` + `npm install` leaves, minus what `parts` omits. */
function copyCheckout(dir: string, parts: { dist: boolean; native: boolean }): string {
  mkdirSync(dir, { recursive: true });
  for (const p of ['bin', 'shells', 'package.json', 'direnvrc.sh', ...(parts.dist ? ['dist'] : [])]) cpSync(join(repoRoot, p), join(dir, p), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  if (parts.native) installNative(dir);
  return join(dir, 'bin', 'sbx');
}

/** The fix `npm run native` would make, without the minutes of compiling: the built files. */
function installNative(dir: string): void {
  const rel = join(dir, 'native', 'unotify', 'build', 'Release');
  mkdirSync(rel, { recursive: true });
  for (const f of ['sbx_unotify.node', 'sbx-launch', 'sbx-keeper']) cpSync(join(RELEASE, f), join(rel, f));
}

const hookLine = (shell: Shell, bin: string) => (shell === 'fish' ? `${bin} hook fish | source` : `eval "$(${bin} hook ${shell})"`);
const sourceLine = (shell: Shell, file: string) => (shell === 'fish' ? `source ${file}` : `. ${file}`);
const inSession = (shell: Shell) => (shell === 'fish' ? 'echo S=(set -q SBX_SESSION; and echo yes; or echo no)' : 'echo S=${SBX_SESSION:+yes}');

const { started, worlds } = trackTerminals();

/** A new terminal: `shell -i` in a tmux pane (not yet sandboxed), its rc file ending in `rcLine`. */
async function terminal(shell: Shell, world: World, rcLine: string, prompt = /\] [#$%>] ?$/): Promise<Tmux> {
  const rc = writeRc(world.sb, shell, rcLine);
  const argv = shell === 'bash' ? ['bash', '--noprofile', '--rcfile', rc, '-i'] : [shell, '-i'];
  const t = new Tmux(shell);
  t.start(argv, world.proj, { ...world.sb.env, ZDOTDIR: world.sb.home, SHELL: shellPath(shell) });
  started.push(t);
  await t.waitFor(prompt, 60_000);
  return t;
}

/** The screen has exactly one NOT sandboxed line matching `cause` and `fix`; the terminal works; the prompt is marked. */
async function expectLoudUnsandboxed(t: Tmux, shell: Shell, cause: RegExp, fix: string): Promise<void> {
  const screen = t.capture();
  const lines = screen.filter((l) => l.includes('NOT sandboxed'));
  expect(lines, screen.join('\n')).toHaveLength(1);
  expect(lines[0]).toMatch(cause);
  expect(lines[0]).toContain(`fix: ${fix}`);
  const r = await t.run('echo still-here');
  expect(r.out).toContain('still-here');
  expect(r.out.filter((l) => l !== 'still-here' && !l.includes('NOT SANDBOXED'))).toEqual([]);
  expect((await t.run(inSession(shell))).out).toContain('S=' + (shell === 'fish' ? 'no' : ''));
  // The marker: the test prompt shows $SBX_PROMPT, so it reads [sbx:NOT-SANDBOXED].
  expect(t.capture().at(-1)).toContain('sbx:NOT-SANDBOXED');
}

/** A sandboxed terminal: in a session, the project's secret denied and its twin readable. */
async function expectSandboxed(t: Tmux, shell: Shell): Promise<void> {
  expect((await t.run(inSession(shell))).out).toEqual(['S=yes']);
  expect((await t.run('cat secret.txt')).status).not.toBe(0);
  expect(await t.run('cat twin.txt')).toEqual({ out: ['THE-TWIN'], status: 0 });
  expect(t.capture().join('\n')).not.toContain('NOT sandboxed');
}

describe.each(SHELLS)('%s: a new terminal never closes', (shell) => {
  it('(a) native build missing: one line with the exact fix, a marked prompt; after the fix a new terminal is sandboxed', async () => {
    const world = makeWorld();
    const dir = join(world.sb.root, 'sbx');
    const bin = copyCheckout(dir, { dist: true, native: false });
    const t = await terminal(shell, world, hookLine(shell, bin));
    await expectLoudUnsandboxed(t, shell, /NOT sandboxed: native build: .*not (found|be loaded)/, `cd ${dir} && npm run native`);
    installNative(dir);
    await expectSandboxed(await terminal(shell, world, hookLine(shell, bin)), shell);
  });

  it('(a) dist/ never built: the rc line still gets a hook that says so and marks every prompt', async () => {
    const world = makeWorld();
    const dir = join(world.sb.root, 'sbx');
    const bin = copyCheckout(dir, { dist: false, native: true });
    // A prompt that does not show $SBX_PROMPT: the hook adds the marker itself, at every prompt.
    const plain = shell === 'bash' ? `PS1='plain$ '\n` : shell === 'zsh' ? `PROMPT='plain%# '\n` : 'function fish_prompt; printf "plain> "; end\n';
    const t = await terminal(shell, world, `${hookLine(shell, bin)}\n${plain}`, /plain[#$%>] ?$/);
    const screen = t.capture();
    expect(screen.filter((l) => l.includes('NOT sandboxed'))).toEqual([
      `sbx: NOT sandboxed: sbx is not built (${dir}/dist is missing); fix: cd ${dir} && npm install`,
    ]);
    expect((await t.run('echo still-here')).out).toContain('still-here');
    await t.waitFor(/plain[#$%>] ?$/);
    expect(t.capture().join('\n')).toContain('[sbx: NOT SANDBOXED]');
    cpSync(join(repoRoot, 'dist'), join(dir, 'dist'), { recursive: true });
    await expectSandboxed(await terminal(shell, world, hookLine(shell, bin)), shell);
  });

  it('(b) a hook saved from a checkout that moved: one line naming the missing path and the fix; from the new place it is sandboxed', async () => {
    const world = makeWorld();
    const old = join(world.sb.root, 'old-sbx');
    const oldBin = copyCheckout(old, { dist: true, native: true });
    const hookFile = join(world.sb.root, `hook.${shell}`);
    writeFileSync(hookFile, execaSync(oldBin, ['hook', shell], { env: world.sb.env, extendEnv: false, stripFinalNewline: false }).stdout);
    const moved = join(world.sb.root, 'new-sbx');
    renameSync(old, moved);
    const t = await terminal(shell, world, sourceLine(shell, hookFile));
    await expectLoudUnsandboxed(t, shell, new RegExp(`NOT sandboxed: ${oldBin.replace(/[.+]/g, '\\$&')} is gone \\(the sbx checkout was moved or deleted\\)`), 'put sbx back there, or re-install the hook');
    // The fix: the hook from the new place.
    writeFileSync(hookFile, execaSync(join(moved, 'bin', 'sbx'), ['hook', shell], { env: world.sb.env, extendEnv: false, stripFinalNewline: false }).stdout);
    await expectSandboxed(await terminal(shell, world, sourceLine(shell, hookFile)), shell);
  });

  it('(c) the supervisor is killed: the open shell keeps working under its policy, a new terminal is sandboxed', async () => {
    const world = makeWorld();
    const t = await terminal(shell, world, hookLine(shell, sbxBin));
    await expectSandboxed(t, shell);
    const pidFile = readFileSync(join(world.sb.env.XDG_RUNTIME_DIR!, 'sbx', 'supervisor.pid'), 'utf8');
    process.kill(Number(pidFile.trim()), 'SIGKILL');
    // The keeper restarts a supervisor and hands the session over; meanwhile calls wait, none fail.
    await expectSandboxed(t, shell);
    await expectSandboxed(await terminal(shell, world, hookLine(shell, sbxBin)), shell);
  });
});
