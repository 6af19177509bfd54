/**
 * The shell side of the hook in real bash, zsh and fish under tmux, typed as a person would:
 * pushes, notices, prompt segment, env hidden and restored, $?, double sourcing, direnv's
 * `use sandbox`, the macOS FIFO, and what happens outside a session. Replies come from canned
 * files (fake-replies.ts) so these run without a supervisor; test/e2e/session.test.ts runs the
 * same flows against the real sandbox.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { execa, execaSync } from 'execa';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderHook } from '../../src/hook/template.js';
import { fakeReply } from './fake-replies.js';
import { makeHome, sbxBin, startShell, type Sandbox, type Shell, type Tmux } from './tmux.js';

// Real shells and supervisors on a loaded 2-core box: generous limits (no timing is asserted).
vi.setConfig({ testTimeout: 60_000 });

const SHELLS: Shell[] = ['bash', 'zsh', 'fish'];

function hookLine(shell: Shell, fake: string | undefined, bin = sbxBin): string {
  const src = shell === 'fish' ? `${bin} hook fish | source` : `eval "$(${bin} hook ${shell})"`;
  if (fake === undefined) return src;
  return shell === 'fish' ? `set -g __sbx_proc ${fake}; ${src}; set -g __sbx_proc ${fake}` : `__sbx_proc=${fake}; ${src}; __sbx_proc=${fake}`;
}

/** `echo` of several variables, "-" when unset, in each shell's syntax. */
function show(shell: Shell, names: string[]): string {
  if (shell === 'fish') return `echo ${names.map((n) => `${n}=(set -q ${n}; and echo $${n}; or echo -)`).join(' ')}`;
  return `echo ${names.map((n) => `${n}=\${${n}-"-"}`).join(' ')}`;
}

const statusVar = (shell: Shell) => (shell === 'fish' ? '$status' : '$?');

interface World {
  sb: Sandbox;
  w: string;
  fake: string;
  projA: string;
  projB: string;
  out: string;
}

function makeWorld(): World {
  const sb = makeHome();
  const w = join(sb.root, 'w');
  const fake = join(sb.root, 'fake');
  const projA = join(w, 'projA');
  const projB = join(w, 'projB');
  const out = join(w, 'out');
  for (const d of [projA, projB, out]) mkdirSync(d, { recursive: true });
  fakeReply(fake, `cd${projA}`, {
    policy: `${projA}/.sbx.yaml (trusted)`,
    prompt: 'sbx:projA',
    notices: ['policy: projA'],
    envDeny: ['AWS_*', '*_TOKEN'],
    envAllow: ['AWS_REGION'],
  });
  // Already prefixed, as the supervisor writes its notices: printed once, not "sbx: sbx: …".
  fakeReply(fake, `cd${projB}`, { prompt: 'sbx:projB', notices: ['sbx: policy: projB'], envDeny: ['GH_TOKEN'] });
  fakeReply(fake, `cd${out}`, { prompt: 'sbx:default', notices: ['policy: default'] });
  // What the sandbox answers a session's shell that asks whether it is one.
  mkdirSync(join(fake, 'ask'), { recursive: true });
  writeFileSync(join(fake, 'ask', 'ping'), '{"session":"test"}\n');
  return { sb, w, fake, projA, projB, out };
}

const ODD = `a b'c$d"e\\f`;
const ENV = { AWS_SECRET: 'sekret', AWS_REGION: 'eu-1', GH_TOKEN: 'ghp', ODD_TOKEN: ODD, ODD_COPY: ODD, PLAIN: 'p' };

let shells: Tmux[] = [];
afterEach(() => {
  for (const t of shells) t.kill();
  shells = [];
});

async function start(shell: Shell, world: World, cwd: string, rcExtra: string, env: Record<string, string> = {}) {
  const t = await startShell(shell, world.sb, cwd, rcExtra, env);
  shells.push(t);
  return t;
}

const notices = (lines: string[]) => lines.filter((l) => /^sbx: /.test(l));

