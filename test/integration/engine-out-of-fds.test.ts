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
import { existsSync, writeFileSync } from 'node:fs';
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
  // Its own engine (no supervisor): the engine is this process, node, whose limit we lower.
  const child = spawn(sbxBin, ['exec', '--policy', policy, '--', 'python3', script], {
    env: { ...world.env, SBX_NO_FAST: '1' },
    cwd: world.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    await until('the program started', () => out.includes('waiting'), 30_000);
    execFileSync('prlimit', ['--pid', String(child.pid), '--nofile=150:150']);
    writeFileSync(go, '');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('hung'), 60_000))]);
    expect(code, `${out}\n${err}`).toBe(0);
    expect(out).toMatch(/^connect ENFILE$/m);
    expect(out).toMatch(/^after ECONNREFUSED$/m);
    expect(existsSync(go)).toBe(true);
  } finally {
    child.kill('SIGKILL');
  }
});
