// Renders a run (the object written to latest.json) as Markdown.
import { COLUMNS, MIN_VARIANTS, column } from './columns.mjs';
import { floorImplied, perTrapFloor } from './budgets.mjs';
import { fmtNs, fmtRate, fmtRatio } from './stats.mjs';

const ok = (x) => x && !x.na && Number.isFinite(x.median_ns);
// A column that could not start at all gets its reason once, under the table, not in every cell.
let unavailable = new Set();
const na = (x) => (unavailable.has(x?.na) ? 'n/a (see below)' : `n/a (${x?.na ?? 'not run'})`);
const esc = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

let wanted = 0;
/** Cells cut short by --max-minutes say how many runs their median is of. */
const runsFlag = (c) => (c && c.runs < wanted ? ` [${c.runs} run${c.runs === 1 ? '' : 's'}]` : '');

function table(head, rows) {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

const us = (ns) => fmtNs(ns);
const signed = (ns) => (ns < 0 ? `−${fmtNs(-ns)}` : `+${fmtNs(ns)}`);

/**
 * The trapped open+close, piece by piece: unsandboxed → trap round trip → the supervisor opens
 * and injects in one step → in two steps → with the rest of sbx's per-open syscalls → sbx.
 * Then one paragraph on the floor this puts under the per-trap budget.
 */
function breakdown(res, out) {
  const o = res.syscalls.open;
  const steps = res.syscalls.steps ?? [];
  if (!steps.length || !o) return;
  const rowsDef = [
    ['none', 'unsandboxed', 'open+close, no filter'],
    ['min-unotify', 'trap round trip (CONTINUE)', 'openat trapped, answered CONTINUE: the kernel then opens in the tracee (the budget\'s min loop)'],
    ...MIN_VARIANTS.filter((c) => steps.includes(c.id)).map((c) => [c.id, c.label.replace(/^min C loop, /, ''), c.step]),
    ...['sbx-exec', 'sbx-shell'].filter((id) => o[id]).map((id) => [id, column(id).label, 'emulation with policy, events, journal (the engine in the node process)']),
  ];
  const base = o.none, min = o['min-unotify'];
  let prev = null;
  const rows = rowsDef.map(([id, name, what]) => {
    const c = o[id];
    if (!ok(c)) return [name, `\`${id}\``, what, na(c), '', '', '', ''];
    const ref = id.startsWith('sbx') ? o['min-emulate'] : prev;
    const row = [name, `\`${id}\``, what, us(c.per_op_ns) + runsFlag(c), us(c.min_ns / c.ops),
      id !== 'none' && ok(base) ? fmtRatio(c.per_op_ns / base.per_op_ns) : '',
      id !== 'none' && ok(min) ? fmtRatio(c.per_op_ns / min.per_op_ns) : '',
      ok(ref) ? `${signed(c.per_op_ns - ref.per_op_ns)}${id.startsWith('sbx') ? ' over full emulation' : ''}` : ''];
    if (!id.startsWith('sbx')) prev = c;
    return row;
  });
  out.push('Where a trapped open goes, piece by piece (`bench/c/min_unotify.c -m MODE`, same loop, same rounds): each row adds one piece of what sbx must do to the row above.', '');
  out.push(table(['step', 'column', 'what the supervisor does per open', 'per open+close', 'best run', 'vs unsandboxed', 'vs min loop', 'added (medians)'], rows), '');
  const f = perTrapFloor(res);
  if (!f || !f.oneStep || !f.twoStep) return;
  const parts = [];
  parts.push(`**Floor.** The budget is ≤ 1.1x the crash-safe floor, the C loop that emulates the open the way sbx must: ${us(f.twoStep.per_op_ns)} per open+close here, so ≤ ${us(1.1 * f.twoStep.per_op_ns)}. Emulating the open at all — reading the path, opening the file in the supervisor and injecting it in one ADDFD|FLAG_SEND — costs ${us(f.oneStep.per_op_ns)} (${fmtRatio(f.oneStep.ratio)} the CONTINUE loop, best runs ${fmtRatio(f.oneStep.best_ratio)}; ${signed(f.oneStep.added_ns)} over CONTINUE).`);
  parts.push(`Injecting in two steps (ADDFD, then SEND with the fd number), which sbx does so that a supervisor killed mid-ioctl cannot leave the tracee's open() returning 0, measures ${signed(f.twoStep.added_ns)} against one step: the price of the second wake-up of the tracee and the extra ioctl (${fmtRatio(f.twoStep.ratio)} the CONTINUE loop, best runs ${fmtRatio(f.twoStep.best_ratio)}).`);
  if (f.emulate) parts.push(`The \`min-emulate\` row adds the per-open syscalls sbx made before this work (epoll+poll, openat2 O_PATH, fstat, reopen via /proc/self/fd): ${signed(f.emulate.added_ns)}, ${us(f.emulate.per_op_ns)} in all.`);
  if (f.sbx) parts.push(`${column(f.sbx_column).label}: ${us(f.sbx.per_op_ns)} = ${fmtRatio(f.sbx.per_op_ns / f.twoStep.per_op_ns)} the two-step floor (budget ≤ 1.1x).`);
  out.push(parts.join(' '), '');
}

/** Traps per run and the ratio they imply at each floor (budgets.mjs floorImplied). */
function floorTable(res, out) {
  if (!res.workloads) return;
  const counted = Object.values(res.workloads).some((w) => w.traps && !w.traps.na);
  if (!counted) return;
  out.push('### Traps per run, and the ratio they imply at the floor', '');
  const f = floorImplied(res);
  const cnt = (t) => (t && !t.na ? `${t.total} (${t.opens} opens, ${t.execs} execs, ${t.other} other)` : na(t));
  if (!f) {
    out.push('Traps per run (counted in one more run inside an sbx session): the implied ratios need the open loop of the "syscalls" section with the min-unotify columns in this run.', '');
    out.push(table(['workload', 'traps per run'], Object.values(res.workloads).map((w) => [w.title, cnt(w.traps)])), '');
    return;
  }
  const c = f.cost;
  out.push(`Each workload runs once more inside an sbx session, its engine's counters read before and after (\`timeit -s /proc/self/sbx/ask/status\`): the traps of one run. Then (unsandboxed time + traps × cost per trap) / unsandboxed time, with this run's costs per trap (the open loop of "Per-syscall cost" below, minus the unsandboxed open+close; best runs, as the unsandboxed time, so load inflates neither): CONTINUE loop ${fmtNs(c.continue)}, crash-safe floor (two-step injection) ${fmtNs(c.twoStep)}, ${column(c.sbx_column ?? 'sbx-shell').label} ${fmtNs(c.sbx)} per open. Opens are charged the column's open cost, the other traps the CONTINUE cost (a lower bound for them). Serial model: each trap's cost lies on the critical path; a parallel workload (make -j2) that keeps every core busy pays about that much CPU spread over its jobs, so its implied added time is between this figure and this figure divided by the jobs. A floor-implied ratio above 1.10x means the workload budget cannot be met while every open is trapped, whatever the engine does; a measured ratio well above the implied ones is cost that is not per trap (process launch work, wake-ups, the supervisor competing for the cores).`, '');
  const rows = Object.entries(res.workloads).map(([id, w]) => {
    const r = f.rows[id];
    if (!r || r.na) return [w.title, cnt(w.traps), na(r), '', '', '', ''];
    return [w.title, cnt(w.traps), fmtNs(r.unsandboxed_ns), fmtRatio(r.continue), `**${fmtRatio(r.floor)}**`, fmtRatio(r.sbx),
      Number.isFinite(r.measured) ? `${fmtRatio(r.measured)} (best ${fmtRatio(r.measured_best)})` : 'n/a'];
  });
  out.push(table(['workload', 'traps per run', 'unsandboxed (best run)', 'implied: CONTINUE loop', 'implied: crash-safe floor', `implied: ${column(c.sbx_column ?? 'sbx-shell').label} per open`, 'sbx session measured: median (best)'], rows), '');
  const v = Object.values(res.workloads).filter((w) => w.traps?.verified);
  if (v.length) out.push(`Images verified per run (exec.cc, before a process's first decided syscall): ${v.map((w) => `${w.title.replace(/\s*\(.*\)$/, '')} ${w.traps.verified.afterExec} after an exec, ${w.traps.verified.firstSight} at first sight`).join('; ')}.`, '');
}

export function renderMarkdown(res) {
  const out = [];
  const m = res.machine;
  wanted = res.options.runs;
  unavailable = new Set(Object.values(res.columns).filter((c) => !c.ok).map((c) => c.reason));
  out.push('# sbx benchmarks', '');
  out.push(`Run ${res.date} on Linux ${m.kernel} ${m.arch}, ${m.cpu}, ${m.cores} cores, ${m.mem_gb} GB.`, '');
  out.push(`Versions: ${Object.entries(res.versions).map(([k, v]) => `${k} ${v}`).join('; ')}.`, '');
  out.push(`Generated by \`npm run bench\` (\`node bench/run.mjs ${res.options.argv.join(' ')}\`), ${res.options.runs} timed runs per cell after one warm-up; median shown, ratio to unsandboxed in brackets. Total ${res.seconds.toFixed(0)} s. Load average at start ${res.loadavg.start.map((x) => x.toFixed(2)).join(' ')}, at end ${res.loadavg.end.map((x) => x.toFixed(2)).join(' ')} (other work on the machine adds noise; runs are interleaved across columns so it hits all alike).`, '');
  out.push('Method: each workload runs under `bench/c/timeit.c` *inside* one start of each sandbox, so a sandbox\'s start-up is not in the workload figure (it is measured on its own under "Launch cost"). Policies are comparable across columns: reads open except secrets, writes only to bench/work and /tmp, no network. "sbx session" = `sbx shell -- …` (default policy), "sbx exec" = `sbx exec --deny-net --allow-write=bench/work --allow-write=/tmp -- …`, mise = `mise x` with the same flags (`MISE_EXPERIMENTAL=1`), srt = `srt --settings` with the same rules, bwrap = read-only `/` with bench/work and /tmp bound writable, `--unshare-net --unshare-pid`.', '');

  const busy = Math.max(...(res.loadavg?.start ?? [0]), ...(res.loadavg?.end ?? [0]));
  if (busy > 2 * m.cores) {
    out.push(`> **Noise warning.** Other work kept this ${m.cores}-core machine busy during the run (load average up to ${busy.toFixed(0)}). Wall-time ratios of the real workloads move by tens of percent from run to run here, in both directions (some sandboxes come out *faster* than no sandbox): read them with the best-run table, and re-run on a quiet machine before trusting a ratio near a budget. The per-syscall costs, the syscalls per decision and the decisions per second differ by far more than that noise.`, '');
  }

  out.push('## Budgets (DESIGN.md "Performance budgets")', '');
  out.push(table(['budget', 'status', 'measured', 'note'], res.budgets.map((b) => [b.budget, `**${b.status}**`, b.measured, b.note || ''])), '');

  if (res.workloads) {
    out.push('## Workloads', '');
    const cols = COLUMNS.filter((c) => res.columns[c.id]);
    const rows = Object.values(res.workloads).map((w) => [
      w.title + (w.note ? ` (${w.note})` : ''),
      ...cols.map((c) => {
        const cell = w.cells[c.id];
        if (!ok(cell)) return na(cell);
        if (c.id === 'none') return fmtNs(cell.median_ns) + runsFlag(cell);
        return (ok(w.cells.none) ? `${fmtNs(cell.median_ns)} (${fmtRatio(cell.median_ns / w.cells.none.median_ns)})` : fmtNs(cell.median_ns)) + runsFlag(cell);
      }),
    ]);
    out.push(table(['workload', ...cols.map((c) => c.label)], rows), '');
  }

  if (res.workloads) {
    out.push('Best run of each cell (ratio of the minimums): on a loaded machine the fastest run is the one least disturbed by other work, so this table is the steadier view of what the sandbox itself costs.', '');
    const cols = COLUMNS.filter((c) => res.columns[c.id]);
    const rows = Object.values(res.workloads).map((w) => [w.title, ...cols.map((c) => {
      const cell = w.cells[c.id];
      if (!ok(cell)) return 'n/a';
      if (c.id === 'none' || !ok(w.cells.none)) return fmtNs(cell.min_ns);
      return `${fmtNs(cell.min_ns)} (${fmtRatio(cell.min_ns / w.cells.none.min_ns)})`;
    })]);
    out.push(table(['workload (best run)', ...cols.map((c) => c.label)], rows), '');
  }

  floorTable(res, out);

  if (res.syscalls) {
    out.push('## Per-syscall cost', '');
    out.push(`Self-timed loops of ${res.syscalls.n} opens / ${10 * res.syscalls.n} stats (\`bench/c/syscalls.c\`) on a small file in bench/work; cost per call, median of ${res.options.runs} runs. The minimal C loop (\`bench/c/min_unotify.c\`) traps only openat and answers CONTINUE from one thread: no policy, no emulation. sbx emulates each open (resolve, open, check, ADDFD).`, '');
    const ids = res.syscalls.columns;
    const rows = ['open', 'stat'].map((kind) => {
      const row = res.syscalls[kind];
      return [`${kind}${kind === 'open' ? '+close (trapped)' : ' (not trapped)'}`, ...ids.map((id) => {
        const c = row[id];
        if (!ok(c)) return na(c);
        const parts = [fmtNs(c.per_op_ns)];
        if (id !== 'none' && ok(row.none)) parts.push(`${fmtRatio(c.per_op_ns / row.none.per_op_ns)} unsandboxed`);
        if (id.startsWith('sbx') && kind === 'open' && ok(row['min-unotify'])) parts.push(`**${fmtRatio(c.per_op_ns / row['min-unotify'].per_op_ns)} min loop**`);
        return parts.join(', ') + runsFlag(c);
      })];
    });
    out.push(table(['loop', ...ids.map((id) => column(id).label)], rows), '');
    breakdown(res, out);
  }

  if (res.launch) {
    out.push('## Launch cost', '');
    out.push('Whole command, start to exit, with `hyperfine -N` (warm-up 2).', '');
    const base = res.launch.none;
    const srt = res.launch.srt;
    const rows = Object.entries(res.launch).map(([id, c]) => [
      `\`${c.display ?? c.command}\``,
      ok(c) ? fmtNs(c.median_ns) : na(c),
      ok(c) && ok(base) ? fmtRatio(c.median_ns / base.median_ns) : '',
      ok(c) && ok(srt) ? fmtRatio(c.median_ns / srt.median_ns) : '',
    ]);
    out.push(table(['command', 'median', 'vs `true`', 'vs `srt true`'], rows), '');
  }

  if (res.decisions) {
    out.push('## Decisions per second', '');
    out.push(`K processes doing ${res.decisions.total} open+close between them, all at once (\`syscalls procs K ${res.decisions.total}/K\`); opens per second of wall time (each open is one decision in a sandbox that traps it). Median of ${res.options.runs} runs.`, '');
    const ids = res.decisions.columns;
    const rows = Object.entries(res.decisions.byK).map(([k, row]) => [k, ...ids.map((id) => (ok(row[id]) ? fmtRate(row[id].ops_per_s) + runsFlag(row[id]) : na(row[id])))]);
    out.push(table(['processes', ...ids.map((id) => column(id).label)], rows), '');
  }

  if (res.profile) {
    out.push('## Cost of one decision in the supervisor', '');
    out.push('strace attached to the answering process for 1.5 s while a sandboxed open loop runs; its syscalls divided by the replies it sent (NOTIF_SEND, or ADDFD with FLAG_SEND). Each decision also costs the two context switches of the round trip through the kernel.', '');
    const list = (o) => Object.entries(o ?? {}).filter(([, v]) => v >= 0.05).map(([k, v]) => `${k} ${v}`).join(', ');
    const rows = Object.entries(res.profile).filter(([id]) => !id.includes(':')).map(([id, p]) => [column(id).label, p.na ? na(p) : String(p.syscalls_per_decision),
      p.na ? '' : list(p.per_decision), p.na ? '' : `${p.failed_per_decision ?? 0}${list(p.failed_by) ? ` (${list(p.failed_by)})` : ''}`]);
    out.push(table(['answering process', 'syscalls per decision', 'breakdown per decision', 'of which failed'], rows), '');
    for (const [id, p] of Object.entries(res.profile).filter(([k]) => k.endsWith(':stat'))) {
      out.push(`${column(id.split(':')[0]).label}, stat loop instead: ${p.na ? na(p) : `${p.decisions} replies (decisions) and ${p.supervisor_syscalls} supervisor syscalls in ${p.window_ms} ms`} — stat is not trapped.`, '');
    }
    const sh = res.profile['sbx-shell'];
    if (sh?.supervisor_rss_mb) out.push(`Supervisor RSS (\`sbx status --json\`) while serving ${sh.sessions} session(s) during this loop: ${sh.supervisor_rss_mb} MB (the 50-session figure belongs to bench/supervisor-*).`, '');
  }

  if (res.skipped?.length) out.push('## Not run', '', `Time limit (--max-minutes=${res.options.maxMinutes}) reached before: ${res.skipped.join(', ')}.`, '');

  const down = Object.entries(res.columns).filter(([, c]) => !c.ok);
  if (down.length) {
    out.push('## Columns not available in this run', '');
    for (const [id, c] of down) out.push(`- ${column(id).label}: ${c.reason}`);
    out.push('');
  }

  out.push('## Hook and supervisor benches', '');
  if (res.extras_run) out.push(`These scripts ran in a separate \`--only=extras\` run at ${res.extras_run.date} (load average ${res.extras_run.loadavg?.start?.map((x) => x.toFixed(2)).join(' ') ?? '?'}), after the main run: a script appeared in the tree while the main run was under way.`, '');
  if (!res.extras) out.push('Not run (`--only` left the extras section out).', '');
  else if (!res.extras.length) out.push('No `bench/hook-*` or `bench/supervisor-*` script present at the time of this run: prompt cost, `cd` latency and supervisor RSS are not measured here.', '');
  for (const e of res.extras ?? []) {
    out.push(`### bench/${e.script}`, '');
    // Plain-text output goes in a code block so Markdown keeps its layout.
    const md = /^\s*(\||#)/m.test(e.output ?? '');
    out.push(e.na ? `n/a (${e.na})` : !e.output ? '(no output)' : md ? e.output : `\`\`\`\n${e.output}\n\`\`\``, '');
  }
  return `${out.join('\n').trim()}\n`;
}
