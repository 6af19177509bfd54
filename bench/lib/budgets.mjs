// DESIGN.md "Performance budgets", each marked met / not met / not measured from this run's figures.
import { column } from './columns.mjs';
import { fmtNs, fmtRatio } from './stats.mjs';

const ok = (x) => x && !x.na && Number.isFinite(x.median_ns);

/** The sbx column a budget is judged on: the session when it runs, else `sbx exec` (said so). */
function sbxCell(cells) {
  if (ok(cells['sbx-shell'])) return ['sbx-shell', cells['sbx-shell']];
  if (ok(cells['sbx-exec'])) return ['sbx-exec', cells['sbx-exec']];
  return [null, cells['sbx-shell'] ?? cells['sbx-exec']];
}

const notMeasured = (id, budget, why) => ({ id, budget, status: 'not measured', measured: '—', note: why });
const judged = (id, budget, met, measured, note = '') => ({ id, budget, status: met ? 'met' : 'not met', measured, note });
const via = (colId) => (colId === 'sbx-exec' ? 'judged on `sbx exec` (session column n/a)' : '');

/**
 * Where the per-trap gap goes: the open loop under each min_unotify mode (bench/c/min_unotify.c),
 * each one piece more of what sbx does, against the CONTINUE loop (the budget is judged on the
 * two-step row, the crash-safe floor).
 * null when the min loop did not run. Each step: { per_op_ns, best_ns, ratio (to the min loop),
 * added_ns (median over the step before) }.
 */
export function perTrapFloor(res) {
  const o = res.syscalls?.open;
  if (!o || !ok(o['min-unotify'])) return null;
  const base = o['min-unotify'];
  const [sbxId, sbx] = sbxCell(o);
  const out = { min: base.per_op_ns, sbx_column: sbxId };
  let prev = base;
  for (const [key, id] of [['oneStep', 'min-addfd-send'], ['twoStep', 'min-addfd-then-send'], ['emulate', 'min-emulate'], ['sbx', sbxId]]) {
    const c = id && o[id];
    if (!ok(c)) continue;
    out[key] = { per_op_ns: c.per_op_ns, best_ns: c.min_ns / c.ops, ratio: c.per_op_ns / base.per_op_ns,
      best_ratio: c.min_ns / base.min_ns, added_ns: c.per_op_ns - prev.per_op_ns };
    prev = c;
  }
  if (!ok(sbx)) delete out.sbx;
  return out;
}

/**
 * Is ≤ 1.10x reachable at all while every open is trapped? Per workload: the traps of one
 * run (counted in an sbx session) times what one trap costs at a floor, added to the
 * unsandboxed time (best run), divided by it. Per-trap costs are this run's open loop minus
 * the unsandboxed open+close (best runs): the CONTINUE loop (min-unotify: the least any user-notify trap
 * costs), the crash-safe floor (min-addfd-then-send: two-step injection, what an open
 * must cost) and sbx's own trapped open. Opens are charged at the column's open cost, the
 * other traps (execs: CONTINUE; path changes: one reply) at the CONTINUE cost, a lower
 * bound for them. The model is serial: one trap after the other on an otherwise idle
 * supervisor; parallel workloads (make -j2) overlap some traps, a loaded machine delays them.
 * null when the open loop or the counts are missing from this run.
 */
export function floorImplied(res) {
  const o = res.syscalls?.open;
  if (!o || !ok(o.none) || !ok(o['min-unotify']) || !res.workloads) return null;
  const [sbxId, sbx] = sbxCell(o);
  // Best runs (minimums) throughout: on a loaded machine they are the least disturbed, and a
  // ratio of load-inflated medians would understate what the traps add.
  const best = (c) => c.min_ns / c.ops;
  const added = (c) => (ok(c) ? Math.max(0, best(c) - best(o.none)) : NaN);
  const cost = { continue: added(o['min-unotify']), twoStep: added(o['min-addfd-then-send']), sbx: added(sbx), sbx_column: sbxId };
  const rows = {};
  for (const [id, w] of Object.entries(res.workloads)) {
    const t = w.traps, base = w.cells?.none;
    if (!t || t.na || !ok(base)) { rows[id] = { na: t?.na ?? (ok(base) ? 'traps not counted' : 'no unsandboxed figure') }; continue; }
    const T = base.min_ns, rest = t.total - t.opens;
    const ratio = (perOpen) => (T + t.opens * perOpen + rest * cost.continue) / T;
    const measured = w.cells['sbx-shell'];
    rows[id] = {
      traps: t.total, opens: t.opens, execs: t.execs, other: t.other, unsandboxed_ns: T,
      continue: ratio(cost.continue), floor: ratio(cost.twoStep), sbx: ratio(cost.sbx),
      measured: ok(measured) ? measured.median_ns / base.median_ns : NaN,
      measured_best: ok(measured) ? measured.min_ns / T : NaN,
    };
  }
  return { cost, rows };
}

