/**
 * Crash survival and hand-over: `kill -9` of the supervisor in the middle of a workload,
 * and `sbx daemon restart`. The keeper holds each session's listener, so notifications
 * wait in the kernel; it re-registers with the next supervisor, which resumes the session
 * (same id, same sources and policy ids; every process keeps its policy: the engine reads
 * the process tags back from the keeper's memfd).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { execaSync } from 'execa';
import { join } from 'node:path';
import { fixtures, makeProject, makeSandbox, pidAlive, PUSH_FN, sleep, SLOW_START_NOTICE, until, type Sandbox } from './supervisor-helpers.js';

let sb: Sandbox;
beforeAll(() => {
  sb = makeSandbox('crash');
});
afterAll(() => sb.cleanup());

const opener = join(fixtures, 'sup_opener');

function workload(dir: string, ms: number, n = 4, stopFile = ''): string {
  const one = `${opener} ${dir}/public.txt 'PUBLIC\n' ${dir}/secret.txt ${ms}${stopFile ? ` ${stopFile}` : ''}`;
  return `for i in $(seq ${n}); do ${one} & done; wait`;
}

function parseCounts(out: string): { ok: number; denied: number; wrong: number; enosys: number }[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('ok='))
    .map((l) => Object.fromEntries(l.split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)])) as never);
}

/** Four openers, each with only correct answers: no ENOSYS, no wrong result, twins agree. */
function expectWorkloadCorrect(out: { code: number; stdout: string; stderr: string }): void {
  // On a loaded machine the first start may wait for the supervisor (the keeper says so
  // once); nothing else may reach stderr.
  expect(out.stderr.replace(SLOW_START_NOTICE, '')).toBe('');
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
}

/** What a post-mortem needs when a wait here runs out: the daemon log and who is still around. */
function diagnostics(): string {
  let log = '';
  try {
    log = readFileSync(join(sb.state, 'supervisor.log'), 'utf8');
  } catch {
    log = '(no supervisor.log)';
  }
  const ps = execaSync('ps', ['-eo', 'pid,ppid,stat,wchan:20,args'], { reject: false }).stdout;
  const ours = ps.split('\n').filter((l) => l.includes(sb.dir) || l.includes('sup_opener') || l.includes('sbx'));
  return `supervisor.log:\n${log}\nprocesses:\n${ours.join('\n')}`;
}

async function withDeadline<T>(p: Promise<T>, ms: number, why: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(why())), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}


/** How many times the supervisor log says session `id` was resumed. */
function resumesOf(id: string): number {
  try {
    return readFileSync(join(sb.state, 'supervisor.log'), 'utf8').split(`session ${id} resumed:`).length - 1;
  } catch {
    return 0;
  }
}

