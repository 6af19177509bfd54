// What one decision costs the supervisor: attach strace to the supervisor while a sandboxed
// open loop runs, and count its syscalls per reply (NOTIF_SEND, or ADDFD with FLAG_SEND).
// strace slows everything down; the counts per decision stay valid, the timing is not used.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, SBX, WORK } from './paths.mjs';
import { benchEnv, tryRun } from './proc.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function children(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).flatMap((t) =>
      fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return [];
  }
}
function descendants(pid) {
  const out = [];
  for (const c of children(pid)) out.push(c, ...descendants(c));
  return out;
}
const comm = (pid) => { try { return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return ''; } };

/** The process that answers notifications for this column (and its RSS when sbx reports it). */
function supervisorOf(colId, spawned) {
  if (colId !== 'sbx-shell') return { pid: spawned }; // min_unotify and `sbx exec` answer in-process
  const r = tryRun([SBX, 'status', '--json'], { timeoutMs: 20_000 });
  if (!r.ok) return { pid: null };
  try {
    const st = JSON.parse(r.out);
    return { pid: st?.supervisor?.pid ?? null, rssBytes: st?.supervisor?.rssBytes, sessions: st?.sessions?.length };
  } catch { return { pid: null }; }
}

/** mode 'open': cost per decision. mode 'stat': how many decisions a stat loop causes (should be 0). */
export async function profileColumn(col, target, { windowMs = 1500, mode = 'open' } = {}) {
  const argv = [...col.prefix(), path.join(BIN, 'syscalls'), mode, '1000000000', target];
  const child = spawn(argv[0], argv.slice(1), { cwd: WORK, env: benchEnv(), stdio: 'ignore' });
  const exited = new Promise((r) => child.on('exit', r));
  try {
    let loop = null;
    // `sbx shell` execs the launcher, which execs the program: the loop may be the pid we spawned.
    for (let i = 0; i < 300 && !loop; i++) {
      await sleep(100);
      loop = [child.pid, ...descendants(child.pid)].find((p) => comm(p) === 'syscalls') ?? null;
    }
    if (!loop) return { na: 'the open loop did not start within 30 s' };
    await sleep(300);
    const { pid: sup, rssBytes, sessions } = supervisorOf(col.id, child.pid);
    if (!sup) return { na: 'no supervisor pid (sbx status --json)' };
    const out = path.join(WORK, `strace-${col.id}.txt`);
    spawnSync('strace', ['-f', '-qq', '-p', String(sup), '-o', out], { timeout: windowMs, killSignal: 'SIGINT' });
    const counts = {};
    let decisions = 0, total = 0, failed = 0;
    const failedBy = {};
    for (const line of fs.readFileSync(out, 'utf8').split('\n')) {
      const m = /^\d+\s+(\w+)\(/.exec(line);
      if (!m) continue; // "<... resumed>" and exit lines
      total++;
      counts[m[1]] = (counts[m[1]] ?? 0) + 1;
      // A call that failed (EAGAIN/ENOENT on a notification another thread took, …) is wasted work.
      if (/\) = -1 E/.test(line)) { failed++; failedBy[m[1]] = (failedBy[m[1]] ?? 0) + 1; }
      if (/SECCOMP_IOCTL_NOTIF_SEND|SECCOMP_IOCTL_NOTIF_ADDFD.*SECCOMP_ADDFD_FLAG_SEND/.test(line)) decisions++;
    }
    fs.rmSync(out, { force: true });
    if (mode === 'stat') return { mode, decisions, supervisor_syscalls: total, window_ms: windowMs };
    if (!decisions) return { na: `no replies seen in ${windowMs} ms of strace` };
    const perDecision = Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, +(v / decisions).toFixed(2)]));
    const per = (o) => Object.fromEntries(Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, +(v / decisions).toFixed(2)]));
    const rss = rssBytes ? { supervisor_rss_mb: +(rssBytes / 2 ** 20).toFixed(1), sessions } : {};
    return { ...rss, decisions, syscalls_per_decision: +(total / decisions).toFixed(2), failed_per_decision: +(failed / decisions).toFixed(2), per_decision: perDecision, failed_by: per(failedBy) };
  } finally {
    for (const p of [child.pid, ...descendants(child.pid)].reverse()) if (comm(p) === 'syscalls') try { process.kill(p, 'SIGTERM'); } catch {}
    const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!done) try { child.kill('SIGKILL'); } catch {}
  }
}
