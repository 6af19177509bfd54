/**
 * The macOS restart loop end to end, on Linux: the real macOS parent (dist/platform/macos/
 * shell.js, real policy resolution from .sbx.yaml files), the real shell hook (`sbx hook
 * bash|zsh|fish`), real shells in a real pty (tmux), and the recording stand-in
 * `sandbox-exec` first on PATH (it records the profile, then execs the shell — unsandboxed).
 *
 * As a person types: start in project A → the stand-in ran once, with A's profile, in A;
 * A's env rules hide SECRET_* (SBX_* stays); `cd B` → one notice line, the stand-in ran
 * again with B's profile in B, env kept and SECRET_* back;
 * `cd sub` inside B (same policy) → no restart; a forged hint from inside (a directory the
 * shell is not in) → ignored; a broken policy file → one line with file:line:col, no
 * restart; `cd A` → restart; `exit 7` → the parent exits 7 and removes
 * its private dir.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeHome, repoRoot, sbxBin, shellArgv, shellPath, Tmux, writeRc, type Shell } from '../e2e/tmux.js';
import { FakeSandboxExec } from '../unit/macos/fake-sandbox.js';

const SHELL_JS = join(repoRoot, 'dist', 'platform', 'macos', 'shell.js');

// The parent as `sbx shell` runs it on a Mac: macosShell() with the default resolver.
const DRIVER = `
const { macosShell } = await import(${JSON.stringify(SHELL_JS)});
const env = { ...process.env };
const status = await macosShell({ argv: process.argv.slice(2), cwd: process.cwd(), env });
process.exit(status);
`;

function hookLine(shell: Shell): string {
  // The hook honours SBX_MACOS_CTL on macOS only: the rc file says this is macOS, as the
  // system would there (on Linux the variable, from the environment, would skip the sandbox).
  const macos = shell === 'fish' ? 'set -g __sbx_os darwin' : '__sbx_os=darwin';
  return shell === 'fish' ? `${macos}\n${sbxBin} hook fish | source` : `${macos}\neval "$(${sbxBin} hook ${shell})"`;
}

/** A variable's value or "hidden", in each shell's syntax (no quotes needed around it). */
const orHidden = (shell: Shell, name: string) => (shell === 'fish' ? `(set -q ${name}; and echo $${name}; or echo hidden)` : `\${${name}:-hidden}`);

const NOTICE = /has a different policy: shell restarted under its profile/;
let tmux: Tmux | undefined;
let root: string | undefined;

beforeAll(() => {
  if (!existsSync(SHELL_JS)) throw new Error(`${SHELL_JS} is missing: run \`npm run build\` (npm test does)`);
});

afterEach(() => {
  tmux?.kill();
  tmux = undefined;
  if (root) rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  root = undefined;
});

