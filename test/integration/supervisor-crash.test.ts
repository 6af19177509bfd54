/**
 * Crash survival and hand-over: `kill -9` of the supervisor in the middle of a workload,
 * and `sbx daemon restart`. The keeper holds each session's listener, so notifications
 * wait in the kernel; it re-registers with the next supervisor, which resumes the session
 * (same id, same sources, processes pinned to the policy they had).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtures, makeProject, makeSandbox, pidAlive, PUSH_FN, sleep, until, type Sandbox } from './supervisor-helpers.js';

let sb: Sandbox;
beforeAll(() => {
  sb = makeSandbox('crash');
});
afterAll(() => sb.cleanup());

const opener = join(fixtures, 'sup_opener');

function workload(dir: string, ms: number, n = 4): string {
  const one = `${opener} ${dir}/public.txt 'PUBLIC\n' ${dir}/secret.txt ${ms}`;
  return `for i in $(seq ${n}); do ${one} & done; wait`;
}

function parseCounts(out: string): { ok: number; denied: number; wrong: number; enosys: number }[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('ok='))
    .map((l) => Object.fromEntries(l.split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)])) as never);
}

describe('supervisor crash survival', () => {
  it('kill -9 mid-workload: the workload completes with correct results, no ENOSYS, no spurious denial; a new supervisor serves the same session', { timeout: 90_000 }, async () => {
    const p = makeProject(join(sb.home, 'k9'));
    const run = sb.spawnSbx(['shell', '--', 'sh', '-c', workload(p, 6000)], { cwd: p });
    const session = await until('session live', () => sb.status().sessions.find((s) => s.cwd === p && s.decisions > 50), 30_000);
    const old = sb.supervisorPid()!;
    process.kill(old, 'SIGKILL');
    // Serving again: the keeper started a new supervisor and re-registered the session
    // (the daemon log says so even if the workload is already over by the time we look).
    await until('session resumed by a new supervisor', () => {
      try {
        return readFileSync(join(sb.state, 'supervisor.log'), 'utf8').includes(`session ${session.id} resumed: root ${session.rootPid}`);
      } catch {
        return false;
      }
    }, 60_000);
    const now = sb.status().supervisor.pid;
    expect(now).toBeGreaterThan(0);
    expect(now).not.toBe(old);
    expect(pidAlive(old)).toBe(false);
    const out = await run.done;
    expect(out.stderr).toBe('');
    const counts = parseCounts(out.stdout);
    expect(counts).toHaveLength(4);
    for (const c of counts) {
      expect(c.wrong).toBe(0);
      expect(c.enosys).toBe(0);
      expect(c.ok).toBeGreaterThan(0);
      // Every iteration did one allowed and one denied open: the twins agree.
      expect(c.denied).toBe(c.ok);
    }
    expect(out.code).toBe(0);
  });

  it('sbx daemon restart hands live sessions over: a job pinned to project A keeps A after the restart, the shell keeps its own', { timeout: 90_000 }, async () => {
    const a = makeProject(join(sb.home, 'restart-a'));
    const flag = join(sb.dir, 'restarted');
    const script = `${PUSH_FN}
      cd ${a} && push "cd$PWD" >/dev/null
      ( while [ ! -e ${flag} ]; do sleep 0.05; done
        cat ${a}/secret.txt >/dev/null 2>&1 && echo bg-read || echo bg-denied
        cat ${a}/public.txt >/dev/null 2>&1 && echo bg-public-read || echo bg-public-denied ) &
      cd ${sb.home} && push "cd$PWD" >/dev/null
      while [ ! -e ${flag} ]; do sleep 0.05; done
      cat ${a}/secret.txt >/dev/null 2>&1 && echo shell-read || echo shell-denied
      wait`;
    const run = sb.spawnSbx(['shell', '--', 'sh', '-c', script]);
    const session = await until('session live', () => sb.status().sessions.find((s) => s.decisions > 3), 30_000);
    await sleep(500);
    const old = sb.supervisorPid()!;
    const r = sb.sbx(['daemon', 'restart', '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.old).toBe(old);
    expect(info.pid).not.toBe(old);
    await until('session handed over', () => sb.status().sessions.find((s) => s.id === session.id), 30_000);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(flag, '');
    const out = await run.done;
    expect(out.stdout).toContain('bg-denied');
    expect(out.stdout).toContain('bg-public-read');
    expect(out.stdout).toContain('shell-read');
    expect(out.code).toBe(0);
  });
});
