/**
 * The macOS parent's restart decisions, driven deterministically: a scripted "shell"
 * (sh waiting on a FIFO) under the recording stand-in sandbox-exec, an injected policy
 * resolver that can hold its answer, and an injected view of the shell's real cwd.
 * The pty/real-shell version of the loop is test/integration/macos-shell.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execaSync } from 'execa';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompiledPolicy } from '../../../src/policy/compiled.js';
import { macosShell } from '../../../src/platform/macos/shell.js';
import { parseLine } from '../../../src/platform/macos/control.js';
import { FakeSandboxExec } from './fake-sandbox.js';
import { PolicyBuilder } from './policies.js';

const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
};

const fakes: FakeSandboxExec[] = [];
afterEach(() => {
  for (const f of fakes.splice(0)) f.remove();
});

function world() {
  const fake = new FakeSandboxExec();
  fakes.push(fake);
  const A = join(fake.root, 'A');
  const B = join(fake.root, 'B');
  mkdirSync(A);
  mkdirSync(B);
  const go = join(fake.root, 'go');
  execaSync('mkfifo', [go]);
  const policies: Record<string, CompiledPolicy> = {
    [A]: new PolicyBuilder().path('read', 'deny', `${A}/secret`).build(),
    [B]: new PolicyBuilder().path('read', 'deny', `${B}/secret`).build(),
  };
  return { fake, A, B, go, policies };
}

/** The control FIFO named in the last recorded profile. */
const ctlOf = (fake: FakeSandboxExec) => /\(literal "([^"]+\/ctl)"\)/.exec(fake.calls().at(-1)!.profile)![1]!;

describe('macOS shell parent', () => {
  const notices: string[] = [];
  afterEach(() => {
    notices.length = 0;
  });

  // (A shell that exits in the few ms between the parent's last look and its SIGHUP is
  // indistinguishable from one that obeyed the SIGHUP: it gets restarted. Not a safety
  // issue — the new shell is sandboxed — and only a script can type that fast.)
  it('a shell that exits by itself while a restart is being decided is not restarted; the parent returns its status', async () => {
    const { fake, A, B, go, policies } = world();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let askedForB = false;
    const done = macosShell(
      { argv: ['sh', '-c', `read x < ${go}; exit 5`], cwd: A, env: fake.env() },
      {
        resolvePolicy: async (dir) => {
          if (dir === B) {
            askedForB = true;
            await held;
          }
          return policies[dir]!;
        },
        shellCwd: async () => B,
        notice: (l) => notices.push(l),
      },
    );
    await until(() => fake.calls().length === 1);
    writeFileSync(ctlOf(fake), `cd ${B}\n`);
    await until(() => askedForB);
    writeFileSync(go, 'now\n'); // the shell exits on its own…
    const pid = fake.calls()[0]!.pid;
    await until(() => !existsSync(`/proc/${pid}`)); // …and the parent has reaped it
    release();
    expect(await done).toBe(5);
    expect(fake.calls()).toHaveLength(1);
    expect(notices).toEqual([]);
  });

  it('its twin: the shell still running → one notice, restarted with B\'s profile in B, then the parent returns its status', async () => {
    const { fake, A, B, go, policies } = world();
    const done = macosShell(
      { argv: ['sh', '-c', `read x < ${go}; exit 5`], cwd: A, env: fake.env() },
      { resolvePolicy: async (dir) => policies[dir]!, shellCwd: async () => B, notice: (l) => notices.push(l) },
    );
    await until(() => fake.calls().length === 1);
    writeFileSync(ctlOf(fake), `cd ${B}\n`);
    await until(() => fake.calls().length === 2);
    expect(fake.calls()[1]!.cwd).toBe(B);
    expect(fake.calls()[1]!.profile).toContain(`${B}/secret`);
    writeFileSync(go, 'now\n');
    expect(await done).toBe(5);
    expect(notices).toEqual([`sbx: ${B} has a different policy: shell restarted under its profile`]);
  });

  it('same profile in the new directory: nothing happens', async () => {
    const { fake, A, B, go, policies } = world();
    const resolvedFor: string[] = [];
    const done = macosShell(
      { argv: ['sh', '-c', `read x < ${go}; exit 0`], cwd: A, env: fake.env() },
      {
        resolvePolicy: async (dir) => {
          resolvedFor.push(dir);
          return policies[A]!; // B resolves to exactly A's policy
        },
        shellCwd: async () => B,
        notice: (l) => notices.push(l),
      },
    );
    await until(() => fake.calls().length === 1);
    writeFileSync(ctlOf(fake), `cd ${B}\n`);
    await until(() => resolvedFor.includes(B));
    writeFileSync(go, 'now\n');
    expect(await done).toBe(0);
    expect(fake.calls()).toHaveLength(1);
    expect(notices).toEqual([]);
  });

  it('SIGTERM to the parent ends the shell; the parent returns 128+15 and does not restart it', async () => {
    const { fake, A, go, policies } = world();
    const listeners = process.listenerCount('SIGTERM');
    const done = macosShell(
      { argv: ['sh', '-c', `read x < ${go}; exit 0`], cwd: A, env: fake.env() },
      { resolvePolicy: async (dir) => policies[dir]!, notice: (l) => notices.push(l) },
    );
    await until(() => fake.calls().length === 1);
    process.emit('SIGTERM', 'SIGTERM');
    expect(await done).toBe(128 + 15);
    expect(fake.calls()).toHaveLength(1);
    expect(process.listenerCount('SIGTERM')).toBe(listeners); // its handlers removed
  });

  it('no policy for the start directory: an error, and no shell at all', async () => {
    const { fake, A } = world();
    await expect(
      macosShell({ argv: ['sh', '-c', 'exit 0'], cwd: A, env: fake.env() }, { resolvePolicy: async () => Promise.reject(new Error('broken policy')) }),
    ).rejects.toThrow(/broken policy/);
    expect(fake.calls()).toHaveLength(0);
  });

  it('control lines: only `cd /absolute` counts', () => {
    expect(parseLine('cd /a b/c')).toBe('/a b/c');
    expect(parseLine('cd relative')).toBeUndefined();
    expect(parseLine('use /x')).toBeUndefined();
    expect(parseLine(`cd /${'x'.repeat(5000)}`)).toBeUndefined();
  });
});
