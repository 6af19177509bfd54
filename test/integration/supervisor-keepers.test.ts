/**
 * Cross-session keeper protection: every engine protects the supervisor and EVERY live
 * keeper, including keepers that registered after the engine started. From inside session
 * A, signalling session B's keeper fails and is logged; signalling A's own process works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { launcherPath } from '../../src/native/load.js';
import { fixtures, makeProject, makeSandbox, pidAlive, until, type Sandbox } from './supervisor-helpers.js';

let sb: Sandbox;
beforeAll(() => {
  sb = makeSandbox('keepers');
});
afterAll(() => sb.cleanup());

const t = (name: string, cmd: string) => `if ${cmd} >/dev/null 2>&1; then echo "${name} ok"; else echo "${name} fail"; fi`;

describe('keepers are protected across sessions', () => {
  it("session A cannot stop or kill session B's (later) keeper; it can kill its own process", { timeout: 90_000 }, async () => {
    const pa = makeProject(join(sb.home, 'pa'));
    const pb = makeProject(join(sb.home, 'pb'));
    const orders = join(sb.dir, 'orders.sh');
    const bDone = join(sb.dir, 'b.done');
    writeFileSync(orders, 'true\n');
    // A first: its engine exists before B's keeper registers.
    const runA = sb.spawnSbx(['shell', '--', 'sh', '-c', `while [ ! -s ${orders}.go ]; do sleep 0.05; done; . ${orders}`], { cwd: pa });
    const a = await until('session A live', () => sb.status().sessions.find((s) => s.cwd === pa), 30_000);
    const runB = sb.spawnSbx(['shell', '--', 'sh', '-c', `while [ ! -e ${bDone} ]; do sleep 0.05; done; echo b-done`], { cwd: pb });
    const b = await until('session B live', () => sb.status().sessions.find((s) => s.cwd === pb), 30_000);
    const keeperB = b.keeperPid;
    writeFileSync(
      orders,
      [
        'sleep 30 & mine=$!',
        t('stop-keeper-b', `kill -STOP ${keeperB}`),
        t('kill-keeper-b', `kill -9 ${keeperB}`),
        t('signal0-keeper-b', `kill -0 ${keeperB}`),
        t('proc-keeper-b', `cat /proc/${keeperB}/cmdline`),
        t('stop-own', 'kill -STOP $mine'),
        t('kill-own', 'kill -9 $mine'),
        t('proc-own', 'cat /proc/$mine/stat || true'),
      ].join('\n'),
    );
    writeFileSync(`${orders}.go`, 'go');
    const outA = await runA.done;
    expect(outA.stdout).toContain('stop-keeper-b fail');
    expect(outA.stdout).toContain('kill-keeper-b fail');
    expect(outA.stdout).toContain('signal0-keeper-b fail');
    expect(outA.stdout).toContain('proc-keeper-b fail');
    expect(outA.stdout).toContain('stop-own ok');
    expect(outA.stdout).toContain('kill-own ok');
    // B's keeper is alive and not stopped: B still runs to completion.
    expect(pidAlive(keeperB)).toBe(true);
    writeFileSync(bDone, '');
    const outB = await runB.done;
    expect(outB.stdout).toContain('b-done');
    expect(outB.code).toBe(0);
    const log = sb.log(a.id);
    expect(log.some((v) => v.op === 'signal' && v.target === String(keeperB) && v.kind === 'deny')).toBe(true);
  });
});

describe('a registration whose session cannot start', () => {
  it('a root process gone before it could be placed: the registration is refused and the supervisor serves on (twin: a live root is served)', { timeout: 60_000 }, async () => {
    const fake = join(fixtures, 'dead_root_keeper');
    expect(sb.sbx(['daemon', 'start']).code).toBe(0);
    const pid = sb.supervisorPid()!;
    const live = execaSync(fake, [sb.keeperSock, 'sfeed0000001', 'live'], { reject: false, timeout: 30_000 });
    expect(live.stdout.trim()).toBe('ready');
    for (let i = 0; i < 5; i++) {
      const dead = execaSync(fake, [sb.keeperSock, `sfeed000000${i + 2}`, 'dead'], { reject: false, timeout: 30_000 });
      expect(dead.stdout.trim()).toMatch(/^error .*cannot place the session's first process/);
    }
    // The engine of each refused session closed after the refusal: the supervisor is still
    // the same process and still answers.
    await new Promise((r) => setTimeout(r, 500));
    expect(sb.supervisorPid()).toBe(pid);
    expect(pidAlive(pid)).toBe(true);
    expect(sb.sbx(['daemon', 'status']).code).toBe(0);
  });

  it('an exec registration whose exec-start already failed is refused at once, not held (twin: one whose exec-start was built is served)', { timeout: 60_000 }, async () => {
    const fake = join(fixtures, 'dead_root_keeper');
    expect(sb.sbx(['daemon', 'start']).code).toBe(0);
    const control = join(sb.runtime, 'control.sock');
    const ask = (session: string, args: string[]) =>
      new Promise<string>((resolve, reject) => {
        const c = connect(control);
        let got = '';
        c.on('connect', () => c.write(`${JSON.stringify({ cmd: 'exec-start', v: 3, session, cwd: sb.home, args, env: Object.entries(sb.env).map(([k, v]) => `${k}=${v}`) })}\n`));
        c.on('data', (d) => {
          got += d.toString();
          if (got.includes('\n')) {
            c.destroy();
            resolve(got.split('\n')[0]!);
          }
        });
        c.on('error', reject);
      });
    expect(await ask('sfeed00000e1', ['--bogus-flag', '--', 'true'])).toMatch(/^\{"fallback":"unknown flag/);
    const started = Date.now();
    const late = execaSync(fake, [sb.keeperSock, 'sfeed00000e1', 'live', 'exec'], { reject: false, timeout: 30_000 });
    expect(late.stdout.trim()).toMatch(/^error sbx exec session sfeed00000e1: no policy was built for it/);
    expect(Date.now() - started).toBeLessThan(5_000);
    // Twin: a built exec-start, then its registration: served.
    expect(await ask('sfeed00000e2', ['--', 'true'])).toMatch(/^\{"session":"sfeed00000e2"/);
    const served = execaSync(fake, [sb.keeperSock, 'sfeed00000e2', 'live', 'exec'], { reject: false, timeout: 30_000 });
    expect(served.stdout.trim()).toBe('ready');
  });
});

describe('a session resumed without its state', () => {
  it("runs under the strictest policy, never its directory's: no project write or read (twin: a system file is read; a fresh session there writes)", { timeout: 60_000 }, async () => {
    const proj = makeProject(join(sb.home, 'stateless'));
    expect(sb.sbx(['daemon', 'start']).code).toBe(0);
    const script = [
      'if cat /etc/hostname >/dev/null; then echo system-read-ok; fi',
      'if echo changed > public.txt; then echo project-write-ok; else echo project-write-refused; fi',
      'if cat public.txt >/dev/null; then echo project-read-ok; else echo project-read-refused; fi',
    ].join('\n');
    const r = execaSync(join(fixtures, 'stateless_keeper'), [sb.keeperSock, 'sfeed00000f1', launcherPath(), '--', '/bin/sh', '-c', script], {
      cwd: proj,
      env: sb.env,
      extendEnv: false,
      reject: false,
      timeout: 30_000,
    });
    expect(r.stdout.split('\n')[0]).toBe('ready');
    expect(r.stdout).toContain('system-read-ok');
    expect(r.stdout).toContain('project-write-refused');
    expect(r.stdout).toContain('project-read-refused');
    expect(readFileSync(join(proj, 'public.txt'), 'utf8')).toBe('PUBLIC\n');
    // Twin: the directory's own policy (a fresh session) reads and writes the same file.
    const fresh = sb.sbx(['exec', '--', 'sh', '-c', 'cat public.txt && echo fresh > public.txt && echo fresh-write-ok'], { cwd: proj });
    expect(fresh.stdout).toContain('PUBLIC');
    expect(fresh.stdout).toContain('fresh-write-ok');
  });
});
