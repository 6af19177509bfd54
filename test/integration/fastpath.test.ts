/**
 * The native fast path (native/unotify/src/fast.c, issue 13 item 4): with a supervisor running,
 * `sbx exec`, `sbx shell --check`, `sbx shell` and `sbx hook SHELL` run without Node. Real
 * bin/sbx, supervisor, launcher, keeper and kernel. Which path ran is read from the client's
 * SBX_FAST_TRACE lines ("sbx-fast: fast exec …" / "sbx-fast: node: <why>"), never from timing.
 */
import { execa, execaSync } from 'execa';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, pidAlive, root as repoRoot, sbxBin, until, type Sandbox } from './supervisor-helpers.js';

const FAST_EXEC = /^sbx-fast: fast exec: session s[0-9a-f]{10}$/m;
const NODE_PATH = /^sbx-fast: node: /m;
/** stderr without the client's trace lines: what a user sees. */
const shown = (stderr: string) => stderr.replace(/^sbx-fast: .*\n/gm, '');

let sb: Sandbox;
/** Under /var/tmp: /tmp (where the sandbox's HOME is) stays readable under --deny-read. */
let world: string;
let secret: string;
let pub: string;

function exec(args: string[], env: Record<string, string> = {}) {
  const r = execaSync(sbxBin, ['exec', ...args], { cwd: sb.home, env: { ...sb.env, ...env }, extendEnv: false, stripFinalNewline: false, reject: false, timeout: 60_000 });
  return { code: r.exitCode ?? 128 + 9, stdout: r.stdout, stderr: r.stderr };
}

const ping = () => sb.sbx(['daemon', 'status']).code === 0;

beforeAll(() => {
  sb = makeSandbox('fast');
  sb.env.SBX_FAST_TRACE = '1';
  world = realpathSync(mkdtempSync(join(existsSync('/var/tmp') ? '/var/tmp' : sb.dir, 'sbx-fast-')));
  chmodSync(world, 0o755);
  secret = join(world, 'secret');
  pub = join(world, 'pub');
  writeFileSync(secret, 'TOP-SECRET\n');
  writeFileSync(pub, 'PUBLIC\n');
});

afterAll(() => {
  sb?.cleanup();
  if (world) rmSync(world, { recursive: true, force: true });
});

