/**
 * DESIGN invariant 4 against a hostile process tree: a process's policy is fixed when it is
 * created — not when it first makes a trapped syscall — and kept for life, whatever its
 * parent does; a process the engine cannot place gets the session's strictest policy,
 * never a default. Real kernel, real sessions (bin/sbx, launcher, keeper, supervisor).
 *
 * The fixture (test/fixtures/c/procs_orphan.c) double-forks; its grandchild makes its
 * first trapped syscall only after its parent is dead (reparented away) and a flag file
 * exists. Each denial has its allowed twin (public.txt), and the shell's own reads show
 * what the shell's current policy — the "default" the old ancestry walk fell back to —
 * would have allowed.
 */
import { execaSync } from 'execa';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureBin, policy, start, STRICT_ID, tempDir } from './engine-harness.js';
import { fixtures, makeProject, makeSandbox, PUSH_FN, sbxBin, until, type Sandbox } from './supervisor-helpers.js';

const orphan = join(fixtures, 'procs_orphan');
/**
 * A project whose own policy allows other.txt; its override for `program` (by path: an
 * override applies to the file its name resolves to, and the fixtures are not on PATH) denies it.
 * Writes only in the project and the test's flag files (not the test's HOME: a variable naming
 * a place the sandbox writes keeps a program from its override): a program the sandbox could replace (a
 * directory on its way renamed) runs under the strictest policy, not its override.
 */
const overrideYaml = (program: string) =>
  `version: 1\nread:\n  deny: ["secret.txt"]\nwrite:\n  allow: [".", "/dev/null", ${['flag-a', 'flag-q', 'flag-cd', 'flag-crash'].map((f) => JSON.stringify(join(sb.dir, f))).join(', ')}]\ncommands:\n  ${JSON.stringify(program)}:\n    read:\n      deny: ["other.txt"]\n`;

let sb: Sandbox;
beforeAll(() => {
  sb = makeSandbox('procs');
});
afterAll(() => sb.cleanup());

function overrideProject(name: string, program = orphan): string {
  const q = makeProject(join(sb.home, name), overrideYaml(program));
  writeFileSync(join(q, 'other.txt'), 'OTHER\n');
  return q;
}

