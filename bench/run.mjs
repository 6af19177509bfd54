#!/usr/bin/env node
// `npm run bench`: sbx side by side with no sandbox, mise, sandbox-runtime (srt) and bwrap.
// Writes bench/results/latest.md and latest.json (rewritten after every section, so an
// interrupted run still leaves a real, partial table). Reports medians and ratios; never
// fails on speed. Options: see usage below and bench/README.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { COLUMNS, MIN_UNOTIFY, MIN_VARIANTS, column, probe, writeSrtSettings } from './lib/columns.mjs';
import { budgets } from './lib/budgets.mjs';
import { findExtras, runExtra } from './lib/extras.mjs';
import { buildHelpers } from './lib/generate.mjs';
import { machine, versions } from './lib/machine.mjs';
import { countTraps, launchCost, oneInside, oneLoop, rounds } from './lib/measure.mjs';
import { profileColumn } from './lib/profile.mjs';
import { snapshotSbx } from './lib/snapshot.mjs';
import { BIN, MISE, REPO, RESULTS, SBX, SRT, SRT_SETTINGS, XDG } from './lib/paths.mjs';
import { tryRun } from './lib/proc.mjs';
import { renderMarkdown } from './lib/report.mjs';
import { fmtNs } from './lib/stats.mjs';
import { WORKLOADS } from './lib/workloads.mjs';

const USAGE = `usage: node bench/run.mjs [--runs=N] [--only=LIST] [--columns=LIST] [--procs=1,2,4,8]
                         [--max-minutes=M] [--out=DIR]
  --only      sections: launch,syscalls,extras,decisions,profile and workloads:
              git-status,launches,ripgrep,node-require,open100k,make,tsc (default: all)
  --columns   none,min-floor,sbx-shell,sbx-exec,mise,srt,bwrap,min-unotify (default: all); min-unotify
              brings its per-syscall variants min-addfd-send, min-addfd-then-send, min-emulate
              (each can also be named alone)
  --max-minutes  stop starting new runs after M minutes; cells then show how many runs they got`;

function parseArgs(argv) {
  const opt = { runs: 5, only: null, columns: null, procs: [1, 2, 4, 8], out: RESULTS, maxMinutes: 0, argv };
  for (const a of argv) {
    const [k, v] = a.split(/=(.*)/s);
    if (k === '--runs') opt.runs = Math.max(1, parseInt(v, 10));
    else if (k === '--only') opt.only = new Set(v.split(','));
    else if (k === '--columns') opt.columns = new Set(v.split(','));
    else if (k === '--procs') opt.procs = v.split(',').map(Number);
    else if (k === '--max-minutes') opt.maxMinutes = Number(v);
    else if (k === '--out') opt.out = path.resolve(v);
    else {
      process.stderr.write(`bench: unknown option ${a}\n${USAGE}\n`);
      process.exit(2);
    }
  }
  return opt;
}