beforeAll(() => {
  execaSync(sbxBin, ['hook', 'bash'], { stdout: 'ignore' }); // dist/ is built (else: the command and its stderr)
});

describe.each(SHELLS)('%s hook with canned replies', (shell) => {
  it('cd into A, to B, out: one push each, notices, prompt segment, env hidden and restored exactly', async () => {
    const world = makeWorld();
    // SBX_SESSION set: the hook acts as inside a session (no re-exec); replies come from the fake.
    const t = await start(shell, world, world.out, hookLine(shell, world.fake), { ...ENV, SBX_SESSION: 'test' });
    const vars = ['AWS_SECRET', 'AWS_REGION', 'GH_TOKEN', 'PLAIN'];

    let r = await t.run(`cd ${world.projA}`);
    expect(notices(r.out)).toEqual(['sbx: policy: projA']);
    r = await t.run(show(shell, vars));
    expect(r.out).toContain('AWS_SECRET=- AWS_REGION=eu-1 GH_TOKEN=- PLAIN=p');
    // Children see the filtered environment too (env is a real process).
    r = await t.run('env | grep -c -e AWS_SECRET -e _TOKEN=');
    expect(r.out).toEqual(['0']);
    await t.prompt();
    r = await t.run('sbx_prompt_info; echo');
    expect(r.out).toEqual(['sbx:projA']);

    r = await t.run(`cd ${world.projB}`);
    expect(notices(r.out)).toEqual(['sbx: policy: projB']);
    r = await t.run(show(shell, vars));
    expect(r.out).toContain('AWS_SECRET=sekret AWS_REGION=eu-1 GH_TOKEN=- PLAIN=p');

    r = await t.run(`cd ${world.out}`);
    expect(notices(r.out)).toEqual(['sbx: policy: default']);
    r = await t.run(show(shell, vars));
    expect(r.out).toContain('AWS_SECRET=sekret AWS_REGION=eu-1 GH_TOKEN=ghp PLAIN=p');
    // The odd value (quotes, $, backslash, spaces) came back byte for byte.
    r = await t.run(`test "$ODD_TOKEN" = "$ODD_COPY"`);
    expect(r.status).toBe(0);
    const prompt = await t.prompt();
    expect(prompt).toContain('[sbx:default]');
  });

  it('`cd A && cmd` already runs cmd under the new push; unchanged prompts push nothing', async () => {
    const world = makeWorld();
    const t = await start(shell, world, world.out, hookLine(shell, world.fake), { ...ENV, SBX_SESSION: 'test' });
    const and = shell === 'fish' ? '; and' : ' &&';
    let r = await t.run(`cd ${world.projA}${and} ${show(shell, ['GH_TOKEN'])}`);
    expect(r.out).toEqual(['sbx: policy: projA', 'GH_TOKEN=-']);
    for (let i = 0; i < 3; i++) {
      r = await t.run('true');
      expect(notices(r.out)).toEqual([]);
    }
    // Only the screen since the cd: no notice was printed by the three prompts.
    r = await t.run('cd .');
    expect(notices(r.out)).toEqual([]);
  });

  it('keeps $? across the prompt and cd; sourcing twice adds no second hook and no second push', async () => {
    const world = makeWorld();
    const twice = `${hookLine(shell, world.fake)}\n${hookLine(shell, world.fake)}`;
    const t = await start(shell, world, world.projA, twice, { ...ENV, SBX_SESSION: 'test' });
    t.type('false');
    await t.prompt();
    let r = await t.run(`echo was=${statusVar(shell)}`);
    expect(r.out).toEqual(['was=1']);
    r = await t.run('cd /nonexistent-sbx-dir');
    expect(r.status).not.toBe(0);

    // Source once more at the prompt (as a user re-running their rc), then move.
    t.type(`${hookLine(shell, world.fake)}; false`);
    await t.prompt();
    r = await t.run(`echo was=${statusVar(shell)}`);
    expect(r.out).toEqual(['was=1']);
    r = await t.run(`cd ${world.projB}`);
    expect(notices(r.out)).toEqual(['sbx: policy: projB']);
    await t.prompt();
    r = await t.run('true');
    expect(notices(r.out)).toEqual([]);

    const count =
      shell === 'bash'
        ? `printf '%s\\n' "\${PROMPT_COMMAND[@]}" | grep -c __sbx_hook`
        : shell === 'zsh'
          ? 'print -l $precmd_functions $chpwd_functions | grep -c __sbx_hook'
          : 'functions --handlers | grep -c __sbx_hook';
    r = await t.run(count);
    expect(r.out).toEqual([shell === 'bash' ? '1' : shell === 'zsh' ? '2' : '3']);
  });

  it('outside a session a push fails harmlessly; inside, a refused push is reported once', async () => {
    const world = makeWorld();
    // SBX_DISABLE: no session on purpose; pushes hit the real /proc/self/sbx, which does not exist.
    const t = await start(shell, world, world.out, hookLine(shell, undefined), { SBX_DISABLE: '1' });
    let r = await t.run(`cd ${world.projA}`);
    expect(r).toEqual({ out: [], status: 0 });
    expect(await t.prompt()).toContain('[sbx:off]');
    // Never quietly: the terminal said so when it started.
    expect(t.capture().filter((l) => l === "sbx: NOT sandboxed: SBX_DISABLE is set in this terminal's environment")).toHaveLength(1);

    // Claiming a session that the kernel does not know (what a sandboxed program could put in
    // an editor's terminal settings): the hook asks the sandbox, gets no answer, and enters a
    // real session instead of trusting the variable.
    const t2 = await start(shell, world, world.out, hookLine(shell, undefined), { SBX_SESSION: 'bogus' });
    const inside = await t2.run(shell === 'fish' ? 'echo S=$SBX_SESSION; grep ^Seccomp: /proc/self/status' : 'echo S=$SBX_SESSION; grep ^Seccomp: /proc/self/status');
    expect(inside.out[0]).toMatch(/^S=s[0-9a-f]+$/);
    expect(inside.out[1]).toMatch(/^Seccomp:\s+2$/);
    expect(t2.capture().filter((l) => l.startsWith('sbx: the sandbox refused'))).toEqual([]);
  });

  it('when a session cannot start: one loud NOT sandboxed line, shown in the prompt, terminal kept', async () => {
    const world = makeWorld();
    // A stand-in sbx whose `shell --check` fails the way the real one does on a kernel without user-notify.
    const fakeBin = join(world.sb.root, 'fake-sbx');
    writeFileSync(
      fakeBin,
      `#!/bin/sh\nif [ "$1 $2" = "shell --check" ]; then echo "sbx: seccomp user-notify is not available" >&2; echo "hint: upgrade" >&2; exit 70; fi\nexec ${sbxBin} "$@"\n`,
    );
    chmodSync(fakeBin, 0o755);
    const hookFile = join(world.sb.root, `hook.${shell}`);
    writeFileSync(hookFile, renderHook(shell, fakeBin));
    const t = await start(shell, world, world.out, `source ${hookFile}`);
    const screen = t.capture().join('\n');
    // One line: the cause and, from the `hint:` line, the fix.
    expect(screen.match(/sbx: NOT sandboxed: seccomp user-notify is not available; fix: upgrade$/gm)).toHaveLength(1);
    expect(screen).not.toContain('hint: upgrade');
    const r = await t.run('echo still-here');
    expect(r.out).toEqual(['still-here']);
    expect(await t.prompt()).toContain('[sbx:NOT-SANDBOXED]');
  });

  it('with SBX_MACOS_CTL, a cd writes `cd DIR` into the FIFO of the macOS parent', async () => {
    const world = makeWorld();
    const fifo = join(world.sb.root, 'ctl');
    execaSync('mkfifo', [fifo]);
    const log = join(world.sb.root, 'ctl.log');
    // The parent's reader: keeps the FIFO open and appends every line to a log.
    const reader = execa('sh', ['-c', `exec 3<>"${fifo}"; exec cat <&3 >"${log}"`], { stdio: 'ignore', reject: false }); // killed below
    try {
      // The hook honours SBX_MACOS_CTL on macOS only (from the environment it would skip the
      // sandbox on Linux): the rc file says this is macOS, as the system would.
      const macos = shell === 'fish' ? 'set -g __sbx_os darwin' : '__sbx_os=darwin';
      const t = await start(shell, world, world.out, `${macos}\n${hookLine(shell, undefined)}`, { SBX_MACOS_CTL: fifo });
      await t.run(`cd ${world.projA}`);
      await t.run(`cd ${world.projB}`);
      const deadline = Date.now() + 5000;
      let text = '';
      while (Date.now() < deadline && !(text = readFileSync(log, 'utf8')).includes(`cd ${world.projB}\n`)) {
        await new Promise((res) => setTimeout(res, 20));
      }
      expect(text.split('\n').filter(Boolean)).toEqual([`cd ${world.out}`, `cd ${world.projA}`, `cd ${world.projB}`]);
    } finally {
      reader.kill();
    }
  });
});