export function budgets(res) {
  const out = [];

  // Trap scope: stat must not reach the supervisor. Direct evidence: replies the supervisor
  // sent during a stat loop (profile section). Otherwise timing, judged against the noise band
  // of an untrapped control (the min C loop's stat, which its filter never traps).
  {
    const id = 'trap-scope', b = 'only syscalls needing a decision are trapped (stat not), no JS per syscall';
    const prof = ['sbx-shell', 'sbx-exec'].map((c) => [c, res.profile?.[`${c}:stat`]]).find(([, p]) => p && !p.na);
    const s = res.syscalls?.stat;
    const [colId, cell] = s ? sbxCell(s) : [null, null];
    let timing = '';
    let timingMet = null;
    if (colId && ok(s.none)) {
      const r = cell.per_op_ns / s.none.per_op_ns;
      const control = ok(s['min-unotify']) ? s['min-unotify'].per_op_ns / s.none.per_op_ns : 1;
      timingMet = r <= 1.1 * Math.max(1, control);
      timing = `stat ${fmtRatio(r)} of unsandboxed (untrapped control: ${fmtRatio(control)})`;
    }
    if (prof) {
      const [pc, p] = prof;
      out.push(judged(id, b, p.decisions === 0, `${p.decisions} decisions during a stat loop${timing ? `; ${timing}` : ''}`,
        `strace on the ${column(pc).label} supervisor while a sandboxed stat loop ran`));
    } else if (timingMet !== null) {
      out.push(judged(id, b, timingMet, timing, `met when within 1.10x of the worse of unsandboxed and the untrapped control. ${via(colId)}`.trim()));
    } else out.push(notMeasured(id, b, colId === null && s ? `sbx n/a: ${cell?.na ?? 'not run'}` : 'syscall section not run'));
  }

  // Per trapped syscall vs the crash-safe floor: the C loop doing the same two-step injection.
  {
    const o = res.syscalls?.open;
    const id = 'per-trap', b = 'per trapped syscall ≤ 1.1x the crash-safe emulation floor (C loop, two-step ADDFD injection)';
    const floor = o?.['min-addfd-then-send'];
    if (!o) out.push(notMeasured(id, b, 'syscall section not run'));
    else if (!ok(floor)) out.push(notMeasured(id, b, `floor loop n/a: ${floor?.na ?? 'not run'}`));
    else {
      const [colId, cell] = sbxCell(o);
      if (!colId) out.push(notMeasured(id, b, `sbx n/a: ${cell?.na ?? 'not run'}`));
      else {
        const r = cell.per_op_ns / floor.per_op_ns;
        const best = cell.min_ns / floor.min_ns;
        const ex = colId === 'sbx-shell' && ok(o['sbx-exec']) ? `; \`sbx exec\`: ${fmtRatio(o['sbx-exec'].per_op_ns / floor.per_op_ns)}` : '';
        const cont = ok(o['min-unotify']) ? `; against the CONTINUE loop (no emulation): ${fmtRatio(cell.per_op_ns / o['min-unotify'].per_op_ns)}` : '';
        out.push(judged(id, b, r <= 1.1, `${fmtRatio(r)} (${fmtNs(cell.per_op_ns)} vs ${fmtNs(floor.per_op_ns)} per open)`, `session; best runs: ${fmtRatio(best)}${ex}${cont}${via(colId) ? `; ${via(colId)}` : ''}`));
      }
    }
  }

  // Real workloads inside a session.
  for (const [wid, name] of [['tsc', 'tsc build'], ['git-status', 'git status, 20k files'], ['make', 'C build (make -j2)'], ['launches', '500 process launches']]) {
    const id = `real-${wid}`, b = `${name} inside a session ≤ 1.10x unsandboxed`;
    const w = res.workloads?.[wid];
    if (!w) { out.push(notMeasured(id, b, 'workload not run')); continue; }
    const cell = w.cells['sbx-shell'];
    if (!ok(w.cells.none)) out.push(notMeasured(id, b, `unsandboxed n/a: ${w.cells.none?.na}`));
    else if (!ok(cell)) {
      const ex = w.cells['sbx-exec'];
      const hint = ok(ex) ? `; \`sbx exec\` gives ${fmtRatio(ex.median_ns / w.cells.none.median_ns)}` : '';
      out.push(notMeasured(id, b, `session n/a: ${cell?.na ?? 'not run'}${hint}`));
    } else {
      const r = cell.median_ns / w.cells.none.median_ns;
      const best = cell.min_ns / w.cells.none.min_ns;
      if (cell.runs < res.options.runs || w.cells.none.runs < res.options.runs) {
        out.push(notMeasured(id, b, `time limit: only ${cell.runs} run(s), median ${fmtRatio(r)} is not a measurement`));
        continue;
      }
      out.push(judged(id, b, r <= 1.1, `${fmtRatio(r)} (medians)`, `best runs: ${fmtRatio(best)}${cell.runs < res.options.runs ? `; ${cell.runs} runs` : ''}`));
    }
  }

  // Prompt and cd come from the hook engineer's script.
  // The figure of the family's script when it has one (the terminal: supervisor-fastpath.mjs
  // times the README's set-up, `sbx` on PATH being the native client; hook-prompt.mjs goes
  // through bin/sbx, one more process per call, and is shown in its own section).
  const fromExtras = (id, b, family) => {
    const all = (res.extras ?? []).flatMap((e) => e.budgets.map((x) => ({ ...x, script: e.script }))).filter((x) => x.id === id);
    const hit = all.find((x) => x.script.startsWith(family)) ?? all[0];
    if (hit) return { id, budget: b, status: hit.met ? 'met' : 'not met', measured: String(hit.value), note: `from bench/${hit.script}` };
    if (!res.extras) return notMeasured(id, b, 'extras section not run');
    const scripts = res.extras.filter((e) => e.script.startsWith(family)).map((e) => e.script + (e.na ? ` (n/a: ${e.na})` : ''));
    return notMeasured(id, b, scripts.length ? `no figure from ${scripts.join(', ')}` : `no bench/${family}* script in the tree at the time of this run`);
  };
  out.push(fromExtras('prompt', 'prompt: ≤ 1 ms added when nothing changed', 'hook-'));
  out.push(fromExtras('cd', '`cd` into a project: policy enforced ≤ 15 ms later', 'hook-'));
  // Starting a sandbox with a supervisor running (bench/supervisor-fastpath.mjs; the terminal also from hook-prompt.mjs).
  out.push(fromExtras('exec-start', '`sbx exec -- true` ≤ 20 ms with a supervisor running', 'supervisor-'));
  out.push(fromExtras('terminal', 'a new terminal with the hook ≤ 50 ms added', 'supervisor-'));

  // One-shot launch vs sandbox-runtime. "Well under" is taken as ≤ 0.5x.
  {
    const l = res.launch;
    const id = 'exec-launch', b = '`sbx exec -- true` well under `srt true` (taken as ≤ 0.5x)';
    if (!l) out.push(notMeasured(id, b, 'launch section not run'));
    else if (!ok(l['sbx-exec'])) out.push(notMeasured(id, b, `sbx exec n/a: ${l['sbx-exec']?.na}`));
    else if (!ok(l.srt)) out.push(notMeasured(id, b, `srt n/a: ${l.srt?.na}`));
    else {
      const r = l['sbx-exec'].median_ns / l.srt.median_ns;
      out.push(judged(id, b, r <= 0.5, `${fmtRatio(r)} (${fmtNs(l['sbx-exec'].median_ns)} vs ${fmtNs(l.srt.median_ns)})`));
    }
  }

  out.push(rss50(res) ?? fromExtras('rss50', 'supervisor RSS ≤ 80 MB with 50 sessions', 'supervisor-'));
  return out;
}

/**
 * bench/supervisor-latency.mjs prints no BUDGET line but ends with a JSON line of its figures
 * (rss50Idle, rss50Busy in MiB): judge on the larger of the two.
 */
function rss50(res) {
  for (const e of res.extras ?? []) {
    if (!e.script.startsWith('supervisor-') || !e.output) continue;
    for (const line of e.output.split('\n').reverse()) {
      if (!line.trim().startsWith('{')) continue;
      let j;
      try { j = JSON.parse(line); } catch { continue; }
      const vals = [j.rss50Idle, j.rss50Busy].map(Number).filter(Number.isFinite);
      if (!vals.length) continue;
      const mib = Math.max(...vals);
      return {
        id: 'rss50', budget: 'supervisor RSS ≤ 80 MB with 50 sessions', status: mib <= 80 ? 'met' : 'not met',
        measured: `${mib} MiB (50 idle ${j.rss50Idle}, 50 busy ${j.rss50Busy}; 1 idle ${j.rss1Idle})`,
        note: `from the JSON line of bench/${e.script}`,
      };
    }
  }
  return null;
}
