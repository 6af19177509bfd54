/**
 * Exec verification (native/unotify/src/addon/exec.cc): no tracer; the running image of a
 * process that exec'd, or that this engine has never seen, is decided before any of its
 * trapped syscalls. Its cases: many execs at once (several processes, threads of one
 * process, two engines), a new engine meeting processes it never saw (a supervisor
 * restart), engines replaced while execs are in flight, children forked before an image's
 * first trapped syscall, execveat on an fd, and nobody left traced.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../native/unotify/native.js';
import { Engine } from '../../src/native/engine.js';
import { imageIdentity } from '../../src/policy/exec-images.js';
import { fixtureBin, markerDirs, ops, policy, rule, run, start, tempDir } from './engine-harness.js';

/** Our child processes running our own executable (the ptrace helpers of old): must be none. */
function helpers(): number[] {
  const out: number[] = [];
  for (const t of readdirSync(`/proc/${process.pid}/task`)) {
    let kids = '';
    try {
      kids = readFileSync(`/proc/${process.pid}/task/${t}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const k of kids.split(' ').filter(Boolean).map(Number)) {
      try {
        if (readlinkSync(`/proc/${k}/exe`) === process.execPath) out.push(k);
      } catch {
        /* gone */
      }
    }
  }
  return out;
}

async function waitFor(what: string, ready: () => boolean, capMs = 30_000): Promise<void> {
  const deadline = Date.now() + capMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

function markers() {
  const { d, marker } = markerDirs('ok', 'no');
  return { d, ok: marker('ok'), no: marker('no') };
}

const denyNo = (d: string) => policy(1, { exec: { default: 'allow', paths: [rule(0, 'deny', join(d, 'no'))], programs: [] } });

const count = (s: string, needle: string) => s.split(needle).length - 1;

const exeOf = (pid: number) => {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return '';
  }
};

describe('engine: exec verification', () => {
  it('many concurrent execs from several processes, in two engines at once, are all verified', async () => {
    const { d, ok, no } = markers();
    // 4 shells per engine, each launching the allowed marker 40 times and the denied one once.
    const loop = `for i in $(seq 40); do ${ok} p$1; done; ${no} p$1 || echo refused-$1`;
    const script = `for k in 1 2 3 4; do sh -c '${loop}' sh $k & done; wait`;
    const [a, b] = await Promise.all([
      run({ policies: [denyNo(d)], argv: ['/bin/sh', '-c', script], threads: 4 }),
      run({ policies: [denyNo(d)], argv: ['/bin/sh', '-c', script], threads: 4 }),
    ]);
    for (const r of [a!, b!]) {
      expect(count(r.stdout, `RAN ${ok}`), r.stderr).toBe(160);
      expect(r.stdout).not.toContain(`RAN ${no}`);
      for (const k of [1, 2, 3, 4]) expect(r.stdout).toContain(`refused-${k}`);
      expect(r.code).toBe(0);
    }
  }, 60_000);

  it('threads of one process (none the leader) exec at once: one wins and the engine does not hang; denied, all are refused', async () => {
    const { d, ok, no } = markers();
    const allowed = await run({
      policies: [denyNo(d)],
      argv: ['/bin/sh', '-c', `for i in $(seq 30); do ${fixtureBin('threads_exec')} 4 ${ok} t; done`],
      threads: 4,
    });
    expect(count(allowed.stdout, `RAN ${ok} t`), allowed.stderr).toBe(30);
    const denied = await run({
      policies: [denyNo(d)],
      argv: ['/bin/sh', '-c', `for i in $(seq 30); do ${fixtureBin('threads_exec')} 4 ${no} t; done`],
      threads: 4,
    });
    expect(denied.stdout).not.toContain('RAN');
    expect(count(denied.stdout, 'refused'), denied.stderr).toBeGreaterThanOrEqual(30);
  }, 60_000);

  it('a new engine meets every process as unknown: a denied image is killed before its first trapped syscall is answered; the allowed twin runs', async () => {
    for (const name of ['deny', 'allow']) {
      const d = tempDir();
      mkdirSync(join(d, name));
      const probe = join(d, name, 'probe');
      copyFileSync(fixtureBin('exec_probe'), probe);
      // Engine 1 lets everything run; the probe then blocks in read(stdin), which is not trapped.
      const s = await start({ policies: [policy(1)], argv: [probe, 'wait'] });
      await waitFor('the probe running', () => exeOf(s.child.pid!) === probe);
      s.engine.stop();
      // The next engine (a restarted supervisor): it places the probe under a policy denying
      // its image (as a resumed engine knows each tag), but has no record of its exec.
      const events: EngineEvent[] = [];
      const next = Engine.create({ listenerFd: s.listener, strictPolicy: 2, onEvents: (e) => events.push(...e) });
      next.setPolicy(policy(1, { exec: { default: 'allow', paths: [rule(0, 'deny', join(d, 'deny'))], programs: [] } }));
      next.assign(s.child.pid!, 1, false);
      next.setPolicy(policy(2));
      s.child.stdin!.end('x');
      const r = await s.done;
      await new Promise((res) => setTimeout(res, 100)); // the last event batch
      next.stop();
      if (name === 'deny') {
        expect(r.signal).toBe('SIGKILL');
        expect(existsSync(`${probe}.opened`)).toBe(false); // its open never happened
        expect(events.some((e) => e.kind === 'deny' && e.op === 'exec' && e.target === probe)).toBe(true);
      } else {
        expect(r.code).toBe(10);
        expect(existsSync(`${probe}.opened`)).toBe(true);
        expect(events).toEqual([]);
      }
    }
  }, 60_000);

  it('engines replaced four times during a loop of execs: no exec fails, none is killed, nobody is traced', async () => {
    const { ok } = markers();
    const s = await start({
      policies: [policy(1)],
      argv: ['/bin/sh', '-c', `f=0; for i in $(seq 400); do ${ok} x >/dev/null || f=$((f+1)); grep -q 'TracerPid:.0$' /proc/$$/status || f=$((f+1000)); done; echo failed=$f`],
    });
    let engine = s.engine;
    for (let k = 0; k < 4; k++) {
      await new Promise((res) => setTimeout(res, 150));
      engine.stop();
      engine = Engine.create({ listenerFd: s.listener, strictPolicy: 1 });
      engine.setPolicy(policy(1));
    }
    const r = await s.done;
    engine.stop();
    expect(s.stdout()).toBe('failed=0\n');
    expect(r.code).toBe(0);
  }, 90_000);

  it('a commands override reaches the children an image forked before its first trapped syscall; the shell keeps its own policy', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'f'), 'data\n');
    const probe = join(d, 'probe');
    copyFileSync(fixtureBin('exec_probe'), probe);
    // Nothing writable: a program the sandbox could replace runs under the strictest policy.
    const outer = policy(1, { write: { default: 'deny', rules: [] }, commands: [{ rule: 0, name: 'probe', policy: 2, images: [imageIdentity(probe)!] }] });
    const inner = policy(2, { write: { default: 'deny', rules: [] }, read: { default: 'allow', rules: [rule(1, 'deny', join(d, 'f'))] } });
    const r = await run({ policies: [outer, inner], argv: ['/bin/sh', '-c', `${probe} fork ${join(d, 'f')}; cat ${join(d, 'f')}`] });
    // exec_probe forks first (not trapped): parent and child both decide under the override.
    expect(r.stdout).toContain('parent: Permission denied');
    expect(r.stdout).toContain('child: Permission denied');
    expect(r.stdout).toContain('data');
    const twin = await run({ policies: [policy(1), inner], argv: ['/bin/sh', '-c', `${probe} fork ${join(d, 'f')}`] });
    expect(twin.stdout).toContain('parent: ok');
    expect(twin.stdout).toContain('child: ok');
  });

  it('execveat(fd, "", AT_EMPTY_PATH) and a program that execs itself are decided and verified; denied, refused', async () => {
    const { d, ok, no } = markers();
    const r = await run({
      policies: [denyNo(d)],
      argv: ['/bin/sh', '-c', `${ops(['fexec', ok, 'fd']).join(' ')}; ${ops(['fexec', no, 'fd']).join(' ')}; ${ops(['exec', fixtureBin('engine_ops'), 'exec', ok, 'self']).join(' ')}`],
    });
    expect(r.stdout).toContain(`RAN ${ok} fd`);
    expect(r.stdout).not.toContain(`RAN ${no}`);
    expect(r.stdout).toMatch(/fexec .*: EACCES/);
    expect(r.stdout).toContain(`RAN ${ok} self`);
  });

  it('a failed exec leaves the caller running untraced; the engine runs no helper process', async () => {
    const { d, ok } = markers();
    const before = helpers().length;
    const r = await run({
      policies: [denyNo(d)],
      // a directory: the kernel fails the exec after the CONTINUE (EACCES); the shell goes on
      argv: ['/bin/sh', '-c', `${d}/ok 2>/dev/null; grep TracerPid /proc/$$/status; ${ok} x`],
    });
    expect(r.stdout).toContain('TracerPid:\t0');
    expect(r.stdout).toContain(`RAN ${ok} x`);
    expect(helpers().length).toBe(before);
    expect(before).toBe(0);
  });
});