/** kill -9 of the supervisor `kills` times, each time waiting until the session is resumed. */
async function killSupervisorTimes(kills: number, resumes: () => number): Promise<void> {
  for (let k = 1; k <= kills; k++) {
    const victim = sb.supervisorPid()!;
    process.kill(victim, 'SIGKILL');
    await until(`session resumed after kill ${k}`, () => resumes() >= k && sb.supervisorPid() !== victim, 30_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${diagnostics()}`);
    });
    // Let the new supervisor answer for a while before it is killed in turn.
    await sleep(400);
  }
}

describe('supervisor crash survival', () => {
  it('kill -9 mid-workload: the workload completes with correct results, no ENOSYS, no spurious denial; a new supervisor serves the same session', { timeout: 120_000 }, async () => {
    const p = makeProject(join(sb.home, 'k9'));
    // The load lasts until the resume is seen (a stop file), at most 60 s: with a fixed 6 s it
    // could end before the kill on a loaded machine (it did once, beside the 50-session test).
    const stop = join(sb.dir, 'k9-stop');
    const run = sb.spawnSbx(['shell', '--follow-cd', '--', 'sh', '-c', workload(p, 60_000, 4, stop)], { cwd: p });
    const session = await until('session live', () => sb.status().sessions.find((s) => s.cwd === p && s.decisions > 50), 30_000);
    // Kill once all four openers are in their loop (each has a denial on record), so the
    // kill lands mid-workload. (An exec in flight survives a kill too: see the launch loop.)
    await until('all four openers running', () => new Set(sb.log(session.id).filter((v) => v.program === opener).map((v) => v.pid)).size === 4, 30_000);
    const old = sb.supervisorPid()!;
    process.kill(old, 'SIGKILL');
    // Serving again: the keeper started a new supervisor and re-registered the session.
    const resumed = until('session resumed by a new supervisor', () => {
      try {
        return readFileSync(join(sb.state, 'supervisor.log'), 'utf8').includes(`session ${session.id} resumed: root ${session.rootPid}`);
      } catch {
        return false;
      }
    }, 20_000);
    await resumed.catch((e: Error) => {
      throw new Error(`${e.message}\n${diagnostics()}`);
    });
    writeFileSync(stop, '');
    const now = sb.status().supervisor.pid;
    expect(now).toBeGreaterThan(0);
    expect(now).not.toBe(old);
    expect(pidAlive(old)).toBe(false);
    const out = await withDeadline(run.done, 20_000, () => `the workload did not finish\n${diagnostics()}`);
    expectWorkloadCorrect(out);
  });

  it('kill -9 again and again mid-workload: no call is lost, every opener finishes with correct results', { timeout: 150_000 }, async () => {
    const KILLS = 5;
    const p = makeProject(join(sb.home, 'k9-again'));
    // The load lasts until every kill is done (a stop file), at most 90 s: on a loaded machine
    // five restarts can take longer than any fixed duration.
    const stop = join(sb.dir, 'k9-again-stop');
    const run = sb.spawnSbx(['shell', '--follow-cd', '--', 'sh', '-c', workload(p, 90_000, 4, stop)], { cwd: p });
    const session = await until('session live', () => sb.status().sessions.find((s) => s.cwd === p && s.decisions > 50), 30_000);
    await until('all four openers running', () => new Set(sb.log(session.id).filter((v) => v.program === opener).map((v) => v.pid)).size === 4, 30_000);
    const resumes = () => resumesOf(session.id);
    await killSupervisorTimes(KILLS, resumes);
    writeFileSync(stop, '');
    const out = await withDeadline(run.done, 40_000, () => `the workload did not finish: a call was lost?\n${diagnostics()}`);
    expectWorkloadCorrect(out);
    expect(resumes()).toBe(KILLS);
  });

  it('kill -9 of the supervisor 10 times during a loop of 5k (SBX_CRASH_LAUNCHES) /bin/true: not one command fails or is killed, nobody is traced', { timeout: 600_000 }, async () => {
    // Execs in flight when the supervisor dies complete under the next one (no tracer to
    // take them along); the next engine verifies each process at first sight.
    // 20k launches (the issue's figure) passed here with 10 kills in 496 s on a loaded 2-core
    // box; CI runs 5k unless SBX_CRASH_LAUNCHES says otherwise.
    const KILLS = 10;
    const N = Number(process.env.SBX_CRASH_LAUNCHES ?? 5_000);
    const p = makeProject(join(sb.home, 'k9-launches'));
    const stop = join(sb.dir, 'k9-launches-stop');
    const script = `i=0; f=0; while [ $i -lt ${N} ] || [ ! -e ${stop} ]; do /bin/true || f=$((f+1)); i=$((i+1)); done
      grep -q 'TracerPid:.0$' /proc/$$/status || f=$((f+1000)); echo "launches=$i failed=$f"`;
    const started = Date.now();
    const run = sb.spawnSbx(['shell', '--follow-cd', '--', 'sh', '-c', script], { cwd: p });
    const session = await until('session live', () => sb.status().sessions.find((s) => s.cwd === p && s.decisions > 50), 30_000);
    const resumes = () => resumesOf(session.id);
    await killSupervisorTimes(KILLS, resumes);
    // The loop runs until every kill is done (the stop file) and N launches at least.
    writeFileSync(stop, '');
    const out = await withDeadline(run.done, 500_000, () => `the launch loop did not finish\n${diagnostics()}`);
    const m = /launches=(\d+) failed=(\d+)/.exec(out.stdout);
    expect(m, out.stdout + out.stderr).not.toBeNull();
    console.log(`launch loop: ${m![0]} with ${KILLS} kills in ${Math.round((Date.now() - started) / 1000)} s`);
    expect(Number(m![1])).toBeGreaterThanOrEqual(N);
    expect(Number(m![2])).toBe(0);
    expect(out.stderr.replace(SLOW_START_NOTICE, '')).toBe('');
    expect(out.code).toBe(0);
    expect(resumes()).toBe(KILLS);
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
    const run = sb.spawnSbx(['shell', '--follow-cd', '--', 'sh', '-c', script]);
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
