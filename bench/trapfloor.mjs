// Per-open cost of sbx against the crash-safe floor, side by side in one run.
//   node bench/trapfloor.mjs [--runs=9] [--n=20000] [--before=DIR] [--out=DIR]
// Columns (all run the same `syscalls open N FILE` loop, rounds interleaved so background
// load hits every column alike): unsandboxed; bench/c/min_unotify -m continue (trap round
// trip) and -m addfd-then-send (the crash-safe two-step injection floor; also with two
// answering threads, and with synchronous wake-ups, -s); `sbx exec` of --before (a frozen
// build of main, optional) and of this tree (also with one receiving thread,
// SBX_ENGINE_RECEIVERS=1). Prints Markdown and writes
// DIR/results.json. Nothing is asserted: medians, best runs, ratios and the load average.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildHelpers } from './lib/generate.mjs';
import { BIN, REPO } from './lib/paths.mjs';
import { benchEnv } from './lib/proc.mjs';

const opt = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const runs = Number(opt.runs ?? 9);
const n = Number(opt.n ?? 20000);
const out = opt.out ?? path.join(REPO, 'bench', 'results', 'trapfloor');
const { openTarget } = buildHelpers();
const loop = [path.join(BIN, 'syscalls'), 'open', String(n), openTarget];

const cols = [
  { id: 'none', label: 'unsandboxed', argv: loop },
  { id: 'min-continue', label: 'min_unotify -m continue (trap round trip)', argv: [path.join(BIN, 'min_unotify'), '-m', 'continue', '--', ...loop] },
  { id: 'floor', label: 'min_unotify -m addfd-then-send (crash-safe floor)', argv: [path.join(BIN, 'min_unotify'), '-m', 'addfd-then-send', '--', ...loop] },
  { id: 'floor-t2', label: 'min_unotify -t 2 -m addfd-then-send (the floor with two answering threads, as sbx has)', argv: [path.join(BIN, 'min_unotify'), '-t', '2', '-m', 'addfd-then-send', '--', ...loop] },
  { id: 'floor-sync', label: 'min_unotify -s -m addfd-then-send (the floor with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)', argv: [path.join(BIN, 'min_unotify'), '-s', '-m', 'addfd-then-send', '--', ...loop] },
];
if (opt.before) cols.push({ id: 'sbx-before', label: `sbx exec, ${opt.before}`, argv: [path.join(opt.before, 'bin', 'sbx'), 'exec', '--', ...loop] });
cols.push({ id: 'sbx', label: 'sbx exec, this tree', argv: [path.join(REPO, 'bin', 'sbx'), 'exec', '--', ...loop] });
cols.push({ id: 'sbx-1r', label: 'sbx exec, this tree, one receiving thread (SBX_ENGINE_RECEIVERS=1)', argv: [path.join(REPO, 'bin', 'sbx'), 'exec', '--', ...loop], env: { SBX_ENGINE_RECEIVERS: '1' } });

// One run under /usr/bin/time: the loop's own wall time per open, and the CPU time (user +
// system) of the whole tree — supervisor and program, which the kernel sums into the
// waited-for children. CPU time does not count waiting for a CPU, so on a loaded box it
// tracks the work done far better than wall time.
function once(c, argv = c.argv) {
  const r = spawnSync('/usr/bin/time', ['-f', 'CPU %U %S', ...argv], { env: { ...benchEnv(), ...c.env }, encoding: 'utf8', timeout: 300_000 });
  const m = /^(\d+) (\d+)/m.exec(r.stdout ?? '');
  const t = /^CPU ([\d.]+) ([\d.]+)$/m.exec(r.stderr ?? '');
  if (r.status !== 0 || !m || !t) throw new Error(`${c.id}: exit ${r.status}: ${(r.stderr ?? '').trim().slice(0, 200)}`);
  return { wall: Number(m[2]) / Number(m[1]), cpu: (Number(t[1]) + Number(t[2])) * 1e9 };
}
// CPU ns per open: the same command with the loop at 0 opens gives the start-up's CPU.
function measure(c) {
  const full = once(c);
  const empty = once(c, c.argv.map((a, i) => (a === String(n) && c.argv[i - 1] === 'open' ? '0' : a)));
  return { wall: full.wall, cpu: (full.cpu - empty.cpu) / n };
}

const times = Object.fromEntries(cols.map((c) => [c.id, []]));
const cpu = Object.fromEntries(cols.map((c) => [c.id, []]));
const loads = [];
for (let round = 0; round <= runs; round++) {
  loads.push(os.loadavg()[0]);
  for (const c of cols) {
    const r = measure(c);
    if (round > 0) times[c.id].push(r.wall), cpu[c.id].push(r.cpu); // round 0 warms caches up
  }
  process.stderr.write(`round ${round}/${runs}: ${cols.map((c) => `${c.id} ${(times[c.id].at(-1) / 1000 || 0).toFixed(2)}/${(cpu[c.id].at(-1) / 1000 || 0).toFixed(2)}`).join(', ')}\n`);
}
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const us = (ns) => `${(ns / 1000).toFixed(2)} µs`;
const med = Object.fromEntries(cols.map((c) => [c.id, median(times[c.id])]));
const best = Object.fromEntries(cols.map((c) => [c.id, Math.min(...times[c.id])]));
// Per round ratios to the floor (same round = same load), then their median.
const ratio = (id, of = times) => median(of[id].map((t, i) => t / of.floor[i]));
const cmed = Object.fromEntries(cols.map((c) => [c.id, median(cpu[c.id])]));

const lines = [
  `Loop: \`syscalls open ${n} ${path.relative(REPO, openTarget)}\` (open+close of one small file by absolute path), ${runs} interleaved rounds after a warm-up, ${os.cpus().length} CPUs, load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} (1 min) during the run.`,
  '',
  'Wall: the loop\'s own clock per open+close. CPU: user+system time of supervisor and program together per open+close (the run with 0 opens subtracted), which leaves out time spent waiting for a CPU. Ratios: median over rounds of this column / the floor in the same round.',
  '',
  '| column | wall (median) | wall best | wall vs floor | CPU (median) | CPU vs floor |',
  '|---|---|---|---|---|---|',
  ...cols.map((c) => `| ${c.label} | ${us(med[c.id])} | ${us(best[c.id])} | ${c.id === 'none' ? '' : `${ratio(c.id).toFixed(2)}x`} | ${us(cmed[c.id])} | ${c.id === 'none' ? '' : `${ratio(c.id, cpu).toFixed(2)}x`} |`),
];
console.log(lines.join('\n'));
fs.mkdirSync(out, { recursive: true });
const tag = opt.tag ?? new Date().toISOString().replace(/[:.]/g, '-');
fs.writeFileSync(path.join(out, `run-${tag}.json`), JSON.stringify({ n, runs, loads, columns: cols.map(({ id, label }) => ({ id, label })), wall_ns: times, cpu_ns: cpu, median_wall_ns: med, best_wall_ns: best, median_cpu_ns: cmed, wall_ratio_to_floor: Object.fromEntries(cols.map((c) => [c.id, ratio(c.id)])), cpu_ratio_to_floor: Object.fromEntries(cols.map((c) => [c.id, ratio(c.id, cpu)])) }, null, 1));
fs.writeFileSync(path.join(out, `run-${tag}.md`), `${lines.join('\n')}\n`);