describe.each(SHELLS.flatMap((s) => [[s, 'before'], [s, 'after']] as [Shell, 'before' | 'after'][]))(
  '%s with real direnv hooked %s sbx',
  (shell, order) => {
    it('`use sandbox` in .envrc pushes use/FILE when direnv loads and leave when it unloads', async () => {
      const world = makeWorld();
      const dproj = join(world.w, 'dproj');
      const policy = join(dproj, 'policy.yaml');
      mkdirSync(dproj);
      writeFileSync(policy, 'version: 1\n');
      writeFileSync(join(dproj, '.envrc'), 'use sandbox policy.yaml\nexport DPROJ_VAR=from-envrc\n');
      // Both documented installs: lib/ for bash, direnvrc sourcing for zsh and fish.
      const direnvConf = join(world.sb.env.XDG_CONFIG_HOME!, 'direnv');
      mkdirSync(join(direnvConf, 'lib'), { recursive: true });
      if (shell === 'bash') writeFileSync(join(direnvConf, 'lib', 'sbx.sh'), execaSync(sbxBin, ['hook', 'direnv'], { stripFinalNewline: false }).stdout);
      else writeFileSync(join(direnvConf, 'direnvrc'), `source ${execaSync(sbxBin, ['hook', 'direnv', '--path']).stdout.trim()}\n`);
      execaSync('direnv', ['allow', dproj], { env: world.sb.env, extendEnv: false, stdin: 'ignore', stdout: 'ignore' });
      fakeReply(world.fake, `cd${dproj}`, { prompt: 'sbx:discovered', notices: ['policy: discovered'] });
      fakeReply(world.fake, `use${policy}`, { prompt: 'sbx:dproj', notices: ['policy: use dproj'], envDeny: ['GH_TOKEN'] });
      fakeReply(world.fake, 'leave', { prompt: 'sbx:left', notices: ['policy: left'] });

      const direnvHook = shell === 'fish' ? 'direnv hook fish | source' : `eval "$(direnv hook ${shell})"`;
      const sbxHook = hookLine(shell, world.fake);
      const rc = order === 'before' ? `${direnvHook}\n${sbxHook}` : `${sbxHook}\n${direnvHook}`;
      const t = await start(shell, world, world.out, rc, { ...ENV, SBX_SESSION: 'test' });

      t.type(`cd ${dproj}`);
      await t.waitFor(/^sbx: policy: use dproj$/);
      await t.prompt();
      let r = await t.run(show(shell, ['SBX_PROMPT', 'DPROJ_VAR', 'GH_TOKEN']));
      expect(r.out).toEqual(['SBX_PROMPT=sbx:dproj DPROJ_VAR=from-envrc GH_TOKEN=-']);

      // A subdirectory keeps the use file (still pushed as use, never as a bare cd).
      mkdirSync(join(dproj, 'sub'));
      r = await t.run(`cd sub`);
      await t.prompt();
      r = await t.run(show(shell, ['SBX_PROMPT']));
      expect(r.out).toEqual(['SBX_PROMPT=sbx:dproj']);

      t.type(`cd ${world.out}`);
      await t.waitFor(/^sbx: policy: left$/);
      await t.prompt();
      r = await t.run(show(shell, ['SBX_PROMPT', 'DPROJ_VAR', 'GH_TOKEN', 'SBX_DIRENV_USE']));
      expect(r.out).toEqual(['SBX_PROMPT=sbx:left DPROJ_VAR=- GH_TOKEN=ghp SBX_DIRENV_USE=-']);
      // One leave, no extra cd push after it.
      const screen = t.capture();
      if (process.env.SBX_E2E_DEBUG) console.log(screen.join('\n'));
      expect(screen.filter((l) => l === 'sbx: policy: left')).toHaveLength(1);
      expect(screen.filter((l) => l === 'sbx: policy: default')).toHaveLength(1); // the first prompt only
    });
  },
);