describe('sbx exec through the fast path', { timeout: 120_000 }, () => {
  it('no supervisor: the Node CLI runs it, sandboxed (denied twin and allowed twin)', () => {
    expect(ping()).toBe(false);
    const denied = exec(['--deny-read', `--allow-read=${pub}`, '--', 'cat', secret]);
    expect(denied.stderr).toMatch(/^sbx-fast: node: no supervisor answers$/m);
    expect(denied.code).toBe(1);
    expect(denied.stdout).not.toContain('TOP-SECRET');
    expect(denied.stderr).toContain(`sbx: denied read ${secret} (--deny-read)`);
    const allowed = exec(['--deny-read', `--allow-read=${pub}`, '--', 'cat', pub]);
    expect(allowed.stderr).toMatch(NODE_PATH);
    expect(allowed).toMatchObject({ code: 0, stdout: 'PUBLIC\n' });
  });

  it('with a supervisor: no Node on the client side, the policy applies (denied twin and allowed twin, denial line)', () => {
    expect(sb.sbx(['daemon', 'start']).code).toBe(0);
    const denied = exec(['--deny-read', `--allow-read=${pub}`, '--', 'cat', secret]);
    expect(denied.stderr).toMatch(FAST_EXEC);
    expect(denied.stderr).not.toMatch(NODE_PATH);
    expect(denied.code).toBe(1);
    expect(denied.stdout).not.toContain('TOP-SECRET');
    expect(denied.stderr).toContain(`sbx: denied read ${secret} (--deny-read)`);
    const allowed = exec(['--deny-read', `--allow-read=${pub}`, '--', 'cat', pub]);
    expect(allowed.stderr).toMatch(FAST_EXEC);
    expect(allowed).toMatchObject({ code: 0, stdout: 'PUBLIC\n' });
    expect(shown(allowed.stderr)).toBe('');
    // --quiet: denied, and silent about it, as in Node.
    const quiet = exec(['--quiet', '--deny-read', `--allow-read=${pub}`, '--', 'cat', secret]);
    expect(quiet.stderr).toMatch(FAST_EXEC);
    expect(quiet.code).toBe(1);
    expect(quiet.stderr).not.toContain('sbx: denied');
  });

  it('a long run of denial lines: the first 500 reach the terminal, then one notice (twin: the same run with nothing denied)', () => {
    // 800 distinct denials against the same loop allowed. The supervisor kept every line it had
    // sent, to send each once: a program making endless distinct denials grew it without end.
    if (!ping()) expect(sb.sbx(['daemon', 'start']).code).toBe(0);
    const many = join(world, 'many');
    mkdirSync(many, { recursive: true });
    for (let i = 1; i <= 800; i++) writeFileSync(join(many, `f${i}`), 'x\n');
    const loop = `i=0; while [ $i -lt 800 ]; do i=$((i+1)); cat ${many}/f$i >/dev/null 2>&1; done; echo done`;
    const run = (flags: string[]) => exec([...flags, '--', 'sh', '-c', loop]);
    const allowed = run([]);
    expect(allowed.stdout).toBe('done\n');
    expect(allowed.stderr).toMatch(FAST_EXEC);
    expect(allowed.stderr).not.toContain('sbx: denied');
    const denied = run(['--deny-read', `--allow-read=${pub}`]);
    expect(denied.stdout).toBe('done\n');
    expect(denied.stderr).toMatch(FAST_EXEC);
    expect(denied.stderr.match(/^sbx: denied read /gm)?.length).toBe(500);
    expect(denied.stderr).toContain(`sbx: denied read ${many}/f500 (--deny-read)`);
    expect(denied.stderr).not.toContain(`${many}/f501 `);
    expect(denied.stderr.match(/^sbx: more than 500 different denials; the rest are not shown here \(`sbx log --session s[0-9a-f]+` has them\)$/gm)?.length).toBe(1);
  });

  it('sbx linked to the native client itself (as README sets it up): exec takes the fast path, the rest goes to Node (denied and allowed twins)', () => {
    if (!ping()) expect(sb.sbx(['daemon', 'start']).code).toBe(0);
    const bin = join(world, 'linkbin');
    mkdirSync(bin, { recursive: true });
    const link = join(bin, 'sbx');
    if (!existsSync(link)) symlinkSync(join(repoRoot, 'native', 'unotify', 'build', 'Release', 'sbx-fast'), link);
    const run = (args: string[]) => execaSync(link, args, { cwd: sb.home, env: sb.env, extendEnv: false, reject: false, stripFinalNewline: false, timeout: 60_000 });
    const denied = run(['exec', '--deny-read', `--allow-read=${pub}`, '--', 'cat', secret]);
    expect(denied.stderr).toMatch(FAST_EXEC);
    expect(denied.exitCode).toBe(1);
    expect(denied.stdout).not.toContain('TOP-SECRET');
    expect(denied.stderr).toContain(`sbx: denied read ${secret} (--deny-read)`);
    const allowed = run(['exec', '--deny-read', `--allow-read=${pub}`, '--', 'cat', pub]);
    expect(allowed.stderr).toMatch(FAST_EXEC);
    expect(allowed.stdout).toBe('PUBLIC\n');
    const status = run(['daemon', 'status']);
    expect(status.stderr).toMatch(NODE_PATH);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toContain('supervisor running');
  });

  it('the command runs in a sandbox: a process table entry with a seccomp filter, the env filter applied', () => {
    const r = exec(['--deny-env', '--', 'sh', '-c', 'grep "^Seccomp_filters" /proc/self/status; echo "secret=${MY_TOKEN-unset} home=$HOME"'], { MY_TOKEN: 'tok' });
    expect(r.stderr).toMatch(FAST_EXEC);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Seccomp_filters:\s*[1-9]/m);
    expect(r.stdout).toContain(`secret=unset home=${sb.home}`);
    // Allowed twin: without --deny-env the variable is there.
    const kept = exec(['--', 'sh', '-c', 'echo "secret=${MY_TOKEN-unset}"'], { MY_TOKEN: 'tok' });
    expect(kept.stderr).toMatch(FAST_EXEC);
    expect(kept.stdout).toBe('secret=tok\n');
  });

  it('an exec session never follows cd: its command cannot push a hint to widen itself (twin: a shell session\'s root can)', () => {
    // The home directory's policy (the user default) reads everything; the exec's flags do not.
    // bash's builtin read opens the push itself: the caller is the session's root process.
    const push = `if read -r l < "/proc/self/sbx/cd/$PWD"; then echo "pushed $l"; else echo refused; fi 2>/dev/null; cat ${secret}`;
    const r = exec(['--deny-read', `--allow-read=${pub}`, '--', 'bash', '--norc', '-c', push]);
    expect(r.stderr).toMatch(FAST_EXEC);
    expect(r.stdout).toContain('refused');
    expect(r.stdout).not.toContain('TOP-SECRET');
    expect(r.code).toBe(1);
    // Twin: the root of a `sbx shell --follow-cd` session (the hook's shell) is its shell, whose push is answered.
    const sh = sb.sbx(['shell', '--follow-cd', '--', 'bash', '--norc', '-c', push]);
    expect(sh.stdout).toMatch(/^pushed sbx 1$/m);
  });

  it('the client waiting outside is protected like the Node exec: the command cannot signal it (twin: it can signal its own child)', () => {
    const r = exec(['--', 'sh', '-c', 'kill -KILL $PPID 2>/dev/null && echo killed-parent || echo parent-refused; sleep 30 & kill -KILL $! && echo killed-child']);
    expect(r.stderr).toMatch(FAST_EXEC);
    expect(r.stdout).toBe('parent-refused\nkilled-child\n');
    expect(r.code).toBe(0);
  });

  it('exit codes and messages are the Node CLI\'s: own code, 128+signal, 127 not found, 2 + usage for a bad flag', { timeout: 180_000 }, () => {
    const cases: string[][] = [
      ['--', 'sh', '-c', 'exit 7'],
      ['--', 'sh', '-c', 'kill -TERM $$'],
      ['--', 'no-such-command-xyz'],
      ['--bogus-flag', '--', 'true'],
      [],
      ['--policy', join(world, 'missing.yaml'), '--', 'true'],
    ];
    for (const args of cases) {
      const fast = exec(args);
      const viaNode = exec(args, { SBX_NO_FAST: '1' });
      expect(viaNode.stderr).toMatch(NODE_PATH);
      expect({ args, code: fast.code, stderr: shown(fast.stderr) }).toEqual({ args, code: viaNode.code, stderr: shown(viaNode.stderr) });
    }
    expect(exec(['--', 'sh', '-c', 'exit 7']).stderr).toMatch(FAST_EXEC);
    expect(exec(['--', 'sh', '-c', 'kill -TERM $$']).code).toBe(143);
    // What the fast path does not take goes to Node, which says it.
    const bad = exec(['--bogus-flag', '--', 'true']);
    expect(bad.stderr).toMatch(/^sbx-fast: node: unknown flag '--bogus-flag'$/m);
    expect(bad.code).toBe(2);
    expect(shown(bad.stderr)).toMatch(/^sbx: unknown flag '--bogus-flag'\n/);
  });

  it('the keeper started before the supervisor answers leaves quietly when the client falls back (twin: an accepted exec keeps its keeper until the command ends)', async () => {
    const keeperSock = join(sb.runtime, 'keeper.sock');
    const keepers = () =>
      readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .filter((d) => {
          try {
            return readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(keeperSock);
          } catch {
            return false;
          }
        });
    await until('no keeper left from earlier tests', () => keepers().length === 0, 10_000);
    const bad = exec(['--bogus-flag', '--', 'true']);
    expect(bad.stderr).toMatch(/^sbx-fast: node: unknown flag/m);
    expect(shown(bad.stderr)).not.toContain('keeper');
    await until('the unused keeper to leave', () => keepers().length === 0, 10_000);
    // Twin: an accepted exec has its keeper while the command runs.
    const running = execa(sbxBin, ['exec', '--', 'sleep', '5'], { cwd: sb.home, env: sb.env, extendEnv: false, reject: false });
    await until('the exec session and its keeper', () => sb.status().sessions.length === 1 && keepers().length === 1, 20_000);
    running.kill('SIGTERM');
    await running;
    await until('the exec session over', () => sb.status().sessions.length === 0 && keepers().length === 0, 20_000);
  });

  it('kill -9 of the supervisor: a running fast exec keeps its policy, the next exec falls back to Node, and the fast path takes over again after the restart', { timeout: 120_000 }, async () => {
    const go = join(world, 'go');
    // buffer: false: its output is read below as it comes; reject: false: its exit code is read.
    const running = execa(
      sbxBin,
      ['exec', '--deny-read', `--allow-read=${pub}`, `--allow-read=${world}/go`, '--', 'sh', '-c', `while [ ! -e ${go} ]; do sleep 0.05; done; cat ${pub}; cat ${secret}; echo done`],
      { cwd: sb.home, env: sb.env, extendEnv: false, stdin: 'ignore', buffer: false, reject: false },
    );
    let out = '';
    let err = '';
    running.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    running.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const finished = running.then((res) => res.exitCode ?? -1);
    await until('the running exec session', () => FAST_EXEC.test(err) && sb.status().sessions.length === 1);

    const old = sb.supervisorPid()!;
    process.kill(old, 'SIGKILL');
    await until('the old supervisor gone', () => !pidAlive(old));
    // The running exec's keeper starts a new supervisor and resumes its session; until it
    // answers, an exec goes through Node (sandboxed just the same) — also when it reached the
    // new supervisor's socket before that one could answer (a loaded machine).
    const meanwhile = exec(['--deny-read', `--allow-read=${pub}`, '--', 'cat', pub]);
    expect(meanwhile).toMatchObject({ code: 0, stdout: 'PUBLIC\n' });
    expect(meanwhile.stderr).toMatch(/^sbx-fast: (node: no supervisor answers|node: no reply from the supervisor|fast exec: session s[0-9a-f]{10})$/m);
    await until('a new supervisor', () => {
      const pid = sb.supervisorPid();
      return pid !== undefined && pid !== old && ping();
    }, 60_000);
    await until('the exec session resumed', () => readFileSync(join(sb.state, 'supervisor.log'), 'utf8').includes(' resumed: '), 30_000);

    const after = exec(['--deny-read', `--allow-read=${pub}`, '--', 'cat', secret]);
    expect(after.stderr).toMatch(FAST_EXEC);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain(`sbx: denied read ${secret} (--deny-read)`);
    const afterAllowed = exec(['--deny-read', `--allow-read=${pub}`, '--', 'cat', pub]);
    expect(afterAllowed.stderr).toMatch(FAST_EXEC);
    expect(afterAllowed).toMatchObject({ code: 0, stdout: 'PUBLIC\n' });

    // The command started before the crash still runs under its own flags (resumed from the keeper's state).
    writeFileSync(go, '');
    const code = await finished;
    expect(out).toContain('PUBLIC\n');
    expect(out).not.toContain('TOP-SECRET');
    expect(out).toContain('done\n');
    expect(code).toBe(0);
    rmSync(go);
  });
});

