/**
 * /proc and proven identity (DESIGN invariant 3), through `./bin/sbx exec` on the real
 * kernel: another process's fds (pipes, memfds), memory, environment, cwd and root are out
 * of reach from inside, whatever they point to; its harmless entries stay readable (`ps`
 * works); the supervisor's /proc/<pid> is refused whole; a name the engine cannot reach
 * from its own root (a detached mount) is refused. Every trick is first shown to work
 * OUTSIDE the sandbox, and every refusal has its allowed twin (the same trick on the
 * caller's own /proc/self) in the same test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa, type Subprocess } from 'execa';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, run, sbxBin, sbxExec, servedBySupervisor, tempWorld } from './exec-helpers.js';

const world = tempWorld('sbx-proc-');
servedBySupervisor(world);
const victimDir = join(world.dir, 'victim-cwd');
const victimFile = join(victimDir, 'file');
const ENV_SECRET = 'VICTIM-ENV-SECRET';
const DENIED = 'open: Permission denied';

const inside = (args: string[]) => sbxExec(['--', ...args], { env: world.env, cwd: world.dir });
const outside = (args: string[]) => run(args[0]!, args.slice(1), { env: world.env, cwd: world.dir });
const insideSh = (script: string) => inside(['sh', '-c', script]);

interface Victim {
  kind: string;
  child: Subprocess;
  pid: number;
  pipeR: number;
  pipeW: number;
  memfd: number;
  addr: string;
}

/** Starts fixture proc_victim (directly, or inside its own `sbx exec`) and reads its pid line. */
function startVictim(kind: 'unsandboxed' | 'sandboxed'): Promise<Victim> {
  const argv = [fixture('proc_victim'), victimDir];
  const env = { ...world.env, VICTIM_SECRET: ENV_SECRET };
  // buffer: false: the pid line is read below as it comes; reject: false: afterAll kills them.
  const options = { env, extendEnv: false, cwd: world.dir, buffer: false, reject: false } as const;
  const child = kind === 'sandboxed' ? execa(sbxBin, ['exec', '--', ...argv], options) : execa(argv[0]!, argv.slice(1), options);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${kind} victim printed nothing: ${out}`)), 15_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /pid=(\d+) pipe_r=(\d+) pipe_w=(\d+) memfd=(\d+) addr=([0-9a-f]+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      resolve({ kind, child, pid: Number(m[1]), pipeR: Number(m[2]), pipeW: Number(m[3]), memfd: Number(m[4]), addr: m[5]! });
    });
    child.once('exit', (code) => reject(new Error(`${kind} victim exited ${code}: ${out}`)));
  });
}

const victims: Victim[] = [];
beforeAll(async () => {
  mkdirSync(victimDir);
  writeFileSync(victimFile, 'CWD-SECRET\n');
  victims.push(await startVictim('unsandboxed'), await startVictim('sandboxed'));
}, 30_000);
afterAll(() => {
  for (const v of victims) {
    // The sandboxed victim is not the child (that is its sbx): a dead sbx leaves it running.
    try {
      process.kill(v.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    v.child.kill('SIGKILL');
  }
  world.cleanup();
});

describe.each(['unsandboxed', 'sandboxed'])("another (%s) process's /proc/<pid>/", (kind) => {
  const v = () => victims.find((x) => x.kind === kind)!;

  it('its pipe through fd/N: readable outside, refused inside; our own pipe through /proc/self/fd, <(…) and /dev/stdin work', async () => {
    const path = `/proc/${v().pid}/fd/${v().pipeR}`;
    // Refused first: the outside read empties the pipe. Also through task/<tid>/fd.
    const no = await inside([fixture('proc_open'), path, 'r']);
    expect(no.stdout).toBe(`${DENIED}\n`);
    expect(no.stderr).toContain(`denied proc /proc/${v().pid}/fd`);
    expect(no.code).toBe(1);
    const noTask = await inside([fixture('proc_open'), `/proc/${v().pid}/task/${v().pid}/fd/${v().pipeR}`, 'r']);
    expect(noTask.stdout).toBe(`${DENIED}\n`);
    const out = await outside([fixture('proc_open'), path, 'r']);
    expect(out.stdout).toBe('ok: PIPE-SECRET\n');
    const ownOut = await outside([fixture('proc_victim'), 'self']);
    expect(ownOut.stdout).toContain('self pipe via O_PATH: PIPE-SECRET\n');
    const own = await inside([fixture('proc_victim'), 'self']);
    // An O_PATH fd grants nothing to reopen (an O_PATH open is not emulated, so a racing
    // thread could have aimed it at another process's pipe); the real fd does.
    expect(own.stdout).toContain('self pipe via O_PATH: Permission denied\n');
    expect(own.stdout).toContain('self pipe: PIPE-SECRET\n');
    expect(own.stdout).toContain('thread-self pipe: PIPE-SECRET\n');
    expect(own.stdout).toContain('self pipe write: ok\n');
    const sub = await inside(['bash', '-c', 'cat <(echo hi-from-substitution)']);
    expect(sub.stdout).toBe('hi-from-substitution\n');
    expect(sub.code).toBe(0);
    const stdin = await insideSh('echo piped | cat /dev/stdin');
    expect(stdin.stdout).toBe('piped\n');
    expect(stdin.code).toBe(0);
  });

  it('writing into its pipe through fd/N (injection): works outside, refused inside', async () => {
    const path = `/proc/${v().pid}/fd/${v().pipeW}`;
    const out = await outside([fixture('proc_open'), path, 'w']);
    expect(out.stdout).toBe('ok: wrote\n');
    const no = await inside([fixture('proc_open'), path, 'w']);
    expect(no.stdout).toBe(`${DENIED}\n`);
    // Twin: bash opens /dev/fd/63 (our own pipe's write end) for `> >(cat)`.
    const own = await inside(['bash', '-c', 'echo own > >(cat); wait $!']);
    expect(own.stdout).toBe('own\n');
    expect(own.code).toBe(0);
  });

  it('its memfd through fd/N, read-write: works outside, refused inside; our own memfd works', async () => {
    const path = `/proc/${v().pid}/fd/${v().memfd}`;
    const out = await outside([fixture('proc_open'), path, 'rw']);
    expect(out.stdout).toBe('ok: MEMFD-SECRET\n');
    const no = await inside([fixture('proc_open'), path, 'rw']);
    expect(no.stdout).toBe(`${DENIED}\n`);
    const own = await inside([fixture('proc_victim'), 'self']);
    expect(own.stdout).toContain('self memfd: MEMFD-SECRET\n');
  });

  it('its mem: readable outside, refused inside; our own /proc/self/mem works', async () => {
    const args = [fixture('proc_open'), `/proc/${v().pid}/mem`, 'r', v().addr];
    const out = await outside(args);
    expect(out.stdout).toBe('ok: MEM-SECRET\n');
    const no = await inside(args);
    expect(no.stdout).toBe(`${DENIED}\n`);
    const own = await inside([fixture('proc_victim'), 'self']);
    expect(own.stdout).toContain('self mem: MEM-SECRET\n');
  });

  it('its environ: readable outside, refused inside; our own /proc/self/environ works', async () => {
    const path = `/proc/${v().pid}/environ`;
    const out = await outside([fixture('proc_open'), path, 'r']);
    expect(out.stdout).toContain(ENV_SECRET);
    const no = await inside([fixture('proc_open'), path, 'r']);
    expect(no.stdout).toBe(`${DENIED}\n`);
    const own = await insideSh('cat /proc/self/environ | tr "\\0" "\\n" | grep -c "^PATH="');
    expect(own.stdout.trim()).toBe('1');
  });

  it('its cwd/ and root/: readable outside, refused inside; the same file directly and through our own /proc/self/cwd and root works', async () => {
    for (const path of [`/proc/${v().pid}/cwd/file`, `/proc/${v().pid}/root${victimFile}`]) {
      const out = await outside([fixture('proc_open'), path, 'r']);
      expect(out.stdout).toBe('ok: CWD-SECRET\n');
      const no = await inside([fixture('proc_open'), path, 'r']);
      expect(no.stdout).toBe(`${DENIED}\n`);
    }
    const direct = await inside([fixture('proc_open'), victimFile, 'r']);
    expect(direct.stdout).toBe('ok: CWD-SECRET\n');
    const own = await insideSh(`cd ${victimDir} && cat /proc/self/cwd/file /proc/self/root${victimFile}`);
    expect(own.stdout).toBe('CWD-SECRET\nCWD-SECRET\n');
    expect(own.code).toBe(0);
  });

  it('its harmless entries stay readable: status, stat, cmdline, task/<tid>/stat, and ps lists it', async () => {
    const pid = v().pid;
    const r = await insideSh(
      `cat /proc/${pid}/status | head -1; tr "\\0" " " < /proc/${pid}/cmdline; echo; head -c ${String(pid).length} /proc/${pid}/task/${pid}/stat; echo; ps -e -o pid=,comm= | grep -w ${pid}`,
    );
    expect(r.stdout).toContain('Name:\tproc_victim\n');
    expect(r.stdout).toContain(`${fixture('proc_victim')} ${victimDir}`);
    expect(r.stdout).toContain(`\n${pid}\n`);
    expect(r.stdout).toMatch(new RegExp(`\\b${pid} proc_victim`));
  });
});

describe('the supervisor', () => {
  it('its /proc/<pid>/status is refused inside (readable outside); another process’s status is readable inside', async () => {
    // The sandboxed victim's `sbx exec` is a supervisor like ours: outside, its status reads.
    const sup = victims.find((x) => x.kind === 'sandboxed')!.child.pid!;
    const out = await outside([fixture('proc_open'), `/proc/${sup}/status`, 'r']);
    expect(out.stdout).toMatch(/^ok: Name:/);
    // Inside, our own supervisor is $PPID (sbx runs the engine and is the program's parent).
    const other = victims.find((x) => x.kind === 'unsandboxed')!.pid;
    const r = await insideSh(`${fixture('proc_open')} /proc/$PPID/status r; ${fixture('proc_open')} /proc/$PPID/cmdline r; ${fixture('proc_open')} /proc/${other}/status r`);
    expect(r.stdout).toBe(`${DENIED}\n${DENIED}\nok: Name:\tproc_victim\n`);
    expect(r.stderr).toMatch(/denied proc \/proc\/\d+ \(built-in\)/);
  });
});

describe('proven identity: a name the engine cannot reach from its own root is refused', () => {
  it('a dirfd into a detached mount (open_tree clone) of a denied dir: reads outside, refused inside; a plain dirfd works', async () => {
    const secretDir = join(world.dir, 'secret');
    const pubDir = join(world.dir, 'pub');
    mkdirSync(secretDir);
    mkdirSync(pubDir);
    writeFileSync(join(secretDir, 'id'), 'TOP-SECRET\n');
    writeFileSync(join(pubDir, 'file'), 'PUBLIC\n');
    // The policy denies the secret dir by name; through the clone its text would be "/id".
    const policyFile = join(world.dir, 'policy.yaml');
    writeFileSync(policyFile, `version: 1\nread: { deny: ["${secretDir}"] }\n`);
    const out = await outside([fixture('detached_tree'), secretDir, 'id']);
    if (out.stdout.startsWith('open_tree:')) {
      // Needs CAP_SYS_ADMIN (CI runs it as root); the unprivileged run cannot build the trick.
      console.log(`not applicable: cannot clone a mount outside the sandbox (${out.stdout.trim()})`);
      return;
    }
    expect(out.stdout).toBe('ok: TOP-SECRET\n');
    const viaClone = (dir: string, name: string) =>
      run(fixture('detached_tree'), [dir, '--', sbxBin, 'exec', '--policy', policyFile, '--', fixture('fd_openat'), '0', name], { env: world.env, cwd: world.dir });
    const no = await viaClone(secretDir, 'id');
    expect(no.stdout).toBe('openat: Permission denied\n');
    expect(no.stderr).toContain('denied identity /id');
    // Even an allowed dir is refused through a clone: its name cannot be proven.
    const noPub = await viaClone(pubDir, 'file');
    expect(noPub.stdout).toBe('openat: Permission denied\n');
    // Allowed twin: the same read through a dirfd of the real directory.
    const ok = await sbxExec(['--policy', policyFile, '--', fixture('openat_rel'), pubDir, 'file'], { env: world.env, cwd: world.dir });
    expect(ok.stdout).toBe('PUBLIC\n');
    const direct = await sbxExec(['--policy', policyFile, '--', 'cat', join(secretDir, 'id')], { env: world.env, cwd: world.dir });
    expect(direct.stdout).toBe('');
  });
});