describe.each(['bash', 'zsh', 'fish'] as Shell[])('macOS restart loop in %s (stand-in sandbox-exec)', (shell) => {
  it('restarts on a project change, not within a project, ignores forged hints, exits with the shell', async () => {
    const sb = makeHome('sbx-macos-e2e-');
    root = sb.root;
    const fake = new FakeSandboxExec(sb.root);
    const A = join(sb.root, 'projA');
    const B = join(sb.root, 'projB');
    const C = join(sb.root, 'projC');
    const broken = join(sb.root, 'projBroken');
    mkdirSync(broken);
    writeFileSync(join(broken, '.sbx.yaml'), 'version: 1\nread:\n  deny: "not-a-list"\n');
    for (const [dir, secret] of [[A, 'secret-a'], [B, 'secret-b'], [C, 'secret-c']] as const) {
      mkdirSync(join(dir, 'sub'), { recursive: true });
      const env = dir === A ? 'env:\n  deny: ["SECRET_*"]\n' : '';
      writeFileSync(join(dir, '.sbx.yaml'), `version: 1\nread:\n  deny: ["${secret}"]\n${env}`);
    }
    const driver = join(sb.root, 'driver.mjs');
    writeFileSync(driver, DRIVER);
    const rc = writeRc(sb, shell, hookLine(shell));
    const zdot = shell === 'zsh' ? { ZDOTDIR: sb.home } : {};
    const env = { ...sb.env, ...zdot, ...fake.env(sb.env.PATH), SHELL: shellPath(shell), KEEP_ME: 'kept', SECRET_TOKEN: 's3cret', SBX_SECRET_KEEP: 'sbx-var' };
    const argv = shellArgv(shell, rc).map((a) => `'${a}'`).join(' ');
    const t = (tmux = new Tmux(shell));
    t.start(['sh', '-c', `node ${driver} ${argv}; echo "PARENT-EXIT $?"; sleep 600`], A, env);

    // Start in A: one sandbox-exec call, A's profile, in A, 0600.
    await t.prompt(20_000);
    let calls = fake.calls();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.cwd).toBe(A);
    expect(calls[0]!.mode).toBe('600');
    expect(calls[0]!.argv[0]).toBe(shell);
    expect(calls[0]!.profile).toContain(`(deny file-read* (subpath "${A}/secret-a")`);
    expect(calls[0]!.profile).not.toContain('secret-b');
    // A's env rules hide SECRET_*, but SBX_* variables always stay.
    const inA = await t.run(`echo token=${orHidden(shell, 'SECRET_TOKEN')} sbx=$SBX_SECRET_KEEP`);
    expect(inA.out).toEqual(['token=hidden sbx=sbx-var']);

    // cd B: the notice, then a new shell under B's profile in B.
    t.type(`cd ${B}`);
    await t.waitFor(NOTICE);
    await t.prompt();
    calls = fake.calls();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.cwd).toBe(B);
    expect(calls[1]!.profile).toContain(`(deny file-read* (subpath "${B}/secret-b")`);
    expect(calls[1]!.profile).not.toContain('secret-a');
    expect(calls[1]!.pid).not.toBe(calls[0]!.pid);
    const here = await t.run(`pwd; echo keep=$KEEP_ME token=${orHidden(shell, 'SECRET_TOKEN')}; echo ctl=$SBX_MACOS_CTL`);
    expect(here.out.slice(0, 2)).toEqual([B, 'keep=kept token=s3cret']); // left A: restored
    const ctl = here.out[2]!.replace(/^ctl=/, '');
    expect(ctl).toMatch(/\/ctl$/);

    // cd within B: same policy, no restart (checked below by the call list).
    expect((await t.run('cd sub')).status).toBe(0);

    // A forged hint from inside the sandbox, naming a project the shell is not in: ignored.
    const forge = shell === 'fish' ? `printf 'cd %s\\n' ${C} >>$SBX_MACOS_CTL` : `printf 'cd %s\\n' ${C} 1<>"$SBX_MACOS_CTL"`;
    expect((await t.run(forge)).status).toBe(0);

    // A broken policy file: one line naming file:line:col, the current profile stays (no restart).
    t.type(`cd ${broken}`);
    const said = await t.waitFor(/keeping the current profile/);
    expect(said[said.length - 1]).toContain(`${broken}/.sbx.yaml:3:9: read.deny`);

    // Hints are handled in order: once the restart for A shows, all of the above were handled.
    t.type(`cd ${A}`);
    await t.waitFor(NOTICE);
    await t.prompt();
    calls = fake.calls();
    expect(calls.map((c) => c.cwd)).toEqual([A, B, A]);
    expect(calls.some((c) => c.profile.includes('secret-c'))).toBe(false);
    expect((await t.run('pwd')).out).toEqual([A]);

    // Exactly one notice per restart.
    expect(t.capture().filter((l) => NOTICE.test(l))).toHaveLength(2);

    // exit 7: the parent exits with the shell's status and cleans up.
    t.type('exit 7');
    await t.waitFor(/^PARENT-EXIT 7$/);
    expect(existsSync(dirname(ctl))).toBe(false);
  });
});
