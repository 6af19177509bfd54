// Measuring primitives. Other work may share the machine, so runs are interleaved: each
// round runs every column once (round 0 is a discarded warm-up), and load drifts hit all
// columns alike. A column that fails once is n/a with the reason, never a number.
import fs from 'node:fs';
import path from 'node:path';
import { BIN, WORK } from './paths.mjs';
import { column } from './columns.mjs';
import { RunError, run, tryRun } from './proc.mjs';
import { summarize } from './stats.mjs';

/** One timed run of workload `cmd` inside one start of the column (bin/timeit excludes start-up). */
export function oneInside(col, cmd, cwd) {
  const out = run([...col.prefix(), path.join(BIN, 'timeit'), '1', '--', ...cmd], { cwd, timeoutMs: 600_000 });
  const ns = Number(out.trim());
  if (!Number.isFinite(ns) || ns <= 0) throw new RunError(`timeit printed ${JSON.stringify(out.slice(0, 80))}`);
  return { ns };
}

/**
 * What one run of workload `cmd` makes an sbx session's engine decide: bin/timeit reads the
 * session's counters (the inside ask channel) before and after one run. The "after" read is
 * itself one trapped open, taken off. Returns { total, opens, execs, other, bySyscall,
 * verified: { afterExec, firstSight } }.
 */
export function countTraps(col, cmd, cwd) {
  const out = run([...col.prefix(), path.join(BIN, 'timeit'), '-s', '/proc/self/sbx/ask/status', '1', '--', ...cmd], { cwd, timeoutMs: 600_000 });
  const line = (tag) => {
    const l = out.split('\n').find((x) => x.startsWith(`${tag} `));
    if (!l) throw new RunError(`timeit -s printed no ${tag} line`);
    const s = JSON.parse(l.slice(tag.length + 1)).sessions?.[0];
    if (!s?.traps) throw new RunError('the session status has no trap counters (sbx older than this bench)');
    return s;
  };
  const a = line('before'), b = line('after');
  const bySyscall = {};
  for (const [k, v] of Object.entries(b.traps)) if (v - (a.traps[k] ?? 0) > 0) bySyscall[k] = v - (a.traps[k] ?? 0);
  bySyscall.openat = (bySyscall.openat ?? 1) - 1; // timeit's own "after" read
  if (!bySyscall.openat) delete bySyscall.openat;
  const sum = (keys) => keys.reduce((t, k) => t + (bySyscall[k] ?? 0), 0);
  const total = sum(Object.keys(bySyscall));
  const opens = sum(['open', 'openat', 'openat2', 'creat']);
  const execs = sum(['execve', 'execveat']);
  return {
    total, opens, execs, other: total - opens - execs, bySyscall,
    verified: { afterExec: b.verified.afterExec - a.verified.afterExec, firstSight: b.verified.firstSight - a.verified.firstSight },
  };
}

/** One run of bin/syscalls ARGS under the column; the loop times itself ("<ops> <ns>"). */
export function oneLoop(col, args) {
  const out = run([...col.prefix(), path.join(BIN, 'syscalls'), ...args], { timeoutMs: 300_000 });
  const [ops, ns] = out.trim().split(/\s+/).map(Number);
  if (!Number.isFinite(ns) || !ops) throw new RunError(`syscalls printed ${JSON.stringify(out.slice(0, 80))}`);
  return { ns, ops };
}

/**
 * runs+1 rounds over the columns. Round 0 warms the page cache with the first column only
 * (unsandboxed): what is timed runs inside the sandbox, so a sandbox's own start-up caches
 * never reach the figure. sample(col) → { ns, ops? }.
 * Returns { [colId]: summary (+ per_op_ns, ops_per_s when ops) | { na } }.
 */
export function rounds(colIds, runs, sample, onDone = () => {}, { late = () => false } = {}) {
  const got = Object.fromEntries(colIds.map((id) => [id, []]));
  const res = {};
  let ops = 0;
  for (let r = 0; r <= runs; r++) {
    if (r > 1 && late()) break; // time limit: keep the rounds done (cells say how many)
    // Rotate the order each round so no column always runs right after the same neighbour.
    const order = r === 0 ? colIds.slice(0, 1) : colIds.map((_, i) => colIds[(i + r - 1) % colIds.length]);
    for (const id of order) {
      if (res[id]) continue; // already n/a
      try {
        const s = sample(column(id));
        if (r > 0) got[id].push(s.ns);
        if (s.ops) ops = s.ops;
      } catch (e) {
        res[id] = { na: e instanceof RunError ? e.message : String(e) };
      }
    }
  }
  for (const id of colIds) {
    if (!res[id]) {
      const s = summarize(got[id]);
      res[id] = ops ? { ...s, ops, per_op_ns: s.median_ns / ops, ops_per_s: ops / (s.median_ns / 1e9) } : s;
    }
    onDone(id, res[id]);
  }
  return res;
}

/** Launch cost of whole commands with hyperfine (-N: no shell in between). */
export function launchCost(commands, { runs }) {
  const out = path.join(WORK, 'hyperfine.json');
  const result = {};
  for (const [id, argv] of Object.entries(commands)) {
    fs.rmSync(out, { force: true });
    const cmdline = argv.join(' ');
    const r = tryRun(['hyperfine', '-N', '--warmup', '2', '--runs', String(Math.max(runs, 10)), '--export-json', out, cmdline], { timeoutMs: 300_000 });
    if (!r.ok) {
      result[id] = { na: r.reason, command: cmdline };
      continue;
    }
    const times = JSON.parse(fs.readFileSync(out, 'utf8')).results[0].times.map((s) => s * 1e9);
    result[id] = { ...summarize(times), command: cmdline };
  }
  return result;
}