/** Stand-ins registering themselves the way starship (status recorder) and zoxide (chpwd/prompt) do. */
function promptTools(shell: Shell, form: 'array' | 'string', hook: string): string {
  if (shell === 'bash') {
    const defs = [
      'rec_before() { local s=$?; REC_B=$s; return $s; }',
      'rec_after() { local s=$?; REC_A=$s; return $s; }',
      '__zoxide_like() { local s=$?; Z_RUNS=$((Z_RUNS+1)); return $s; }',
    ].join('\n');
    if (form === 'array') {
      return `${defs}\nPROMPT_COMMAND=(rec_before)\n${hook}\nPROMPT_COMMAND=(__zoxide_like "\${PROMPT_COMMAND[@]}")\nPROMPT_COMMAND+=(rec_after)`;
    }
    return `${defs}\nPROMPT_COMMAND='rec_before'\n${hook}\nPROMPT_COMMAND="__zoxide_like;\${PROMPT_COMMAND#;}"\nPROMPT_COMMAND="$PROMPT_COMMAND;rec_after"`;
  }
  if (shell === 'zsh') {
    return [
      'rec_before() { REC_B=$? }',
      'rec_after() { REC_A=$? }',
      '__zoxide_like() { (( Z_RUNS++ )) }',
      'precmd_functions=(rec_before)',
      hook,
      'precmd_functions+=(rec_after)',
      'chpwd_functions=(__zoxide_like $chpwd_functions)',
    ].join('\n');
  }
  return [
    'function rec_before --on-event fish_prompt; set -g REC_B $status; end',
    hook,
    'function rec_after --on-event fish_prompt; set -g REC_A $status; end',
    'function __zoxide_like --on-variable PWD; set -g Z_RUNS (math $Z_RUNS + 1); end',
    'set -g Z_RUNS 0',
  ].join('\n');
}

