/**
 * Debuggers inside, and tracing never gains rights (issue 13 item 2; native debug.cc). A
 * sandboxed tracer reaches a process of its own session under the same policy: ptrace
 * attach, process_vm_readv/writev, /proc/<pid>/mem; strace, gdb and ltrace work. Never the
 * session's shell, sbx's own processes, a process outside the session or one under another
 * policy (a `commands:` override). seccomp decides a syscall a tracer rewrote at its entry
 * stop (since Linux 4.8 seccomp runs after the ptrace stop). Every trick is shown working
 * outside first, every refusal next to its allowed twin. Real kernel, real sbx, real tools.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeWorld, fixture, run, sbxBin, sbxExec, servedBySupervisor } from './exec-helpers.js';
import { makeProject, makeSandbox, until, type Sandbox } from './supervisor-helpers.js';

const w = escapeWorld('sbx-debug-');
servedBySupervisor(w.world);
const probe = fixture('debug_probe');
let n = 0;
const infoFile = () => join(w.pub, `target-${n++}`);
/** sh: starts a debug_probe target in the background; $P and $A are its pid and data address. */
const target = (f = infoFile()) => `${probe} target ${f} & while [ ! -e ${f} ]; do sleep 0.05; done; read P A < ${f};`;
const inside = (script: string) => sbxExec([...w.policy, '--', 'sh', '-c', script], { env: w.world.env, cwd: w.world.dir });
const outside = (script: string) => run('sh', ['-c', script], { env: w.world.env, cwd: w.world.dir });
const denial = (what: string, pid: string | number, why: string) => `sbx: denied proc ${what} ${pid} (${why})`;

/** A debug_probe target started by the test itself (outside any sandbox), or in its own `sbx exec`. */
async function startTarget(sandboxed: boolean): Promise<{ child: ChildProcess; pid: number; addr: string }> {
  const f = infoFile();
  const argv = [probe, 'target', f];
  // Raw spawn: long-running targets, never waited on, killed in afterAll.
  const child = sandboxed
    ? spawn(sbxBin, ['exec', ...w.policy, '--', ...argv], { env: w.world.env, cwd: w.world.dir, stdio: 'ignore' })
    : spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  await until('target ready', () => existsSync(f), 30_000);
  const [pid, addr] = readFileSync(f, 'utf8').trim().split(' ');
  return { child, pid: Number(pid), addr: addr! };
}

const started: { child: ChildProcess; pid: number }[] = [];
let out: { pid: number; addr: string };
let other: { pid: number; addr: string };
beforeAll(async () => {
  w.create();
  const a = await startTarget(false);
  const b = await startTarget(true);
  started.push(a, b);
  out = a;
  other = b;
}, 60_000);
afterAll(() => {
  for (const t of started) {
    try {
      process.kill(t.pid, 'SIGKILL');
    } catch {
      // gone
    }
    t.child.kill('SIGKILL');
  }
  w.world.cleanup();
});

