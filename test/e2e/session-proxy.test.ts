/**
 * A session's proxy variables follow the shell's policy (real bash, zsh, fish under tmux, the
 * hook in the rc file): none under a policy without host rules — the user's own proxy stays
 * as it was, or no variable at all — and sbx's proxy while the shell is in a project whose
 * policy has a wildcard rule; leaving puts the user's values back exactly. `sbx status` says
 * the session's proxy chains to the user's.
 */
import { describe, expect, it, vi } from 'vitest';
import { execaSync } from 'execa';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trackTerminals, makeHome, sbxBin, shellPath, Tmux, writeRc, type Sandbox, type Shell } from './tmux.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

const SHELLS: Shell[] = ['bash', 'zsh', 'fish'];
const USER_PROXY = 'http://127.0.0.1:3128';

const { started, worlds } = trackTerminals();

async function terminal(shell: Shell, sb: Sandbox, cwd: string, env: Record<string, string>): Promise<Tmux> {
  const hook = shell === 'fish' ? `${sbxBin} hook fish | source` : `eval "$(${sbxBin} hook ${shell})"`;
  const rc = writeRc(sb, shell, hook);
  const argv = shell === 'bash' ? ['bash', '--noprofile', '--rcfile', rc, '-i'] : [shell, '-i'];
  const t = new Tmux(shell);
  t.start(argv, cwd, { ...sb.env, ZDOTDIR: sb.home, SHELL: shellPath(shell), ...env });
  started.push(t);
  await t.prompt(60_000);
  return t;
}

const show = (shell: Shell) =>
  shell === 'fish'
    ? 'echo P=(set -q HTTPS_PROXY; and echo $HTTPS_PROXY; or echo -) A=(set -q all_proxy; and echo $all_proxy; or echo -)'
    : 'echo P=${HTTPS_PROXY-"-"} A=${all_proxy-"-"}';

describe.each(SHELLS)('%s: proxy variables only where needed', (shell) => {
  it("the user's proxy kept outside host rules, sbx's (chained to it) in a wildcard project, the user's back after; none at all without a user proxy", async () => {
    const sb = makeHome('sbx-sproxy-');
    worlds.push(sb);
    const plain = join(sb.root, 'plain');
    const wild = join(sb.root, 'wild');
    mkdirSync(plain);
    mkdirSync(wild);
    writeFileSync(join(wild, '.sbx.yaml'), 'version: 1\nnet:\n  allow: ["*.example.test"]\n');
    execaSync(sbxBin, ['trust'], { cwd: wild, env: sb.env, extendEnv: false, stdin: 'ignore', stdout: 'ignore' });

    const t = await terminal(shell, sb, plain, { HTTPS_PROXY: USER_PROXY });
    expect((await t.run(show(shell))).out).toEqual([`P=${USER_PROXY} A=-`]);
    await t.run(`cd ${wild}`);
    const inWild = (await t.run(show(shell))).out;
    expect(inWild).toHaveLength(1);
    expect(inWild[0]).toMatch(/^P=http:\/\/127\.0\.0\.1:\d+ A=socks5h:\/\/127\.0\.0\.1:\d+$/);
    expect(inWild[0]).not.toContain(USER_PROXY);
    const status = execaSync(sbxBin, ['status'], { env: sb.env, extendEnv: false, stripFinalNewline: false }).stdout;
    expect(status).toContain(`chained to your proxy ${USER_PROXY}`);
    await t.run(`cd ${plain}`);
    expect((await t.run(show(shell))).out).toEqual([`P=${USER_PROXY} A=-`]);

    // No proxy of the user's: nothing at all outside host rules, sbx's inside.
    const t2 = await terminal(shell, sb, plain, {});
    expect((await t2.run(show(shell))).out).toEqual(['P=- A=-']);
    await t2.run(`cd ${wild}`);
    expect((await t2.run(show(shell))).out[0]).toMatch(/^P=http:\/\/127\.0\.0\.1:\d+ /);
    await t2.run(`cd ${plain}`);
    expect((await t2.run(show(shell))).out).toEqual(['P=- A=-']);
  });
});
