#!/usr/bin/env node
// Supervisor figures (not a test; never fails on speed):
//   - decision latency: one trapped open+close, unsandboxed vs inside a session, with 1
//     session and with 50 (49 idle, and all 50 busy);
//   - supervisor RSS: no session, 1 idle, 50 idle, 50 busy;
//   - crash recovery: longest stall a busy session sees across `kill -9` of the supervisor;
//   - live reload: time from writing .sbx.yaml to the running session enforcing it.
// Usage: node bench/supervisor-latency.mjs [--sessions=50] [--ops=20000]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPO = path.resolve(import.meta.dirname, '..');
const SBX = path.join(REPO, 'bin', 'sbx');
const LAUNCH = path.join(REPO, 'native', 'unotify', 'build', 'Release', 'sbx-launch');
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const SESSIONS = Number(args.sessions ?? 50);
const OPS = Number(args.ops ?? 20000);

const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'supbench-')));
const home = path.join(dir, 'home');
const proj = path.join(home, 'p');
for (const d of ['run', 'state', 'config', 'home/p']) fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o700 });
fs.writeFileSync(path.join(proj, '.sbx.yaml'), 'version: 1\nread:\n  deny: ["nothing"]\n');
fs.writeFileSync(path.join(proj, 'public.txt'), 'PUBLIC\n');
fs.writeFileSync(path.join(proj, 'secret.txt'), 'SECRET\n');
const env = {
  PATH: process.env.PATH,
  HOME: home,
  XDG_RUNTIME_DIR: path.join(dir, 'run'),
  XDG_STATE_HOME: path.join(dir, 'state'),
  XDG_CONFIG_HOME: path.join(dir, 'config'),
  LANG: 'C',
};
const keeperSock = path.join(dir, 'run', 'sbx', 'keeper.sock');

// One C helper: `lat N FILE` (ns per open+close, median of 20 chunks), `busy MS FILE`
// (opens until MS elapse; prints the longest gap between two opens in ms), `until-denied
// FILE` (polls; prints CLOCK_REALTIME ms of the first EACCES).
const C = `
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static double now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }
int main(int argc, char **argv) {
  if (!strcmp(argv[1], "lat")) {
    long n = atol(argv[2]); double chunk[20];
    for (int c = 0; c < 20; c++) {
      double t0 = now(CLOCK_MONOTONIC);
      for (long i = 0; i < n / 20; i++) { int fd = open(argv[3], O_RDONLY); if (fd < 0) { perror("open"); return 1; } close(fd); }
      chunk[c] = (now(CLOCK_MONOTONIC) - t0) * 1e6 / (n / 20);
    }
    qsort(chunk, 20, sizeof chunk[0], cmp);
    printf("%.0f\\n", chunk[10]);
  } else if (!strcmp(argv[1], "busy")) {
    double end = now(CLOCK_MONOTONIC) + atof(argv[2]), last = now(CLOCK_MONOTONIC), gap = 0;
    while (last < end) { int fd = open(argv[3], O_RDONLY); if (fd < 0) { perror("open"); return 1; } close(fd);
      double t = now(CLOCK_MONOTONIC); if (t - last > gap) gap = t - last; last = t; }
    printf("%.1f\\n", gap);
  } else {
    for (;;) { int fd = open(argv[2], O_RDONLY); if (fd < 0 && errno == EACCES) break; if (fd >= 0) close(fd); usleep(500); }
    printf("%.1f\\n", now(CLOCK_REALTIME));
  }
  return 0;
}`;
const helper = path.join(dir, 'suphelper');
fs.writeFileSync(`${helper}.c`, C);
execFileSync('cc', ['-O2', '-o', helper, `${helper}.c`]);