describe('sbx exec: a debugger on a process of its own sandbox', () => {
  it('outside twin: attach, process_vm_readv/writev and /proc/<pid>/mem work on a sibling', async () => {
    const r = await outside(`${target()} for m in attach vmread memread memwrite vmwrite; do ${probe} $m $P $A; done; kill $P`);
    for (const m of ['attach', 'vmread', 'memread']) expect(r.stdout).toMatch(new RegExp(`^${m} \\d+: ok DEBUG-TARGET-DATA$`, 'm'));
    for (const m of ['memwrite', 'vmwrite']) expect(r.stdout).toMatch(new RegExp(`^${m} \\d+: ok WRITTEN-BY-DEBUGGER$`, 'm'));
  });

  it('inside: attach, process_vm_readv/writev and /proc/<pid>/mem of a sibling under the same policy work', async () => {
    const r = await inside(`${target()} for m in attach vmread memread memwrite vmwrite; do ${probe} $m $P $A; done; kill $P`);
    for (const m of ['attach', 'vmread', 'memread']) expect(r.stdout).toMatch(new RegExp(`^${m} \\d+: ok DEBUG-TARGET-DATA$`, 'm'));
    for (const m of ['memwrite', 'vmwrite']) expect(r.stdout).toMatch(new RegExp(`^${m} \\d+: ok WRITTEN-BY-DEBUGGER$`, 'm'));
    expect(r.stderr).not.toContain('sbx: denied');
  });

  it('inside: gdb -p attaches to a sibling and reads its memory; strace -p shows its syscalls', async () => {
    const r = await inside(
      `${target()} gdb -batch -nx -p $P -ex "x/s 0x$A" 2>&1 | grep -c '"DEBUG-TARGET-DATA"';
       strace -p $P -e trace=clock_nanosleep,nanosleep -o ${w.pub}/strace-p.out & S=$!; sleep 1; kill $S; wait $S; grep -c nanosleep ${w.pub}/strace-p.out; kill $P`,
    );
    const [gdb, strace] = r.stdout.trim().split('\n');
    expect(gdb).toBe('1');
    expect(Number(strace)).toBeGreaterThan(0);
    // (gdb's own python cache writes under /usr/share are denied by the policy; nothing of the target is)
    expect(r.stderr).not.toMatch(/sbx: denied (proc|write \/proc)/);
  });

  it('inside: strace -f of a shell running cat works and shows the openat; the secret stays refused under strace', async () => {
    const trace = join(w.pub, 'strace-f.out');
    const r = await inside(`strace -f -e trace=openat -o ${trace} sh -c 'cat ${w.pubFile}; cat ${w.secret}'`);
    expect(r.stdout).toContain(w.PUBLIC);
    expect(r.stdout).not.toContain(w.SECRET);
    const log = readFileSync(trace, 'utf8');
    expect(log).toMatch(new RegExp(`openat\\(AT_FDCWD, "${w.pubFile}", O_RDONLY\\) = 3`));
    expect(log).toMatch(new RegExp(`openat\\(AT_FDCWD, "${w.secret}", O_RDONLY\\) = -1 EACCES`));
    const o = await outside(`strace -f -e trace=openat -o /dev/stdout sh -c 'cat ${w.secret}' | grep -c 'id", O_RDONLY) = 3'`);
    expect(o.stdout.trim()).toBe('1');
  });

  it('inside: gdb -batch -ex run runs a program to its end', async () => {
    const r = await inside(`gdb -batch -nx -ex run --args /bin/cat ${w.pubFile} 2>&1`);
    expect(r.stdout).toContain(w.PUBLIC);
    expect(r.stdout).toMatch(/\[Inferior 1 \(process \d+\) exited normally\]/);
  });

  it('inside: ltrace shows library calls of a program it starts', async () => {
    const lt = await run('sh', ['-c', 'command -v ltrace']);
    if (lt.code !== 0) {
      console.log('not applicable: ltrace is not installed here (.ci/run installs it)');
      return;
    }
    const trace = join(w.pub, 'ltrace.out');
    const r = await inside(`ltrace -o ${trace} /bin/cat ${w.pubFile}`);
    expect(r.stdout).toContain(w.PUBLIC);
    expect(readFileSync(trace, 'utf8')).toMatch(/^(setlocale|strrchr)\(/m);
  });

  it('perf trace: not applicable inside (perf_event_open is refused by the syscall table); works outside as root only', async () => {
    const r = await inside('perf trace -- true 2>&1; echo rc=$?');
    expect(r.stdout).not.toContain('rc=0');
  });

  it("the sandbox's own sbx process (the supervisor of sbx exec): attach, process_vm_readv and /proc/<pid>/mem refused", async () => {
    const r = await inside(`${probe} attach $PPID 0; ${probe} vmread $PPID 1000; ${probe} memread $PPID 1000`);
    expect(r.stdout).toMatch(/^attach \d+: Operation not permitted$/m);
    expect(r.stdout).toMatch(/^vmread \d+: Operation not permitted$/m);
    expect(r.stdout).toMatch(/^memread \d+: Permission denied$/m);
    expect(r.stderr).toMatch(/sbx: denied proc ptrace \d+ \(sbx's own process\)/);
  });

  it('a process outside the sandbox: refused inside (the outside twin reads it)', async () => {
    const o = await outside(`${probe} attach ${out.pid} ${out.addr}; ${probe} vmread ${out.pid} ${out.addr}; ${probe} memread ${out.pid} ${out.addr}`);
    expect(o.stdout).toContain(`attach ${out.pid}: ok DEBUG-TARGET-DATA`);
    expect(o.stdout).toContain(`vmread ${out.pid}: ok DEBUG-TARGET-DATA`);
    const r = await inside(`${probe} attach ${out.pid} ${out.addr}; ${probe} vmread ${out.pid} ${out.addr}; ${probe} vmwrite ${out.pid} ${out.addr}; ${probe} memread ${out.pid} ${out.addr}; gdb -batch -nx -p ${out.pid} -ex "x/s 0x${out.addr}" 2>&1`);
    expect(r.stdout).toContain(`attach ${out.pid}: Operation not permitted`);
    expect(r.stdout).toContain(`vmread ${out.pid}: Operation not permitted`);
    expect(r.stdout).toContain(`vmwrite ${out.pid}: Operation not permitted`);
    expect(r.stdout).toContain(`memread ${out.pid}: Permission denied`);
    expect(r.stdout).not.toContain('"DEBUG-TARGET-DATA"');
    expect(r.stderr).toContain(denial('ptrace', out.pid, 'not of this session'));
    expect(r.stderr).toContain(denial('process_vm_readv', out.pid, 'not of this session'));
    expect(r.stderr).toContain(denial('process_vm_writev', out.pid, 'not of this session'));
    expect(readFileSync(`/proc/${out.pid}/cmdline`, 'utf8')).toContain('target');
  });

  it('a process of another sandbox (its own sbx exec): refused', async () => {
    const r = await inside(`${probe} attach ${other.pid} ${other.addr}; ${probe} vmread ${other.pid} ${other.addr}; ${probe} memread ${other.pid} ${other.addr}`);
    expect(r.stdout).toContain(`attach ${other.pid}: Operation not permitted`);
    expect(r.stdout).toContain(`vmread ${other.pid}: Operation not permitted`);
    expect(r.stdout).toContain(`memread ${other.pid}: Permission denied`);
    expect(r.stderr).toContain(denial('ptrace', other.pid, 'not of this session'));
  });

  // ssh-agent and gpg-agent make themselves non-dumpable. The kernel would then refuse the
  // engine's own reads of them (run as a normal user), so every open they made failed: the engine
  // answers the prctl and refuses what the kernel would, a sibling debugging them.
  it('a process that made itself non-dumpable still opens files, reports itself non-dumpable, and no sibling may debug it; its dumpable twin they may', async () => {
    const f = infoFile();
    const r = await inside(
      `${target()} T=$P; TA=$A;
       ${probe} undumpable ${f} & while [ ! -e ${f} ]; do sleep 0.05; done; read P A < ${f};
       for m in attach vmread memread; do ${probe} $m $P $A; done; kill $P;
       ${probe} attach $T $TA; kill $T`,
    );
    expect(r.stdout).toContain('undumpable: set 0, get 0');
    const pid = readFileSync(f, 'utf8').split(' ')[0]!; // written through open() after the prctl
    expect(r.stdout).toContain(`attach ${pid}: Operation not permitted`);
    expect(r.stdout).toContain(`vmread ${pid}: Operation not permitted`);
    expect(r.stdout).toMatch(new RegExp(`^memread ${pid}: (Permission denied|Operation not permitted)$`, 'm'));
    expect(r.stderr).toContain(denial('ptrace', pid, 'a non-dumpable process (it, or the process it was forked from, asked)'));
    expect(r.stdout).toMatch(new RegExp(`^attach (?!${pid}:)\\d+: ok DEBUG-TARGET-DATA$`, 'm'));
  });

  // The kernel passes non-dumpable to a forked child, and fork is not trapped: the agent forks
  // into the background after the prctl, and its reparented child holds the keys.
  it('the background child of a non-dumpable process is not debuggable by a sibling either; a process started before the request is', async () => {
    const f = infoFile();
    const r = await inside(
      `${target()} T=$P; TA=$A;
       ${probe} undumpable-daemon ${f}; while [ ! -e ${f} ]; do sleep 0.05; done; read P A < ${f};
       for m in attach vmread memread; do ${probe} $m $P $A; done; kill $P;
       ${probe} attach $T $TA; kill $T`,
    );
    expect(r.stdout).toContain('undumpable-daemon: set 0');
    const pid = readFileSync(f, 'utf8').split(' ')[0]!;
    const why = 'a non-dumpable process (it, or the process it was forked from, asked)';
    expect(r.stdout).toContain(`attach ${pid}: Operation not permitted`);
    expect(r.stdout).toContain(`vmread ${pid}: Operation not permitted`);
    expect(r.stdout).toMatch(new RegExp(`^memread ${pid}: (Permission denied|Operation not permitted)$`, 'm'));
    expect(r.stderr).toContain(denial('ptrace', pid, why));
    expect(r.stdout).toMatch(new RegExp(`^attach (?!${pid}:)\\d+: ok DEBUG-TARGET-DATA$`, 'm'));
  });

  it('PTRACE_O_SUSPEND_SECCOMP is refused inside, whoever asks; a plain attach of the same sibling works', async () => {
    const r = await inside(`${target()} ${probe} suspend $P; ${probe} attach $P $A; kill $P`);
    expect(r.stdout).toMatch(/^suspend \d+: Operation not permitted$/m);
    expect(r.stderr).toMatch(/sbx: denied proc ptrace \d+ \(PTRACE_O_SUSPEND_SECCOMP\)/);
    expect(r.stdout).toMatch(/^attach \d+: ok DEBUG-TARGET-DATA$/m);
  });
});

describe('seccomp decides the syscall a tracer rewrote at the syscall-entry stop', () => {
  it('getppid rewritten into openat of the secret: opens it outside, refused inside; of an allowed file: works inside', async () => {
    const o = await outside(`${probe} rewrite ${w.secret}`);
    expect(o.stdout).toContain(`rewrite ${w.secret}: ok ${w.SECRET}`);
    const r = await inside(`${probe} rewrite ${w.secret}; ${probe} rewrite ${w.pubFile}`);
    expect(r.stdout).toContain(`rewrite ${w.secret}: Permission denied`);
    expect(r.stdout).not.toContain(w.SECRET);
    expect(r.stdout).toContain(`rewrite ${w.pubFile}: ok ${w.PUBLIC}`);
  });
});

describe('sessions: the shell, sbx itself, a tracee under another policy', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = makeSandbox('debug');
  });
  afterAll(() => sb.cleanup());

  it("the session's shell: attach and /proc/<pid>/mem refused; a sibling of the tracer under the same policy works", { timeout: 60_000 }, () => {
    const f = join(sb.dir, 'shell-target');
    // --follow-cd: the session's root is its interactive shell, as the hook starts it.
    const r = sb.sbx(['shell', '--follow-cd', '--', 'sh', '-c', `${probe} attach $$ 0; ${probe} memread $$ 1000; ${probe} vmread $$ 1000; ${target(f)} ${probe} attach $P $A; ${probe} memread $P $A; kill $P`]);
    expect(r.stdout).toMatch(/^attach \d+: Operation not permitted$/m);
    expect(r.stdout).toMatch(/^memread \d+: Permission denied$/m);
    expect(r.stdout).toMatch(/^vmread \d+: Operation not permitted$/m);
    expect(r.stdout).toMatch(/^attach \d+: ok DEBUG-TARGET-DATA$/m);
    expect(r.stdout).toMatch(/^memread \d+: ok DEBUG-TARGET-DATA$/m);
    expect(sb.log().some((v) => v.op === 'proc' && v.target.includes("the session's shell"))).toBe(true);
  });

  // The hook's shell gets the whole environment and unsets what env.deny hides; a fork of it
  // (a subshell, a pipeline's compound command) still holds the block it was started with.
  it("a fork of the session's shell: its environ, memory and attach refused (it holds what the hook hid), also after the shell exec'd another; twin: a program the shell started is readable", { timeout: 60_000 }, () => {
    const script = join(sb.dir, 'fork-probe.sh');
    writeFileSync(
      script,
      [
        'unset SBXT_HIDDEN',
        `( sh -c 'tr "\\0" "\\n" < /proc/$PPID/environ 2>/dev/null | grep SBXT_HIDDEN || echo fork-environ-refused; ${probe} attach $PPID 0; ${probe} memread $PPID 1000'; true )`,
        'env SBXT_OWN=visible sleep 30 & kid=$!',
        // Until it has exec'd, the child is a fork of the shell too (refused, rightly).
        'while [ "$(cat /proc/$kid/comm)" != sleep ]; do sleep 0.05; done',
        `sh -c "tr '\\0' '\\n' < /proc/$kid/environ | grep SBXT_OWN"; kill $kid`,
        // A fork left running when the shell execs another (exec bash to reload the rc files).
        '( while :; do sleep 0.2; done ) & bg=$!',
        `exec sh -c "tr '\\0' '\\n' < /proc/$bg/environ 2>/dev/null | grep SBXT_HIDDEN || echo old-fork-refused; kill $bg"`,
      ].join('\n'),
    );
    const r = sb.sbx(['shell', '--follow-cd', '--', 'sh', script], { env: { SBXT_HIDDEN: 'topsecret', SBX_HOOK_REEXEC: '1' } });
    expect(r.stdout, r.stderr).not.toContain('topsecret');
    expect(r.stdout).toContain('fork-environ-refused');
    expect(r.stdout).toContain('old-fork-refused');
    expect(r.stdout).toMatch(/^attach \d+: Operation not permitted$/m);
    expect(r.stdout).toMatch(/^memread \d+: Permission denied$/m);
    expect(r.stdout).toContain('SBXT_OWN=visible'); // the twin
    expect(sb.log().some((v) => v.op === 'proc' && v.target.includes("a fork of the session's shell"))).toBe(true);
  });

  // helper-94 #01, #02: both protections lived in the engine's memory only, so a supervisor
  // restarted after a crash or an upgrade let a sibling read and debug them.
  it("a supervisor killed with -9 forgets neither: a non-dumpable process's child and a fork of a shell that exec'd away stay undebuggable under the next supervisor; twin: a dumpable sibling started after them is debugged", { timeout: 90_000 }, async () => {
    const go = join(sb.dir, 'restart-go');
    const [uf, tf] = [join(sb.dir, 'restart-undumpable'), join(sb.dir, 'restart-target')];
    const script = join(sb.dir, 'restart-probe.sh');
    writeFileSync(
      script,
      [
        'unset SBXT_HIDDEN',
        `${probe} undumpable-daemon ${uf}; while [ ! -e ${uf} ]; do sleep 0.05; done; read U UA < ${uf}`,
        target(tf),
        '( while :; do sleep 0.2; done ) & bg=$!',
        `exec sh -c "echo ready; while [ ! -e ${go} ]; do sleep 0.05; done; ${probe} attach $U $UA; ${probe} attach $P $A; ` +
          `tr '\\0' '\\n' < /proc/$bg/environ 2>/dev/null | grep SBXT_HIDDEN || echo old-fork-refused; kill $bg $U $P"`,
      ].join('\n'),
    );
    const job = sb.spawnSbxEnv(['shell', '--follow-cd', '--', 'sh', script], { SBXT_HIDDEN: 'topsecret', SBX_HOOK_REEXEC: '1' });
    let early = '';
    job.child.stdout?.on('data', (d: Buffer) => (early += d.toString()));
    await until('the shell exec\'d away', () => early.includes('ready'), 30_000);
    await sb.killSupervisor(sb.status().sessions[0]!.id);
    writeFileSync(go, '');
    const r = await job.done;
    const undumpable = readFileSync(uf, 'utf8').split(' ')[0]!;
    const twin = readFileSync(tf, 'utf8').split(' ')[0]!;
    expect(r.stdout, r.stderr).toContain(`attach ${undumpable}: Operation not permitted`);
    expect(r.stdout).toContain(`attach ${twin}: ok DEBUG-TARGET-DATA`);
    expect(r.stdout).toContain('old-fork-refused');
    expect(r.stdout).not.toContain('topsecret');
  });

  it('the supervisor and a keeper: refused', { timeout: 90_000 }, async () => {
    const hold = sb.spawnSbx(['shell', '--', 'sh', '-c', 'sleep 60']);
    const s = await until('a session', () => sb.status().sessions[0], 30_000);
    const sup = sb.supervisorPid()!;
    const r = sb.sbx(['shell', '--', 'sh', '-c', `for p in ${sup} ${s.keeperPid}; do ${probe} attach $p 0; ${probe} vmread $p 1000; ${probe} memread $p 1000; done`]);
    hold.child.kill('SIGKILL');
    for (const p of [sup, s.keeperPid]) {
      expect(r.stdout).toContain(`attach ${p}: Operation not permitted`);
      expect(r.stdout).toContain(`vmread ${p}: Operation not permitted`);
      expect(r.stdout).toMatch(new RegExp(`^memread ${p}: (Permission denied|No such file or directory)$`, 'm'));
    }
  });

  it('a tracee under another policy (a `commands:` override): attach from outside it refused; the twin under the same policy works; strace -f of it is stopped at its exec', { timeout: 90_000 }, () => {
    // narrow_probe runs under the override (it may not read other.txt): it is the narrower
    // tracer, the sibling under the project policy the wider tracee.
    const bin = join(sb.dir, 'bin');
    mkdirSync(bin, { recursive: true });
    copyFileSync(probe, join(bin, 'narrow_probe'));
    const narrow = join(bin, 'narrow_probe');
    // Named by path: an override applies to the file its name resolves to (bin is not on PATH),
    // in a place the sandbox may not write (else it runs under the strictest policy).
    const q = makeProject(join(sb.home, 'override'), `version: 1\nread:\n  deny: ["secret.txt"]\nwrite:\n  deny: [${JSON.stringify(bin)}]\ncommands:\n  ${JSON.stringify(narrow)}:\n    read:\n      deny: ["other.txt"]\n`);
    const f = join(sb.dir, 'wide-target');
    const r = sb.sbx(['shell', '--', 'sh', '-c', `${target(f)} ${narrow} attach $P $A; ${narrow} vmread $P $A; ${narrow} memread $P $A; ${probe} attach $P $A; kill $P;
      strace -f -o /dev/null ${narrow} rewrite ${q}/public.txt; echo strace-rc=$?; ${narrow} rewrite ${q}/public.txt`], { cwd: q });
    expect(r.stdout).toMatch(/^attach \d+: Operation not permitted$/m);
    expect(r.stdout).toMatch(/^vmread \d+: Operation not permitted$/m);
    expect(r.stdout).toMatch(/^memread \d+: Permission denied$/m);
    expect(r.stdout).toMatch(/^attach \d+: ok DEBUG-TARGET-DATA$/m);
    // Under strace (the project policy) the override program is killed at its exec check;
    // run plainly it works.
    expect(r.stdout).not.toMatch(/strace-rc=0/);
    expect(r.stdout.match(/rewrite .*public.txt: ok PUBLIC/g)?.length).toBe(1);
    expect(sb.log().some((v) => v.op === 'exec' && v.target.includes('narrow_probe (traced:'))).toBe(true);
    expect(sb.log().some((v) => v.op === 'proc' && v.target.includes('runs under another policy'))).toBe(true);
  });
});
