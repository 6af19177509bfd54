#!/usr/bin/env node
// `npm run bench`: sbx side by side with no sandbox, mise, sandbox-runtime (srt) and bwrap.
// Writes bench/results/latest.md and latest.json. Reports medians and ratios; never fails on speed.
// Options: --runs=N (default 5)  --only=a,b (sections/workloads: open100k,tsc,git-status,make,
//   launches,syscalls,launch,decisions,profile,extras)  --columns=none,sbx-shell,...  --procs=1,2,4,8
//   --out=DIR (default bench/results)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { COLUMNS, MIN_UNOTIFY, column, probe, writeSrtSettings } from './lib/columns.mjs';
import { budgets } from './lib/budgets.mjs';
import { findExtras, runExtra } from './lib/extras.mjs';
import { buildHelpers } from './lib/generate.mjs';
import { machine, versions } from './lib/machine.mjs';
import { launchCost, oneInside, oneLoop, rounds } from './lib/measure.mjs';
import { profileColumn } from './lib/profile.mjs';
import { MISE, REPO, RESULTS, SBX, SRT, SRT_SETTINGS, BIN } from './lib/paths.mjs';
import { tryRun } from './lib/proc.mjs';
import { renderMarkdown } from './lib/report.mjs';
import { fmtNs } from './lib/stats.mjs';
import { WORKLOADS } from './lib/workloads.mjs';

function parseArgs(argv) {
  const opt = { runs: 5, only: null, columns: null, procs: [1, 2, 4, 8], out: RESULTS, argv };
  for (const a of argv) {
    const [k, v] = a.split(/=(.*)/s);
    if (k === '--runs') opt.runs = Math.max(1, parseInt(v, 10));
    else if (k === '--only') opt.only = new Set(v.split(','));
    else if (k === '--columns') opt.columns = new Set(v.split(','));
    else if (k === '--procs') opt.procs = v.split(',').map(Number);
    else if (k === '--out') opt.out = path.resolve(v);
    else {
      process.stderr.write(`bench: unknown option ${a}\nusage: node bench/run.mjs [--runs=N] [--only=LIST] [--columns=LIST] [--procs=1,2,4,8] [--out=DIR]\n`);
      process.exit(2);
    }
  }
  return opt;
}