const log = (s) => process.stderr.write(`bench: ${s}\n`);

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const deadline = opt.maxMinutes > 0 ? t0 + opt.maxMinutes * 60_000 : Infinity;
  const late = () => Date.now() > deadline;
  const want = (id) => !opt.only || opt.only.has(id);
  const loadStart = os.loadavg();
  const { openTarget } = buildHelpers();
  const sbxBuild = await snapshotSbx();
  log(`sbx: ${sbxBuild}`);
  writeSrtSettings();
  stopSupervisor(); // a supervisor left by an earlier run would serve sessions with stale state

  // Which columns can run at all right now (sbx pieces may still be in progress).
  const columns = {};
  const variant = new Set(MIN_VARIANTS.map((c) => c.id));
  for (const c of [...COLUMNS, MIN_UNOTIFY, ...MIN_VARIANTS]) {
    if (opt.columns && !opt.columns.has(c.id) && c.id !== 'none' && !(variant.has(c.id) && opt.columns.has(MIN_UNOTIFY.id))) continue;
    columns[c.id] = probe(c);
    log(`column ${c.id}: ${columns[c.id].ok ? 'ok' : `n/a (${columns[c.id].reason})`}`);
  }
  const runnable = (ids) => ids.filter((id) => columns[id]?.ok);
  const fill = (ids, got) => Object.fromEntries(ids.map((id) => [id, got[id] ?? { na: columns[id].reason }]));
  const logCell = (what, id, r) =>
    log(`${what} × ${id}: ${r.na ? `n/a (${r.na})` : r.ops ? `${fmtNs(r.per_op_ns)}/op, ${Math.round(r.ops_per_s)}/s` : fmtNs(r.median_ns)}${r.runs < opt.runs ? ` [${r.runs} runs]` : ''}`);
  const roundOpts = { late };

  const res = {
    date: new Date().toISOString(), machine: machine(), versions: { ...versions(), sbx_build: sbxBuild },
    options: { runs: opt.runs, procs: opt.procs, maxMinutes: opt.maxMinutes, argv: opt.argv }, columns, skipped: [],
  };
  const save = () => {
    res.seconds = (Date.now() - t0) / 1000;
    res.loadavg = { start: loadStart, end: os.loadavg() };
    res.budgets = budgets(res);
    fs.mkdirSync(opt.out, { recursive: true });
    fs.writeFileSync(path.join(opt.out, 'latest.json'), `${JSON.stringify(res, null, 2)}\n`);
    fs.writeFileSync(path.join(opt.out, 'latest.md'), renderMarkdown(res));
  };
  const section = async (id, fn) => {
    if (!want(id)) return;
    if (late()) { res.skipped.push(id); log(`${id}: not run (time limit)`); save(); return; }
    await fn();
    save();
  };
  const loopCols = ['none', 'min-unotify', 'sbx-shell', 'sbx-exec'].filter((id) => columns[id]);
  // The open loop also runs under each min_unotify mode: the breakdown of a trapped open.
  const stepCols = MIN_VARIANTS.map((c) => c.id).filter((id) => columns[id]);

  // Cheapest and budget-bearing sections first, so a time limit cuts the least.
  await section('launch', () => {
    const short = (argv) => argv.join(' ').replaceAll(`${REPO}/`, '').replaceAll(`${path.dirname(SRT_SETTINGS)}/`, 'bench/work/');
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
      else if (res.launch[id].na) { // hyperfine only says "non-zero exit": ask the command itself
        const direct = tryRun(argv, { timeoutMs: 60_000 });
        res.launch[id].na = direct.ok ? `${res.launch[id].na} (a direct run then succeeded: intermittent)` : direct.reason;
      }
      res.launch[id].display = short(argv);
      log(`launch ${id}: ${res.launch[id].na ? `n/a (${res.launch[id].na})` : fmtNs(res.launch[id].median_ns)}`);
    }
  });

  await section('syscalls', () => {
    const n = 20_000;
    res.syscalls = { n, columns: loopCols, steps: stepCols };
    for (const kind of ['open', 'stat']) {
      const cols = kind === 'open' ? [...loopCols, ...stepCols] : loopCols; // stat is not trapped: no breakdown
      const r = rounds(runnable(cols), opt.runs, (c) => oneLoop(c, [kind, String(kind === 'stat' ? 10 * n : n), openTarget]), (id, x) => logCell(`${kind} loop`, id, x), roundOpts);
      res.syscalls[kind] = fill(cols, r);
    }
  });

  await section('extras', () => {
    res.extras = findExtras().map((f) => {
      log(`running ${path.basename(f)}`);
      return runExtra(f, { runs: opt.runs });
    });
  });

  const tableCols = COLUMNS.filter((c) => columns[c.id]).map((c) => c.id);
  const workload = (w) => section(w.id, () => {
    const { cmd, cwd, note } = w.prepare();
    const cells = rounds(runnable(tableCols), opt.runs, (c) => oneInside(c, cmd, cwd), (id, r) => logCell(w.id, id, r), roundOpts);
    res.workloads ??= {};
    res.workloads[w.id] = { title: w.title, note, command: cmd.join(' '), cells: fill(tableCols, cells) };
    // What a run makes the engine decide: one more (untimed) run in an sbx session.
    if (columns['sbx-shell']?.ok) {
      try {
        const t = (res.workloads[w.id].traps = countTraps(column('sbx-shell'), cmd, cwd));
        log(`${w.id}: ${t.total} traps per run (${t.opens} opens, ${t.execs} execs, ${t.other} other)`);
      } catch (e) {
        res.workloads[w.id].traps = { na: e.message };
      }
    }
  });
  for (const w of WORKLOADS.filter((x) => x.id !== 'tsc')) await workload(w);

  await section('decisions', () => {
    const total = 20_000; // opens per run, split across the K processes
    res.decisions = { total, columns: loopCols, byK: {} };
    for (const k of opt.procs) {
      if (late()) break;
      const n = Math.ceil(total / k);
      const row = rounds(runnable(loopCols), opt.runs, (c) => oneLoop(c, ['procs', String(k), String(n), openTarget]), (id, x) => logCell(`decisions K=${k}`, id, x), roundOpts);
      res.decisions.byK[k] = fill(loopCols, row);
    }
  });

  await section('profile', async () => {
    res.profile = {};
    for (const id of ['min-unotify', 'min-emulate', 'sbx-exec', 'sbx-shell'].filter((x) => columns[x])) {
      res.profile[id] = columns[id].ok ? await profileColumn(column(id), openTarget) : { na: columns[id].reason };
      const p = res.profile[id];
      log(`profile ${id}: ${p.na ? `n/a (${p.na})` : `${p.syscalls_per_decision} supervisor syscalls per decision`}`);
    }
    // Trap scope, directly: replies the supervisor sends while a sandboxed stat loop runs.
    for (const id of ['sbx-shell', 'sbx-exec'].filter((x) => columns[x]?.ok)) {
      const p = (res.profile[`${id}:stat`] = await profileColumn(column(id), openTarget, { mode: 'stat' }));
      log(`profile ${id} stat loop: ${p.na ? `n/a (${p.na})` : `${p.decisions} decisions in ${p.window_ms} ms`}`);
    }
  });

  // tsc is the longest workload by far: last, so a time limit costs it runs, not the rest.
  for (const w of WORKLOADS.filter((x) => x.id === 'tsc')) await workload(w);

  stopSupervisor();
  save();
  log(`wrote ${path.join(opt.out, 'latest.md')} and latest.json in ${res.seconds.toFixed(0)} s`);
  for (const b of res.budgets) log(`budget ${b.id}: ${b.status} ${b.measured}`);
}

/**
 * The bench's sbx supervisor lives in the scratch XDG_RUNTIME_DIR; leave none running. Keepers
 * of sessions whose processes the profile section killed can outlive it: end exactly those
 * (their command line names our scratch socket), nothing else.
 */
function stopSupervisor() {
  tryRun([SBX, 'daemon', 'stop', '--force'], { timeoutMs: 30_000 });
  const mark = `--session ${path.join(XDG, 'run', 'sbx')}/`;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd = '';
    try { cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '); } catch { continue; }
    if (cmd.startsWith('sbx-keeper ') && cmd.includes(mark)) {
      log(`ending leftover keeper ${pid} (${cmd.trim()})`);
      try { process.kill(Number(pid), 'SIGTERM'); } catch {}
    }
  }
}

await main();
