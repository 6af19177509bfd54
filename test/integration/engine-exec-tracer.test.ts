/**
 * Exec verification under stress (native/unotify/src/addon/exec.cc): each exec is seized
 * by a ptrace helper process of the engine. Its failure modes: many execs at once (from
 * several processes, threads of one process, two engines), helpers killed while execs are
 * in flight, and no helper left behind by a stopped engine.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureBin, markerDirs, policy, rule, run, start } from './engine-harness.js';

/** Our child processes running our own executable: exec tracer helpers (CLONE_VM). */
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

describe('engine: exec verification under stress', () => {
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

  it('threads of one process exec at once: one wins and the engine does not hang; denied, all are refused', async () => {
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

  it('kill -9 of the helper while execs are in flight: a racing denied exec never runs; later execs are verified by new helpers', async () => {
    const { d, ok, no } = markers();
    // `read go` holds the "after" exec back until the killing has stopped: an exec whose
    // helper is killed mid-verification is killed too, by design.
    const s = await start({
      policies: [denyNo(d)],
      argv: ['/bin/sh', '-c', `${fixtureBin('engine_race_exec')} ${ok} ${no} 4 </dev/null; read go; ${ok} after`],
    });
    await waitFor('the race running', () => s.stdout().includes(`RAN ${ok} race`));
    let kills = 0;
    const killer = setInterval(() => {
      for (const h of helpers()) {
        try {
          process.kill(h, 'SIGKILL');
          kills++;
        } catch {
          /* already gone */
        }
      }
    }, 25);
    await waitFor('the race result', () => /ran=\d+/.test(s.stderr())).finally(() => clearInterval(killer));
    s.child.stdin!.end('go\n');
    const r = await s.done;
    const m = /ran=(\d+) refused=(\d+) killed=(\d+) other=(\d+)/.exec(s.stderr());
    expect(m, s.stdout() + s.stderr()).not.toBeNull();
    expect(kills).toBeGreaterThan(0);
    expect(s.stdout()).not.toContain(`RAN ${no}`);
    // the allowed twin: execs still run between kills and after them
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(s.stdout()).toContain(`RAN ${ok} after`);
    expect(r.code).toBe(0);
  }, 60_000);

  it('a stopped engine leaves no helper (process or zombie) behind; a failed exec leaves the caller running untraced', async () => {
    const { d, ok } = markers();
    const before = helpers().length;
    const r = await run({
      policies: [denyNo(d)],
      // a directory: the kernel fails the exec after the CONTINUE (EACCES); the shell goes on
      argv: ['/bin/sh', '-c', `${d}/ok 2>/dev/null; grep TracerPid /proc/$$/status; ${ok} x`],
    });
    expect(r.stdout).toContain('TracerPid:\t0');
    expect(r.stdout).toContain(`RAN ${ok} x`);
    await new Promise((res) => setTimeout(res, 100));
    expect(helpers().length).toBe(before);
  });
});