const log = (s) => process.stderr.write(`bench: ${s}\n`);
const want = (opt, id) => !opt.only || opt.only.has(id);

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const loadStart = os.loadavg();
  const { openTarget } = buildHelpers();
  writeSrtSettings();

  // Which columns can run at all right now (sbx pieces may still be in progress).
  const columns = {};
  for (const c of [...COLUMNS, MIN_UNOTIFY]) {
    if (opt.columns && !opt.columns.has(c.id) && c.id !== 'none') continue;
    columns[c.id] = probe(c);
    log(`column ${c.id}: ${columns[c.id].ok ? 'ok' : `n/a (${columns[c.id].reason})`}`);
  }
  const runnable = (ids) => ids.filter((id) => columns[id]?.ok);
  const logCell = (what, id, r) =>
    log(`${what} × ${id}: ${r.na ? `n/a (${r.na})` : r.ops ? `${fmtNs(r.per_op_ns)}/op, ${Math.round(r.ops_per_s)}/s` : fmtNs(r.median_ns)}`);

  const res = { date: new Date().toISOString(), machine: machine(), versions: versions(), options: { runs: opt.runs, procs: opt.procs, argv: opt.argv }, columns };

  const tableCols = COLUMNS.filter((c) => columns[c.id]).map((c) => c.id);
  const picked = WORKLOADS.filter((w) => want(opt, w.id));
  if (picked.length) {
    res.workloads = {};
    for (const w of picked) {
      const { cmd, cwd, note } = w.prepare();
      const cells = rounds(runnable(tableCols), opt.runs, (c) => oneInside(c, cmd, cwd), (id, r) => logCell(w.id, id, r));
      for (const id of tableCols) cells[id] ??= { na: columns[id].reason };
      res.workloads[w.id] = { title: w.title, note, command: cmd.join(' '), cells };
    }
  }

  const loopCols = ['none', 'min-unotify', 'sbx-shell', 'sbx-exec'].filter((id) => columns[id]);
  if (want(opt, 'syscalls')) {
    const n = 100_000;
    res.syscalls = { n, columns: loopCols };
    for (const kind of ['open', 'stat']) {
      res.syscalls[kind] = {};
      const r = rounds(runnable(loopCols), opt.runs, (c) => oneLoop(c, [kind, String(n), openTarget]), (id, x) => logCell(`${kind} loop`, id, x));
      for (const id of loopCols) res.syscalls[kind][id] = r[id] ?? { na: columns[id].reason };
    }
  }

  if (want(opt, 'launch')) {
    const short = (argv) => argv.join(' ').replaceAll(`${REPO}/`, '').replaceAll(path.dirname(SRT_SETTINGS) + '/', 'bench/work/');
    const cmds = {
      none: ['/bin/true'],
      'min-unotify': [path.join(BIN, 'min_unotify'), '--', '/bin/true'],
      'sbx-exec': [SBX, 'exec', '--', '/bin/true'],
      'sbx-exec-deny-all': [SBX, 'exec', '--deny-all', '--', '/bin/true'],
      'sbx-shell': [SBX, 'shell', '--', '/bin/true'],
      mise: [MISE, 'x', '--deny-all', '--', '/bin/true'],
      srt: [SRT, '--settings', SRT_SETTINGS, '--', '/bin/true'],
      bwrap: [...column('bwrap').prefix(), '/bin/true'],
    };
    const colOf = (id) => id.replace(/-deny-all$/, '');
    const launchable = Object.fromEntries(Object.entries(cmds).filter(([id]) => columns[colOf(id)]?.ok));
    res.launch = launchCost(launchable, { runs: opt.runs });
    for (const [id, argv] of Object.entries(cmds)) {
      const col = columns[colOf(id)];
      if (!col) continue;
      if (!col.ok) res.launch[id] = { na: col.reason, command: argv.join(' ') };
      res.launch[id].display = short(argv);
      log(`launch ${id}: ${res.launch[id].na ? `n/a (${res.launch[id].na})` : fmtNs(res.launch[id].median_ns)}`);
    }
  }

  if (want(opt, 'decisions')) {
    const n = 5000;
    res.decisions = { n, columns: loopCols, byK: {} };
    for (const k of opt.procs) {
      const row = rounds(runnable(loopCols), opt.runs, (c) => oneLoop(c, ['procs', String(k), String(n), openTarget]), (id, x) => logCell(`decisions K=${k}`, id, x));
      for (const id of loopCols) row[id] ??= { na: columns[id].reason };
      res.decisions.byK[k] = row;
    }
  }

  if (want(opt, 'profile')) {
    res.profile = {};
    for (const id of ['min-unotify', 'sbx-exec', 'sbx-shell'].filter((x) => columns[x])) {
      res.profile[id] = columns[id].ok ? await profileColumn(column(id), openTarget) : { na: columns[id].reason };
      const p = res.profile[id];
      log(`profile ${id}: ${p.na ? `n/a (${p.na})` : `${p.syscalls_per_decision} supervisor syscalls per decision`}`);
    }
  }

  if (want(opt, 'extras')) {
    res.extras = findExtras().map((f) => {
      log(`running ${path.basename(f)}`);
      return runExtra(f, { runs: opt.runs });
    });
  }

  // Leave no sbx supervisor of ours running (it lives in the scratch XDG_RUNTIME_DIR).
  if (columns['sbx-shell']?.ok) {
    tryRun([SBX, 'daemon', 'stop'], { timeoutMs: 20_000 });
  }

  res.seconds = (Date.now() - t0) / 1000;
  res.loadavg = { start: loadStart, end: os.loadavg() };
  res.budgets = budgets(res);
  fs.mkdirSync(opt.out, { recursive: true });
  fs.writeFileSync(path.join(opt.out, 'latest.json'), `${JSON.stringify(res, null, 2)}\n`);
  fs.writeFileSync(path.join(opt.out, 'latest.md'), renderMarkdown(res));
  log(`wrote ${path.join(opt.out, 'latest.md')} and latest.json in ${res.seconds.toFixed(0)} s`);
  for (const b of res.budgets) log(`budget ${b.id}: ${b.status} ${b.measured}`);
}

await main();