const sbx = (...a) => spawnSync(SBX, a, { env, cwd: home, encoding: 'utf8' });
const status = () => JSON.parse(sbx('status', '--json').stdout);
const rssMiB = () => (status().supervisor.rssBytes / 1048576).toFixed(1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function session(argv) {
  const child = spawn(LAUNCH, ['--session', keeperSock, '--sbx', SBX, '--', ...argv], { env, cwd: proj, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return { child, done: new Promise((r) => child.on('close', () => r(out.trim()))) };
}
async function waitSessions(n) {
  for (;;) {
    const s = status().sessions;
    if (s.length >= n && s.every((x) => x.decisions > 0)) return;
    step(`waiting: ${s.length}/${n} sessions, ${s.filter((x) => x.decisions === 0).length} without decisions`);
    await sleep(100);
  }
}
const file = path.join(proj, 'public.txt');
const results = {};
const step = (s) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);

step('start');
sbx('daemon', 'start');
results.rssNoSession = rssMiB();
results.latUnsandboxedNs = Number(execFileSync(helper, ['lat', String(OPS), file], { encoding: 'utf8' }));

// 1 session.
step('1 session');
const one = await session([helper, 'lat', String(OPS), file]).done;
results.lat1SessionNs = Number(one);
const idle1 = session(['sh', '-c', 'cat public.txt >/dev/null; exec sleep 1000']);
await waitSessions(1);
results.rss1Idle = rssMiB();

step('50 sessions');
// 50 sessions: 49 more idle, then a measurement in one more.
const idle = [idle1];
for (let i = 1; i < SESSIONS; i++) idle.push(session(['sh', '-c', 'cat public.txt >/dev/null; exec sleep 1000']));
await waitSessions(SESSIONS);
results.rss50Idle = rssMiB();
results.lat50IdleNs = Number(await session([helper, 'lat', String(OPS), file]).done);
for (const s of idle) s.child.kill('SIGKILL');
for (;;) {
  if (status().sessions.length === 0) break;
  await sleep(100);
}
step('50 busy');
// All 50 busy at once: median of their medians.
const busy = Array.from({ length: SESSIONS }, () => session([helper, 'lat', String(OPS), file]));
await sleep(500);
results.rss50Busy = rssMiB();
const lats = (await Promise.all(busy.map((b) => b.done))).map(Number).sort((a, b) => a - b);
results.lat50BusyMedianNs = lats[Math.floor(lats.length / 2)];

step('crash');
// Crash recovery: a busy session across kill -9.
const crash = session([helper, 'busy', '4000', file]);
await waitSessions(1);
await sleep(800);
const t0 = Date.now();
process.kill(status().supervisor.pid, 'SIGKILL');
results.crashLongestStallMs = Number(await crash.done);
results.crashNote = `kill -9 at +${Date.now() - t0}ms before the workload ended`;

step('reload');
// Live reload: write the file, measure when the running session first sees the denial.
const probe = session([helper, 'until-denied', path.join(proj, 'secret.txt')]);
await waitSessions(1);
await sleep(500);
const wrote = Date.now();
fs.writeFileSync(path.join(proj, '.sbx.yaml'), 'version: 1\nread:\n  deny: ["secret.txt"]\n');
results.reloadMs = (Number(await probe.done) - wrote).toFixed(1);

sbx('daemon', 'stop', '--force');
fs.rmSync(dir, { recursive: true, force: true });
const r = results;
const ratio = (x) => (x / r.latUnsandboxedNs).toFixed(1);
console.log(`supervisor bench (${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}; ${OPS} opens per run)
  open+close unsandboxed           ${r.latUnsandboxedNs} ns
  inside, 1 session                ${r.lat1SessionNs} ns  (${ratio(r.lat1SessionNs)}x)
  inside, 1 of 50 (49 idle)        ${r.lat50IdleNs} ns  (${ratio(r.lat50IdleNs)}x)
  inside, 50 busy (median)         ${r.lat50BusyMedianNs} ns  (${ratio(r.lat50BusyMedianNs)}x)
  supervisor RSS: none ${r.rssNoSession} MiB, 1 idle ${r.rss1Idle} MiB, 50 idle ${r.rss50Idle} MiB, 50 busy ${r.rss50Busy} MiB
  kill -9 mid-workload: longest stall seen by the session ${r.crashLongestStallMs} ms
  live reload: edit → enforced in the running session ${r.reloadMs} ms`);
console.log(JSON.stringify(results));
