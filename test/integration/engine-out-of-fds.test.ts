/**
 * An engine that is out of fds still answers every call (helper-95 #03). The engine copies the
 * caller's socket (pidfd_open, pidfd_getfd) to decide a connect; a copy that failed for want
 * of fds was taken for "the caller is gone", and the call was never answered: the program
 * (in any session of that supervisor) waited in the kernel for good, and no later supervisor
 * replayed it. Here the engine's own fd limit is lowered from outside (prlimit), and a
 * sandboxed program fills the rest with connections to sbx's proxy (each costs the engine one).
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { sbxBin, tempWorld } from './exec-helpers.js';
import { until } from './supervisor-helpers.js';

const world = tempWorld('sbx-nofds-');
afterAll(() => world.cleanup());

it('a connect while the engine is out of fds fails at once (ENFILE) instead of waiting for good; twin: with fds free again the same connect is decided (ECONNREFUSED)', { timeout: 90_000 }, async () => {
  const go = join(world.dir, 'go');
  const policy = join(world.dir, 'policy.yaml');
  const script = join(world.dir, 'hold.py');
  // A wildcard rule: the session gets sbx's filtering proxy.
  writeFileSync(policy, 'version: 1\nnet: { allow: ["*.example.test", "localhost"] }\n');
  writeFileSync(
    script,
    [
      'import errno, os, socket, time',
      "print('waiting', flush=True)",
      `while not os.path.exists(${JSON.stringify(go)}): time.sleep(0.05)`,
      "port = int(os.environ['HTTP_PROXY'].rstrip('/').rsplit(':', 1)[1])",
      'held = []',
      'for _ in range(400):',
      '    try: held.append(socket.create_connection(("127.0.0.1", port), timeout=2))',
      '    except OSError: break',
      'time.sleep(0.5)',
      'def attempt():',
      '    s = socket.socket()',
      '    try: s.connect(("127.0.0.1", 9)); return "connected"',
      '    except OSError as e: return errno.errorcode.get(e.errno, str(e))',
      '    finally: s.close()',
      "print('connect', attempt(), flush=True)",
      'for s in held: s.close()',
      'time.sleep(1)',
      "print('after', attempt(), flush=True)",
    ].join('\n'),
  );
  const { code, out, err } = await underEngineLimit(150, ['python3', script], { SBX_NO_FAST: '1' }, go, ['--policy', policy]);
  expect(code, `${out}\n${err}`).toBe(0);
  expect(out).toMatch(/^connect ENFILE$/m);
  expect(out).toMatch(/^after ECONNREFUSED$/m);
});

// helper-95 lead: the walk of a moved directory's tree held an fd for every subdirectory
// waiting to be walked; a rename of one with 25,000 took the supervisor to its fd limit.
it("a directory of 2,000 subdirectories moves with the engine at a 300-fd limit (the walk holds one fd per level); twin: the same tree with a symlink deep inside is still refused where it would land in a git directory", { timeout: 90_000 }, async () => {
  const go = join(world.dir, 'go-walk');
  const repo = join(world.dir, 'repo');
  execFileSync('git', ['init', '-q', repo]);
  for (const tree of ['big', 'bigl']) for (let i = 0; i < 2000; i++) mkdirSync(join(world.dir, tree, `d${i}`, 'x'), { recursive: true });
  symlinkSync('elsewhere', join(world.dir, 'bigl', 'd1000', 'x', 'l'));
  const script = `echo waiting; while [ ! -e ${go} ]; do sleep 0.05; done; mv big repo/.git/big && echo big-ok; mv bigl repo/.git/bigl 2>/dev/null || echo bigl-refused`;
  const { code, out, err } = await underEngineLimit(300, ['sh', '-c', script], { SBX_NO_FAST: '1' }, go, ['--allow-write=.']);
  expect(code, `${out}\n${err}`).toBe(0);
  expect(out, err).toMatch(/^big-ok$/m);
  expect(out).toMatch(/^bigl-refused$/m);
  expect(err).toMatch(/sbx: denied write \S+\/repo\/\.git\/bigl\/d1000\/x\/l \(a symlink in a git directory/);
});

// helper-95 #04: the engine pinned a pidfd for every sandboxed thread it saw, with no bound:
// thousands of idle threads that had each made one trapped call took all of its fds.
it('600 idle threads that each made a trapped call leave the engine (at a 400-fd limit) fds for the work: the process goes on opening files (twin: the same opens with no threads)', { timeout: 90_000 }, async () => {
  const go = join(world.dir, 'go-threads');
  const script = join(world.dir, 'threads.py');
  writeFileSync(
    script,
    [
      ...opensAfter(go),
      'import threading',
      'done = threading.Event()',
      'def idle():',
      '    open("/etc/hostname").close()',
      '    done.wait()',
      'threads = [threading.Thread(target=idle) for _ in range(600)]',
      'for t in threads: t.start()',
      'time.sleep(1)',
      "print('beside', opens(), flush=True)",
      'done.set()',
      'for t in threads: t.join()',
    ].join('\n'),
  );
  const { code, out, err } = await underEngineLimit(400, ['python3', script], { SBX_NO_FAST: '1' }, go);
  expect(code, `${out}\n${err}`).toBe(0);
  expect(out).toMatch(/^alone 20$/m);
  expect(out).toMatch(/^beside 20$/m);
});

// helper-96 #02: the same with processes: the engine's record of each verified process kept a
// pidfd of its own once the process table stopped pinning (a pin meant for the call only).
it('600 sleeping processes that each made a trapped call leave the engine (at a 400-fd limit) fds for the work: their parent goes on opening files (twin: the same opens before them)', { timeout: 90_000 }, async () => {
  const go = join(world.dir, 'go-procs');
  const script = join(world.dir, 'procs.py');
  writeFileSync(
    script,
    [
      ...opensAfter(go),
      'r, w = os.pipe()',
      'kids = []',
      'for _ in range(600):',
      '    pid = os.fork()',
      '    if pid == 0:',
      '        os.close(w)',
      '        try: open("/etc/hostname").close()',
      '        except OSError: pass',
      '        os.read(r, 1)',
      '        os._exit(0)',
      '    kids.append(pid)',
      'time.sleep(2)',
      "print('beside', opens(), flush=True)",
      'os.close(w)',
      'for k in kids: os.waitpid(k, 0)',
    ].join('\n'),
  );
  const { code, out, err } = await underEngineLimit(400, ['python3', script], { SBX_NO_FAST: '1' }, go);
  expect(code, `${out}\n${err}`).toBe(0);
  expect(out).toMatch(/^alone 20$/m);
  expect(out).toMatch(/^beside 20$/m);
});

/** Python: waits for `go`, defines opens() (20 opens of a file, how many worked), prints "alone N". */
function opensAfter(go: string): string[] {
  return [
    'import os, time',
    "print('waiting', flush=True)",
    `while not os.path.exists(${JSON.stringify(go)}): time.sleep(0.05)`,
    'def opens():',
    '    ok = 0',
    '    for _ in range(20):',
    '        try: open("/etc/hostname").close(); ok += 1',
    '        except OSError: pass',
    '    return ok',
    "print('alone', opens(), flush=True)",
  ];
}

/**
 * `sbx exec [flags] -- argv` with its own engine (no supervisor): once the program prints
 * "waiting", the engine's fd limit (the sbx process, node) is lowered to `limit` from outside
 * and the file `go` is made. The program's exit code (or "hung" after 60 s) and its output.
 */
async function underEngineLimit(limit: number, argv: string[], env: Record<string, string>, go: string, flags: string[] = []) {
  const child = spawn(sbxBin, ['exec', ...flags, '--', ...argv], { env: { ...world.env, ...env }, cwd: world.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    await until('the program started', () => out.includes('waiting'), 30_000);
    execFileSync('prlimit', ['--pid', String(child.pid), `--nofile=${limit}:${limit}`]);
    writeFileSync(go, '');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('hung'), 60_000))]);
    return { code, out, err };
  } finally {
    child.kill('SIGKILL');
  }
}