describe.each([
  ['bash', 'array', 'PROMPT_COMMAND array'],
  ['bash', 'string', 'PROMPT_COMMAND string'],
  ['zsh', 'array', 'precmd/chpwd arrays'],
  ['fish', 'array', 'fish_prompt and PWD events'],
] as [Shell, 'array' | 'string', string][])(
  '%s with starship/zoxide-style hooks before and after sbx (%s, %s)',
  (shell, form) => {
    it('every hook still runs, each sees the real $?, and a cd pushes once', async () => {
      const world = makeWorld();
      const t = await start(shell, world, world.out, promptTools(shell, form, hookLine(shell, world.fake)), { ...ENV, SBX_SESSION: 'test' });
      t.type('false');
      await t.prompt();
      let r = await t.run('echo "rec=$REC_B,$REC_A"');
      expect(r.out).toEqual(['rec=1,1']);
      t.type('true');
      await t.prompt();
      r = await t.run('echo "rec=$REC_B,$REC_A"');
      expect(r.out).toEqual(['rec=0,0']);
      r = await t.run(`cd ${world.projA}`);
      expect(notices(r.out)).toEqual(['sbx: policy: projA']);
      await t.prompt();
      r = await t.run('echo "z=$Z_RUNS"');
      expect(Number(r.out[0]!.slice(2))).toBeGreaterThan(0);
      expect(await t.prompt()).toContain('[sbx:projA]');
    });
  },
);
