/**
 * The daemon's life: started on demand (one winner among racing starters), sbx shell as a
 * one-shot session, status/log, sessions that end leaving nothing, stop refused while
 * sessions live, and fail-closed when no supervisor can be had.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa, execaSync } from 'execa';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launcher, makeProject, makeSandbox, pidAlive, sbxBin, until, type Sandbox } from './supervisor-helpers.js';

let sb: Sandbox;
beforeAll(() => {
  sb = makeSandbox('daemon');
});
afterAll(() => sb.cleanup());

describe('supervisor daemon', () => {
  it('is started on demand by sbx shell; sbx shell -- sh -c runs a one-shot session with its exit code', () => {
    expect(sb.sbx(['daemon', 'status']).code).toBe(3);
    const r = sb.sbx(['shell', '--', 'sh', '-c', 'echo "in session $SBX_SESSION"; cat /etc/hostname >/dev/null && echo read-ok; exit 7']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^in session s[0-9a-f]+\nread-ok\n$/);
    expect(r.code).toBe(7);
    const pid = sb.supervisorPid();
    expect(pid).toBeGreaterThan(0);
    expect(pidAlive(pid!)).toBe(true);
    // Runtime dir is private.
    expect(statSync(sb.runtime).mode & 0o777).toBe(0o700);
    expect(sb.sbx(['daemon', 'status']).stdout).toContain(`pid ${pid}`);
  });

  it('racing starters agree on one supervisor (spawn lock)', { timeout: 60_000 }, async () => {
    sb.sbx(['daemon', 'stop', '--force']);
    await until('old supervisor gone', () => sb.sbx(['daemon', 'status']).code === 3);
    const starters = Array.from({ length: 5 }, () => sb.spawnSbx(['daemon', 'start', '--json']));
    const results = await Promise.all(starters.map((s) => s.done));
    const pids = new Set(results.map((r) => JSON.parse(r.stdout).pid as number));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0, 0]);
    expect(pids.size).toBe(1);
    expect(results.filter((r) => JSON.parse(r.stdout).started).length).toBe(1);
  });

  it('two supervisors started at the same moment: one serves, the other says so and leaves (the kernel decides: supervisor.lock)', { timeout: 60_000 }, async () => {
    sb.sbx(['daemon', 'stop', '--force']);
    await until('old supervisor gone', () => sb.sbx(['daemon', 'status']).code === 3);
    const run = () => execa(process.execPath, [sbxBin, 'daemon', 'run'], { env: sb.env, extendEnv: false, reject: false, cwd: '/' });
    const [a, b] = [run(), run()];
    const pid = await until('a supervisor answers', () => sb.supervisorPid() && sb.sbx(['daemon', 'status']).code === 0 && sb.supervisorPid());
    // The loser exits by itself; the winner serves on.
    const which = await Promise.race([a.then(() => 0), b.then(() => 1)]);
    const [loserP, winner] = which === 0 ? [a, b] : [b, a];
    const loser = await loserP;
    expect(loser.exitCode).not.toBe(0);
    expect(loser.stderr).toContain(`a supervisor already serves ${sb.runtime}`);
    expect(sb.supervisorPid()).toBe(pid);
    expect(pidAlive(pid!)).toBe(true);
    expect(winner.pid).toBe(pid);
    sb.sbx(['daemon', 'stop', '--force']);
    await winner;
  });

  it('status shows live sessions with policy origin and counts; a denial is counted and logged, its twin is not', { timeout: 60_000 }, async () => {
    const proj = makeProject(join(sb.home, 'proj'));
    const s = sb.spawnSbx(['shell', '--', 'sh', '-c', 'cat public.txt; cat secret.txt; echo done; exec sleep 60'], { cwd: proj });
    const session = await until('session in status', () =>
      sb.status().sessions.find((x) => x.cwd === proj && x.denials >= 1),
    );
    expect(session.policy).toContain(join(proj, '.sbx.yaml'));
    expect(session.decisions).toBeGreaterThan(session.denials);
    const st = sb.status();
    expect(st.supervisor.pid).toBe(sb.supervisorPid());
    expect(st.supervisor.rssBytes).toBeGreaterThan(1e6);
    const log = sb.log(session.id);
    expect(log.some((v) => v.kind === 'deny' && v.target === join(proj, 'secret.txt') && v.rule.includes('.sbx.yaml'))).toBe(true);
    expect(log.some((v) => v.target === join(proj, 'public.txt'))).toBe(false);
    // Human formats too.
    expect(sb.sbx(['status']).stdout).toContain(session.id);
    expect(sb.sbx(['log', '--session', session.id]).stdout).toContain('secret.txt');
    // The JSONL file has it as well.
    expect(existsSync(join(sb.state, 'violations.jsonl'))).toBe(true);

    // stop is refused while a session lives (its keeper would just start a new one).
    const stop = sb.sbx(['daemon', 'stop']);
    expect(stop.code).toBe(69);
    expect(stop.stderr).toContain('live session');

    process.kill(session.rootPid, 'SIGKILL');
    const out = await s.done;
    expect(out.stdout).toBe('PUBLIC\ndone\n');
    expect(out.stderr).toContain('secret.txt: Permission denied');
    // The session ends with its last process and leaves nothing behind: no entry, no keeper.
    await until('session gone', () => !sb.status().sessions.some((x) => x.id === session.id));
    await until('keeper gone', () => !pidAlive(session.keeperPid));
  });

  it('sbx log -f follows new violations', async () => {
    const proj = makeProject(join(sb.home, 'follow'));
    const f = sb.spawnSbx(['log', '-f', '--json', '-n', '0']);
    // Give the follower time to subscribe (a miss would fail the test, not pass it).
    await new Promise((r) => setTimeout(r, 1500));
    sb.sbx(['shell', '--', 'sh', '-c', 'cat secret.txt; cat public.txt'], { cwd: proj });
    let seen = '';
    f.child.stdout!.on('data', (d: string) => (seen += d));
    await until('violation streamed', () => seen.includes(join(proj, 'secret.txt')) || f.child.exitCode !== null);
    f.child.kill();
    expect(seen).toContain(join(proj, 'secret.txt'));
    expect(seen).not.toContain(join(proj, 'public.txt'));
  });

  it('fails closed: with no supervisor to be had the launcher exits 126 and never runs the program; the twin runs', { timeout: 60_000 }, () => {
    const marker = join(sb.dir, 'ran');
    // A socket nobody serves and an "sbx" that cannot start one.
    const bogus = join(sb.dir, 'nobody.sock');
    const r = spawnLauncher(bogus, '/bin/false', ['sh', '-c', `touch ${marker}`]);
    expect(r.code).toBe(126);
    expect(r.stderr).toMatch(/no supervisor answered|supervisor/);
    expect(existsSync(marker)).toBe(false);
    // Allowed twin: the real socket.
    const ok = spawnLauncher(sb.keeperSock, sbxBin, ['sh', '-c', `touch ${marker}`]);
    expect(ok.code).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });

  it('a session whose policy file is broken still starts, under the strict fallback, and says file:line; the twin with a good one applies it', () => {
    const bad = join(sb.home, 'broken');
    makeProject(bad, 'version: 1\nread:\n  deny: [unclosed\n');
    const r = sb.sbx(['shell', '--', 'sh', '-c', 'echo RAN; cat secret.txt; cat public.txt'], { cwd: bad });
    expect(r.stdout).toBe('RAN\nSECRET\nPUBLIC\n'); // the fallback keeps the project readable (never the defaults: see supervisor-trust)
    expect(r.code).toBe(0);
    expect(sb.log().some((v) => v.op === 'policy' && v.target === join(bad, '.sbx.yaml') && /\.sbx\.yaml:\d+:\d+: .*strict fallback/.test(v.rule))).toBe(true);
    writeFileSync(join(bad, '.sbx.yaml'), 'version: 1\nread:\n  deny: ["secret.txt"]\n');
    const ok = sb.sbx(['shell', '--', 'sh', '-c', 'echo RAN; cat secret.txt; cat public.txt'], { cwd: bad });
    expect(ok.stdout).toBe('RAN\nPUBLIC\n');
  });
});

function spawnLauncher(sock: string, sbx: string, argv: string[]): { code: number; stderr: string } {
  const r = execaSync(launcher, ['--session', sock, '--sbx', sbx, '--', ...argv], { env: sb.env, extendEnv: false, stripFinalNewline: false, reject: false, timeout: 30_000 });
  return { code: r.exitCode ?? 128, stderr: r.stderr };
}