/** Pids of live processes whose command line names `arg`, with their parent pids. */
function processesWith(arg: string): { pid: number; ppid: number }[] {
  const out: { pid: number; ppid: number }[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (!readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').includes(arg)) continue;
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (f[0] !== 'Z') out.push({ pid: Number(e), ppid: Number(f[1]) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function supervisorLog(): string {
  try {
    return readFileSync(join(sb.state, 'supervisor.log'), 'utf8');
  } catch {
    return '';
  }
}

describe('a process keeps the policy it was created under', () => {
  it('a double-forked grandchild whose parent died before its first trapped call keeps the project it was started in after the shell moves out', { timeout: 60_000 }, () => {
    const a = makeProject(join(sb.home, 'orphan-a'));
    const flag = join(sb.dir, 'flag-a');
    const script = `${PUSH_FN}
      cd ${a} && push "cd$PWD" >/dev/null
      ${orphan} ${flag} ${a}/secret.txt ${a}/public.txt &
      cd ${sb.home} && push "cd$PWD" >/dev/null
      touch ${flag}
      cat ${a}/secret.txt >/dev/null 2>&1 && echo shell-secret-read || echo shell-secret-denied
      wait`;
    const r = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', script]);
    expect(r.stdout).toContain('intermediate gone');
    // Denied: the grandchild was created under project a, whatever happened since.
    expect(r.stdout).toContain(`orphan ${a}/secret.txt: EACCES`);
    expect(r.stdout).toContain(`orphan ${a}/public.txt: ok`);
    expect(r.stdout).toContain(`parent ${a}/secret.txt: EACCES`);
    expect(r.stdout).toContain(`parent ${a}/public.txt: ok`);
    // The shell (and the session's first policy) would have allowed it.
    expect(r.stdout).toContain('shell-secret-read');
    expect(r.code).toBe(0);
  });

  it('a double-forked grandchild of a program under a `commands:` override keeps the override, not the project policy', { timeout: 60_000 }, () => {
    const q = overrideProject('orphan-q');
    const flag = join(sb.dir, 'flag-q');
    const script = `${orphan} ${flag} ${q}/other.txt ${q}/public.txt &
      touch ${flag}
      cat ${q}/other.txt >/dev/null 2>&1 && echo shell-other-read || echo shell-other-denied
      cat ${q}/secret.txt >/dev/null 2>&1 && echo shell-secret-read || echo shell-secret-denied
      wait`;
    const r = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', script], { cwd: q });
    expect(r.stdout).toContain('intermediate gone');
    expect(r.stdout).toContain(`orphan ${q}/other.txt: EACCES`);
    expect(r.stdout).toContain(`orphan ${q}/public.txt: ok`);
    expect(r.stdout).toContain(`parent ${q}/other.txt: EACCES`);
    expect(r.stdout).toContain(`parent ${q}/public.txt: ok`);
    // The project policy (the session's, and the old fallback) allows other.txt.
    expect(r.stdout).toContain('shell-other-read');
    expect(r.stdout).toContain('shell-secret-denied');
    expect(r.code).toBe(0);
  });

  it('a child forked before the shell changes policy keeps the old one; the shell and its new children get the new one', { timeout: 60_000 }, () => {
    const a = makeProject(join(sb.home, 'before-cd'));
    const flag = join(sb.dir, 'flag-cd');
    // The subshell is a fork of the shell that runs builtins only: its first trapped call
    // is the `read < file` after the cd.
    const script = `${PUSH_FN}
      cd ${a} && push "cd$PWD" >/dev/null
      ( while [ ! -e ${flag} ]; do sleep 0.02; done
        if read l < ${a}/secret.txt; then echo child-secret-read; else echo child-secret-denied; fi
        if read l < ${a}/public.txt; then echo child-public-read; else echo child-public-denied; fi ) &
      cd ${sb.home} && push "cd$PWD" >/dev/null
      touch ${flag}
      if read l < ${a}/secret.txt; then echo shell-secret-read; else echo shell-secret-denied; fi
      sh -c 'cat ${a}/secret.txt >/dev/null 2>&1 && echo new-child-secret-read || echo new-child-secret-denied'
      wait`;
    const r = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', script]);
    expect(r.stdout).toContain('child-secret-denied');
    expect(r.stdout).toContain('child-public-read');
    expect(r.stdout).toContain('shell-secret-read');
    expect(r.stdout).toContain('new-child-secret-read');
    expect(r.code).toBe(0);
  });

  it('a process under a `commands:` override cannot push a cd hint to leave it; the shell can', { timeout: 60_000 }, () => {
    // The overridden program is a shell script: it pushes a cd hint for a directory
    // without the override, then reads other.txt.
    const dir = join(tempDir(), 'bin-hint'); // outside the test's dir, which the sandbox writes
    execaSync('mkdir', ['-p', dir]);
    const script = join(dir, 'procs_orphan');
    const q = join(sb.home, 'hint-q');
    writeFileSync(
      script,
      `#!/bin/sh\n${PUSH_FN}\ncd ${sb.home} && push "cd$PWD"\nif read l < ${q}/other.txt; then echo override-other-read; else echo override-other-denied; fi\n`,
      { mode: 0o755 },
    );
    overrideProject('hint-q', script);
    const shell = `${PUSH_FN}
      ${script}
      cd ${sb.home} && push "cd$PWD" >/dev/null
      if read l < ${q}/secret.txt; then echo shell-secret-read; else echo shell-secret-denied; fi`;
    const r = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', shell], { cwd: q });
    expect(r.stdout).toMatch(/push-rc=[1-9]/);
    expect(r.stdout).toContain('override-other-denied');
    expect(r.stdout).toContain('shell-secret-read');
    // It left its project for a directory under another policy: refused, and strictest from then on.
    expect(sb.log().some((v) => v.kind === 'refused' && v.rule.includes("only the session's shell follows cd") && v.rule.includes('strictest'))).toBe(true);
  });

  it('a `commands:` override survives kill -9 of the supervisor, for the program and its orphaned grandchild', { timeout: 120_000 }, async () => {
    const q = overrideProject('crash-q');
    const flag = join(sb.dir, 'flag-crash');
    const run = sb.spawnSbx(
      ['shell', '--follow-cd', '--', 'sh', '-c', `${orphan} ${flag} ${q}/other.txt ${q}/public.txt
        cat ${q}/other.txt >/dev/null 2>&1 && echo shell-other-read || echo shell-other-denied`],
      { cwd: q },
    );
    // The program and its grandchild are both running and the intermediate is gone: two
    // processes, neither the other's parent. Neither has made a trapped call since the fork.
    await until('program and orphan waiting', () => {
      const ps = processesWith(flag);
      return ps.length === 2 && !ps.some((p) => ps.some((o) => o.ppid === p.pid));
    }, 30_000);
    const session = await until('session listed', () => sb.status().sessions.find((s) => s.cwd === q), 30_000);
    const old = sb.supervisorPid()!;
    process.kill(old, 'SIGKILL');
    await until('session resumed by a new supervisor', () => supervisorLog().includes(`session ${session.id} resumed: root ${session.rootPid}`), 30_000);
    expect(sb.supervisorPid()).not.toBe(old);
    writeFileSync(flag, '');
    const out = await run.done;
    expect(out.stdout).toContain(`orphan ${q}/other.txt: EACCES`);
    expect(out.stdout).toContain(`orphan ${q}/public.txt: ok`);
    expect(out.stdout).toContain(`parent ${q}/other.txt: EACCES`);
    expect(out.stdout).toContain(`parent ${q}/public.txt: ok`);
    expect(out.stdout).toContain('shell-other-read');
    expect(out.code).toBe(0);
  });
});

describe('a process the engine cannot place', () => {
  it('gets the strictest policy, never the default: its tag changed from outside, it reads system files only', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'public.txt'), 'x');
    const flag = join(d, 'flag');
    const s = await start({ policies: [policy(1)], argv: [fixtureBin('procs_orphan'), flag, join(d, 'public.txt'), '/etc/passwd'] });
    s.child.stdin!.end();
    const g = await until('grandchild', () => /grandchild (\d+)/.exec(s.stdout()), 10_000);
    await until('intermediate gone', () => s.stdout().includes('intermediate gone'), 10_000);
    // The user's own prlimit (outside the sandbox) can lower the hard core limit that holds
    // the tag; inside, every change to RLIMIT_CORE is refused.
    execaSync('prlimit', ['--pid', g[1]!, '--core=0:4242']);
    writeFileSync(flag, '');
    await s.done;
    expect(s.stdout()).toContain(`orphan ${join(d, 'public.txt')}: EACCES`);
    expect(s.stdout()).toContain('orphan /etc/passwd: ok');
    // Its twin under the program's own policy (the engine's first policy, allow-all).
    expect(s.stdout()).toContain(`parent ${join(d, 'public.txt')}: ok`);
    expect(s.stdout()).toContain('parent /etc/passwd: ok');
    expect(s.events.some((e) => e.kind === 'deny' && e.policy === STRICT_ID && e.target === join(d, 'public.txt'))).toBe(true);
  });

  it('cannot change its own tag: setrlimit and prlimit on RLIMIT_CORE are refused', async () => {
    const { stdout: r } = execaSync(
      sbxBin,
      ['exec', '--quiet', '--', 'sh', '-c', 'ulimit -H -c 1000 2>/dev/null && echo hard-lowered || echo hard-refused; prlimit --pid $$ --core=0:1000 2>/dev/null && echo prlimit-set || echo prlimit-refused; prlimit --pid $$ --core --output HARD --noheadings >/dev/null && echo prlimit-read'],
      { env: sb.env, extendEnv: false, cwd: sb.home, stripFinalNewline: false },
    );
    expect(r).toContain('hard-refused');
    expect(r).toContain('prlimit-refused');
    expect(r).toContain('prlimit-read');
  });
});
