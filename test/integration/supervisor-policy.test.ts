/**
 * Dynamic policy in a live session: hints checked against the real cwd, a background job
 * keeping the policy it started under, live reload of a valid edit, a broken edit keeping
 * the last good policy (reported with file:line to the terminal and the log), audit mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, makeSandbox, PUSH_FN, sbxBin, until, type Sandbox } from './supervisor-helpers.js';
import { fixture, unixServer } from './net-helpers.js';

let sb: Sandbox;
beforeAll(() => {
  sb = makeSandbox('policy');
});
afterAll(() => sb.cleanup());

describe('session policy follows the shell', () => {
  it('cd hint applies the project policy (secret denied, public allowed); leaving lifts it; a lying hint is refused and logged', () => {
    const a = makeProject(join(sb.home, 'a'));
    const script = `${PUSH_FN}
      cat a/secret.txt
      cd a && push "cd$PWD"
      cat secret.txt; cat public.txt
      push "cd${sb.home}"
      cd .. && push "cd$PWD"
      cat a/secret.txt`;
    const r = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', script]);
    const lines = r.stdout.split('\n');
    // Before the push: the built-in policy lets the file be read.
    expect(lines[0]).toBe('SECRET');
    expect(r.stdout).toContain(`reply: policy project ${join(a, '.sbx.yaml')}`);
    expect(r.stdout).toContain('reply: prompt sbx:a?');
    expect(r.stderr).toContain('secret.txt: Permission denied');
    expect(r.stdout).toContain('PUBLIC');
    // The lying push (home while the shell is in a/) is refused: EACCES, nothing applied.
    expect(r.stderr).toMatch(new RegExp(`/proc/self/sbx/cd${sb.home}: Permission denied`));
    // After leaving, the secret is readable again.
    expect(lines[lines.length - 2]).toBe('SECRET');
    const log = sb.log();
    expect(log.some((v) => v.kind === 'refused' && v.op === 'hint' && v.target === `cd ${sb.home}` && v.rule.includes("not the caller's cwd"))).toBe(true);
    expect(log.some((v) => v.kind === 'refused' && v.target === `cd ${a}`)).toBe(false);
  });

  it('a command started with `sbx shell -- CMD` keeps its policy: its own push is refused, on both start paths (twin: with --follow-cd, as the hook starts the shell, it moves)', () => {
    // A narrowing project: CMD starts there and would leave it for the home's broad default.
    const n = makeProject(join(sb.home, 'narrow'));
    const script = `cd ${sb.home} && read -r l <"/proc/self/sbx/cd$PWD" 2>/dev/null && echo pushed || echo push-refused
      cat ${n}/secret.txt 2>/dev/null || echo secret-denied`;
    for (const env of [{}, { SBX_NO_FAST: '1' }]) {
      const cmd = sb.sbx(['shell', '--', 'sh', '-c', script], { cwd: n, env });
      expect(cmd.stdout, JSON.stringify(env)).toBe('push-refused\nsecret-denied\n');
      const shell = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', script], { cwd: n, env });
      expect(shell.stdout, JSON.stringify(env)).toBe('pushed\nSECRET\n');
    }
    expect(sb.log().some((v) => v.kind === 'refused' && v.op === 'hint' && v.target === `cd ${sb.home}` && v.rule.includes("only the session's shell"))).toBe(true);
  });

  it("a `sbx shell` program gets the caller's environment without what its policy's env.deny hides, on both start paths (twins: an allowed and an unmatched variable pass; the hook's shell gets all, it hides them itself)", () => {
    const p = makeProject(join(sb.home, 'envrules'), 'version: 1\nenv:\n  deny: ["SBXT_SECRET_*", "*_SBXTOKEN"]\n  allow: ["SBXT_SECRET_OK"]\n');
    const vars = { SBXT_SECRET_A: 'a1', SBXT_SECRET_OK: 'ok1', GH_SBXTOKEN: 't1', SBXT_PLAIN: 'p1' };
    const show = 'env | grep "^SBXT_\\|_SBXTOKEN=" | sort | tr "\\n" " "';
    for (const path of [{}, { SBX_NO_FAST: '1' }]) {
      const env = { ...vars, ...path };
      const cmd = sb.sbx(['shell', '--', 'sh', '-c', show], { cwd: p, env });
      expect(cmd.stdout, JSON.stringify(path)).toBe('SBXT_PLAIN=p1 SBXT_SECRET_OK=ok1 ');
      // $SHELL with no PROGRAM: the same, whether or not its rc files load the hook.
      const shell = sb.sbx(['shell'], { cwd: p, env: { ...env, SHELL: '/bin/sh' }, input: `${show}\n` });
      expect(shell.stdout, JSON.stringify(path)).toBe('SBXT_PLAIN=p1 SBXT_SECRET_OK=ok1 ');
      // The hook's re-executed shell: everything arrives; its hook hides at the first prompt.
      const hooked = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', show], { cwd: p, env: { ...env, SBX_HOOK_REEXEC: '1' } });
      expect(hooked.stdout, JSON.stringify(path)).toBe('GH_SBXTOKEN=t1 SBXT_PLAIN=p1 SBXT_SECRET_A=a1 SBXT_SECRET_OK=ok1 ');
    }
    // Outside the project nothing is hidden.
    expect(sb.sbx(['shell', '--', 'sh', '-c', show], { cwd: sb.home, env: vars }).stdout).toBe('GH_SBXTOKEN=t1 SBXT_PLAIN=p1 SBXT_SECRET_A=a1 SBXT_SECRET_OK=ok1 ');
  });

  it('a background job started in A keeps A\'s policy after the shell moves out; the shell itself is lifted', () => {
    const a = makeProject(join(sb.home, 'bg'));
    const script = `${PUSH_FN}
      cd ${a} && push "cd$PWD" >/dev/null
      ( sleep 1.5; cat ${a}/secret.txt >/dev/null 2>&1 && echo bg-read || echo bg-denied ) &
      cd .. && push "cd$PWD" >/dev/null
      cat ${a}/secret.txt >/dev/null 2>&1 && echo shell-read || echo shell-denied
      wait`;
    const r = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', script]);
    expect(r.stdout).toContain('shell-read');
    expect(r.stdout).toContain('bg-denied');
  });

  it('use/leave: direnv names a policy file above the cwd; one elsewhere is refused; leave applies once the shell is out of the directory', () => {
    const p = join(sb.home, 'usep');
    makeProject(p);
    writeFileSync(join(p, 'sandbox.yaml'), 'version: 1\nread:\n  deny: ["public.txt"]\n');
    const other = makeProject(join(sb.home, 'other'));
    const script = `${PUSH_FN}
      cd ${p}
      push "use${other}/.sbx.yaml"
      push "use${p}/sandbox.yaml" >/dev/null
      cat public.txt >/dev/null 2>&1 && echo use-public-read || echo use-public-denied
      push leave >/dev/null
      cat public.txt >/dev/null 2>&1 && echo stay-public-read || echo stay-public-denied
      cd ${sb.home} && push leave >/dev/null && cd ${p}
      cat public.txt >/dev/null 2>&1 && echo leave-public-read || echo leave-public-denied`;
    const r = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', script]);
    expect(r.stderr).toContain(`/proc/self/sbx/use${other}/.sbx.yaml: Permission denied`);
    expect(r.stdout).toContain('use-public-denied');
    // Pushed while the shell is still there, a leave is refused (supervisor-trust.test.ts:
    // "holds while the shell stays in its directory"); pushed from outside it, it applies.
    expect(r.stdout).toContain('stay-public-denied');
    expect(r.stdout).toContain('leave-public-read');
  });

  it('live reload: a valid edit applies to the running session; a broken one keeps the last good and is reported with file:line on the terminal and in the log', { timeout: 90_000 }, async () => {
    const p = makeProject(join(sb.home, 'live'), 'version: 1\nread:\n  deny: ["nothing-here"]\n');
    // A session in p that keeps probing secret.txt and public.txt until told to stop, under a pty
    // (script(1)) so the supervisor has a terminal to report to.
    const probe = `${PUSH_FN}
      push "cd$PWD" >/dev/null
      while [ ! -e ${sb.dir}/stop ]; do
        if cat secret.txt >/dev/null 2>&1; then s=read; else s=denied; fi
        if cat public.txt >/dev/null 2>&1; then q=read; else q=denied; fi
        echo "$s $q" > ${sb.dir}/probe.tmp; mv ${sb.dir}/probe.tmp ${sb.dir}/probe
        sleep 0.05
      done`;
    writeFileSync(join(sb.dir, 'probe.sh'), probe);
    const cmd = `${sbxBin} shell -- sh ${join(sb.dir, 'probe.sh')}`;
    // buffer: false: the screen is read below as it comes; reject: false: only the screen matters.
    const child = execa('script', ['-qfec', cmd, join(sb.dir, 'typescript')], { cwd: p, env: sb.env, extendEnv: false, buffer: false, reject: false });
    let screen = '';
    child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
    const probeState = () => {
      try {
        return readFileSync(join(sb.dir, 'probe'), 'utf8').trim();
      } catch {
        return '';
      }
    };
    await until('first probe', () => probeState() === 'read read', 30_000);

    // Valid edit: secret.txt is now denied in the running session (public stays readable).
    writeFileSync(join(p, '.sbx.yaml'), 'version: 1\nread:\n  deny: ["secret.txt"]\n');
    await until('reloaded policy in force', () => probeState() === 'denied read', 30_000);

    // Broken edit: reported with file:line; the last good policy (secret denied) stays.
    writeFileSync(join(p, '.sbx.yaml'), 'version: 1\nread:\n  deny: [secret.txt\n');
    await until('broken file reported on the terminal', () => screen.includes(`${join(p, '.sbx.yaml')}:`) && /last good policy kept/.test(screen), 30_000);
    expect(screen).toMatch(new RegExp(`${join(p, '.sbx.yaml').replace(/[.]/g, '\\.')}:\\d+:\\d+`));
    await new Promise((r) => setTimeout(r, 500));
    expect(probeState()).toBe('denied read');
    const log = sb.log();
    expect(log.some((v) => v.op === 'policy' && v.rule.includes('broken policy file') && v.rule.includes('.sbx.yaml:'))).toBe(true);

    writeFileSync(join(sb.dir, 'stop'), '');
    await child;
  });

  it('mode audit: what would be denied is allowed and logged as audit; the enforce twin denies', async () => {
    const audit = makeProject(join(sb.home, 'audit'), 'version: 1\nmode: audit\nread:\n  deny: ["secret.txt"]\n');
    // An untrusted project cannot switch enforcement off: trust it (outside the sandbox).
    expect(sb.sbx(['trust'], { cwd: audit }).code).toBe(0);
    const r = sb.sbx(['shell', '--', 'sh', '-c', 'cat secret.txt'], { cwd: audit });
    expect(r.stdout).toBe('SECRET\n');
    expect(r.code).toBe(0);
    expect(sb.log().some((v) => v.kind === 'audit' && v.target === join(audit, 'secret.txt'))).toBe(true);
    // Nor is a server outside the session (a confused deputy: tmux, ssh-agent, D-Bus, any
    // socket the policy does not name): refused in audit mode too; the twin the policy names connects.
    const deputy = await unixServer(join(sb.dir, 'deputy.sock'), 'hello from outside');
    const named = await unixServer(join(sb.dir, 'named.sock'), 'hello from named');
    try {
      writeFileSync(join(audit, '.sbx.yaml'), `version: 1\nmode: audit\nread:\n  deny: ["secret.txt"]\nnet: { unix: { allow: ["${join(sb.dir, 'named.sock')}"] } }\n`);
      expect(sb.sbx(['trust'], { cwd: audit }).code).toBe(0);
      // Spawned (not the synchronous sbx()): the servers answer from this process's event loop.
      const u = await sb.spawnSbx(['shell', '--', 'sh', '-c', `${fixture('net_client')} unix ${join(sb.dir, 'deputy.sock')}; ${fixture('net_client')} unix ${join(sb.dir, 'named.sock')}`], { cwd: audit }).done;
      expect(u.stdout).toMatch(/^error connect.*\nok hello from named\n$/);
      expect(deputy.count()).toBe(0);
    } finally {
      await deputy.close();
      await named.close();
    }
    // Floors are not audited: a secret, an rc file, a policy file stay denied in audit mode;
    // nor is what sbx itself denies below them (home configuration: ~/.tmux.conf).
    mkdirSync(join(sb.home, '.ssh'), { recursive: true });
    writeFileSync(join(sb.home, '.ssh', 'id_rsa'), 'KEY\n');
    writeFileSync(join(sb.home, '.bashrc'), '# rc\n');
    mkdirSync(join(audit, 'inner'), { recursive: true });
    writeFileSync(join(audit, 'inner', '.sbx.yaml'), 'version: 1\nnet: { allow: [] }\n');
    mkdirSync(join(audit, 'plain'), { recursive: true });
    const floors = sb.sbx(['shell', '--', 'sh', '-c', `cat ${join(sb.home, '.ssh', 'id_rsa')} || echo key-denied; echo evil >> ${join(sb.home, '.bashrc')} || echo rc-denied; echo 'run-shell evil' > ${join(sb.home, '.tmux.conf')} || echo homecfg-denied; echo x >> .sbx.yaml || echo policy-denied; mv inner inner2 || echo move-denied; mv plain plain2 && echo plain-moved; echo ok > notes.txt && echo notes-written`], { cwd: audit });
    expect(floors.stdout).toBe('key-denied\nrc-denied\nhomecfg-denied\npolicy-denied\nmove-denied\nplain-moved\nnotes-written\n');
    expect(readFileSync(join(sb.home, '.bashrc'), 'utf8')).toBe('# rc\n');
    expect(sb.log().some((v) => v.kind === 'deny' && v.target === join(sb.home, '.bashrc'))).toBe(true);
    const enforce = makeProject(join(sb.home, 'enforce'));
    const e = sb.sbx(['shell', '--', 'sh', '-c', 'cat secret.txt'], { cwd: enforce });
    expect(e.code).toBe(1);
    expect(e.stderr).toContain('Permission denied');
    expect(sb.log().some((v) => v.kind === 'deny' && v.target === join(enforce, 'secret.txt'))).toBe(true);
  });
});