describe('sbx shell and the hook through the fast path', { timeout: 120_000 }, () => {
  it('shell --check and shell start a session without Node', () => {
    const check = sb.sbx(['shell', '--check']);
    expect(check.code).toBe(0);
    expect(check.stderr).toMatch(/^sbx-fast: fast shell --check$/m);
    const sh = sb.sbx(['shell', '--', 'sh', '-c', 'echo "session=$SBX_SESSION"; grep "^Seccomp_filters" /proc/self/status']);
    expect(sh.stderr).toMatch(/^sbx-fast: fast shell: session s[0-9a-f]{10}$/m);
    expect(sh.code).toBe(0);
    expect(sh.stdout).toMatch(/^session=s[0-9a-f]{10}$/m);
    expect(sh.stdout).toMatch(/^Seccomp_filters:\s*[1-9]/m);
  });

  it('fast and Node `sbx shell` give the program the same environment (the supervisor\'s finished one): plain, user proxy, hook re-exec, a launch variable the user set', () => {
    if (!ping()) expect(sb.sbx(['daemon', 'start']).code).toBe(0);
    // Variables that differ per run by nature (the session id, the proxy port) are normalized.
    const dump = ['--', 'sh', '-c', 'env | LC_ALL=C sort'];
    const norm = (out: string) =>
      out
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('_=') && !l.startsWith('SHLVL=') && !l.startsWith('PWD=') && !l.startsWith('OLDPWD='))
        .map((l) => l.replace(/^SBX_SESSION=s[0-9a-f]{10}$/, 'SBX_SESSION=S').replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:P'))
        .join('\n');
    const variants: Record<string, string>[] = [
      {},
      { HTTPS_PROXY: 'http://user-proxy.example:3128', NO_PROXY: 'intra.example' },
      { SBX_HOOK_REEXEC: '1', HTTPS_PROXY: 'http://user-proxy.example:3128' },
      { GIT_TEMPLATE_DIR: '/nonexistent/tmpl', SBX_SESSION: 'sstale000000' },
    ];
    for (const extra of variants) {
      // The hook re-executes its shell with --follow-cd (shells/sbx.bash): a hook shell is both.
      const args = extra.SBX_HOOK_REEXEC ? ['shell', '--follow-cd', ...dump] : ['shell', ...dump];
      const run = (env: Record<string, string>) =>
        execaSync(sbxBin, args, { cwd: sb.home, env: { ...sb.env, ...env }, extendEnv: false, stripFinalNewline: false, reject: false, timeout: 60_000 });
      const fast = run(extra);
      const viaNode = run({ ...extra, SBX_NO_FAST: '1' });
      expect(fast.stderr).toMatch(/^sbx-fast: fast shell: session/m);
      expect(viaNode.stderr).toMatch(/^sbx-fast: node: SBX_NO_FAST is set$/m);
      expect(fast.exitCode).toBe(0);
      // SBX_NO_FAST itself is the one difference the two runs were given.
      expect({ extra, env: norm(fast.stdout) }).toEqual({ extra, env: norm(viaNode.stdout).replace(/^SBX_NO_FAST=1\n/m, '') });
      expect(fast.stdout).toMatch(/^SBX_SESSION=s[0-9a-f]{10}$/m);
      expect(fast.stdout).not.toContain('sstale000000');
      // sbx's proxy (chained to the user's) for a program; the user's own for a hook re-exec (the hook decides).
      if (extra.HTTPS_PROXY) expect(fast.stdout).toMatch(extra.SBX_HOOK_REEXEC ? /^HTTPS_PROXY=http:\/\/user-proxy\.example:3128$/m : /^HTTPS_PROXY=http:\/\/127\.0\.0\.1:\d+$/m);
      if (extra.GIT_TEMPLATE_DIR) expect(fast.stdout).toContain(`GIT_TEMPLATE_DIR=${extra.GIT_TEMPLATE_DIR}`);
      else expect(fast.stdout).toMatch(/^GIT_TEMPLATE_DIR=.*share\/git-template$/m);
    }
  });

  it('hook text from the cache equals what Node renders, for bash, zsh and fish, after a line saying a session can start; a stale or foreign cache is not used', () => {
    if (!ping()) expect(sb.sbx(['daemon', 'start']).code).toBe(0);
    for (const shell of ['bash', 'zsh', 'fish']) {
      // Said for the shell that ran the printer: its parent, this test process here.
      const ready = shell === 'fish' ? `set -g __sbx_ready ${process.pid}\n` : `__sbx_ready=${process.pid}\n`;
      const cache = join(sb.state, 'hook-cache', shell);
      rmSync(cache, { force: true });
      const rendered = sb.sbx(['hook', shell]);
      expect(rendered.stderr).toMatch(/^sbx-fast: node: no cached hook text$/m);
      expect(rendered.code).toBe(0);
      expect(rendered.stdout).toContain('__sbx_');
      expect(rendered.stdout).not.toContain(ready); // Node's text: the hook runs `shell --check` itself
      // The native printer ran `shell --check`'s checks (supervisor, launcher, kernel) and says they passed.
      const cached = sb.sbx(['hook', shell]);
      expect(cached.stderr).toMatch(new RegExp(`^sbx-fast: fast hook ${shell}$`, 'm'));
      expect(cached.stderr).toMatch(/^sbx-fast: hook: a session can start$/m);
      expect(cached).toMatchObject({ code: 0, stdout: ready + rendered.stdout });

      // Another key (another sbx, template or version): Node renders again and rewrites it.
      const text = readFileSync(cache, 'utf8');
      writeFileSync(cache, text.replace(/^(# sbx-hook-cache \S+ )(\S+)/, '$1/elsewhere/bin/sbx'));
      const stale = sb.sbx(['hook', shell]);
      expect(stale.stderr).toMatch(/^sbx-fast: node: cached hook text is stale$/m);
      expect(stale.stdout).toBe(rendered.stdout);
      expect(readFileSync(cache, 'utf8')).toBe(text);
      // A cache others could write runs code in every new terminal: not used.
      chmodSync(cache, 0o666);
      const foreign = sb.sbx(['hook', shell]);
      expect(foreign.stderr).toMatch(/^sbx-fast: node: cached hook text not a private file$/m);
      expect(foreign.stdout).toBe(rendered.stdout);
      chmodSync(cache, 0o600);
    }
  });

  it('the hook says a session can start only when it can: not inside a session, not with the supervisor down (allowed twin: up, outside)', () => {
    if (!ping()) expect(sb.sbx(['daemon', 'start']).code).toBe(0);
    const hook = (env: Record<string, string> = {}) =>
      execaSync(sbxBin, ['hook', 'bash'], { cwd: sb.home, env: { ...sb.env, ...env }, extendEnv: false, stripFinalNewline: false, reject: false, timeout: 60_000 });
    hook(); // the first print renders the cached text (Node); the native printer answers from then on
    const up = hook();
    expect(up.stderr).toMatch(/^sbx-fast: fast hook bash$/m);
    expect(up.stdout.startsWith(`__sbx_ready=${process.pid}\n`)).toBe(true);
    // Text saved once and sourced by another shell later (a cache such as zsh's evalcache) names
    // another pid: that shell checks again. The twin, the line naming the shell's own pid, skips it.
    // The hook's native client is a wrapper here that logs each command line it runs.
    const calls = join(world, 'client-calls');
    const wrapper = join(world, 'client-wrapper');
    const fastLine = /^__sbx_fast=.*$/m;
    expect(up.stdout).toMatch(fastLine);
    writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> ${calls}\nexec ${JSON.stringify(fastLine.exec(up.stdout)![0].slice('__sbx_fast='.length).replace(/^'|'$/g, ''))} "$@"\n`, { mode: 0o755 });
    const saved = join(world, 'saved-hook.bash');
    const enter = (firstLine: string) => {
      rmSync(calls, { force: true });
      const body = up.stdout.slice(up.stdout.indexOf('\n') + 1).replace(fastLine, `__sbx_fast='${wrapper}'`);
      writeFileSync(saved, `${firstLine}\n${body}`);
      const r = execaSync('bash', ['-i', '-c', 'eval "$(cat "$1")"; echo "entered=${SBX_SESSION:+yes}"', 'bash', saved], { cwd: sb.home, env: sb.env, extendEnv: false, reject: false, timeout: 60_000 });
      return { stdout: r.stdout, calls: readFileSync(calls, 'utf8').trim().split('\n') };
    };
    const cached = enter(`__sbx_ready=${process.pid}`);
    expect(cached.stdout).toContain('entered=yes');
    const entering = expect.stringMatching(/^shell --follow-cd -- \S*bash -i -c /); // the re-exec into the session
    expect(cached.calls).toEqual(['shell --check', entering]);
    const own = enter('__sbx_ready=$$');
    expect(own.stdout).toContain('entered=yes');
    expect(own.calls).toEqual([entering]);
    const inside = hook({ SBX_SESSION: 'sfeedc0ffee' });
    expect(inside.stderr).toMatch(/^sbx-fast: fast hook bash$/m);
    expect(inside.stdout).not.toContain('__sbx_ready=');
    expect(sb.sbx(['daemon', 'stop']).code).toBe(0);
    const down = hook();
    expect(down.stderr).toMatch(/^sbx-fast: fast hook bash$/m);
    expect(down.stdout).not.toContain('__sbx_ready=');
    expect(down.stdout).toContain('shell --check'); // the hook then asks, and says why not
    expect(sb.sbx(['daemon', 'start']).code).toBe(0);
  });
});

describe('requests from inside a session', { timeout: 120_000 }, () => {
  const clientJs = (sock: string) => `
    const c = require('net').connect(${JSON.stringify(sock)});
    c.on('connect', () => c.write(JSON.stringify({ cmd: 'exec-start', v: 3, session: 'sfeedc0ffee', cwd: '/', args: ['--', 'cat', ${JSON.stringify(secret)}], env: ['PATH=/usr/bin:/bin'] }) + '\\n'));
    c.on('data', (d) => { process.stdout.write('reply ' + d); c.destroy(); });
    c.on('error', (e) => { process.stdout.write('error ' + e.code + '\\n'); });`;

  it('a sandboxed process cannot reach the control socket (allowed twin: the same client outside gets a session)', () => {
    const control = join(sb.runtime, 'control.sock');
    mkdirSync(join(world, 'js'), { recursive: true });
    const script = join(world, 'js', 'client.cjs');
    writeFileSync(script, clientJs(control));
    const outside = execaSync(process.execPath, [script], { env: sb.env, extendEnv: false, stripFinalNewline: false, reject: false, timeout: 30_000 });
    expect(outside.stdout).toMatch(/^reply \{"session":"sfeedc0ffee"/);
    // The id is the client's (its keeper is already on the way): one that is pending or live
    // is refused, never swapped for another.
    const again = execaSync(process.execPath, [script], { env: sb.env, extendEnv: false, stripFinalNewline: false, reject: false, timeout: 30_000 });
    expect(again.stdout).toMatch(/^reply \{"fallback":"malformed or live session id"\}/);

    const inside = sb.sbx(['shell', '--', 'sh', '-c', `env -u SBX_SESSION ${process.execPath} ${script}`]);
    expect(inside.stderr).toMatch(/^sbx-fast: fast shell: session/m);
    expect(inside.stdout).toMatch(/^error E(ACCES|PERM|CONNREFUSED)$/m);
    expect(inside.stdout).not.toContain('reply');
  });

  it('sbx exec inside a session never gets a wider sandbox: the client hands it to Node, which nests it narrower', () => {
    // The session may read the secret (its twin below); a nested --deny-read takes it away.
    const r = sb.sbx(['shell', '--', 'sh', '-c', `${sbxBin} exec --deny-read --allow-read=${pub} -- sh -c 'echo RAN; cat ${secret}; cat ${pub}'; echo "code=$?"; cat ${secret}`]);
    expect(r.stderr).toMatch(/^sbx-fast: node: inside a session or a seccomp filter$/m);
    expect(r.stdout).toContain('RAN');
    expect(r.stdout).toContain('PUBLIC');
    expect(r.stdout.split('\n').filter((l) => l === 'TOP-SECRET')).toHaveLength(1); // the session's own cat only
    // Allowed twin: the same command line outside a session runs through the fast path.
    const outside = exec(['--', 'sh', '-c', 'echo RAN']);
    expect(outside.stderr).toMatch(FAST_EXEC);
    expect(outside.stdout).toBe('RAN\n');
  });
});

