// The hook and supervisor engineers keep their own bench scripts (bench/hook-*, bench/supervisor-*).
// run.mjs runs each one and includes its output. Contract (bench/README.md): print Markdown on
// stdout; optionally lines `BUDGET {"id":"prompt"|"cd"|"rss50","value":"…","met":true|false}`.
import fs from 'node:fs';
import path from 'node:path';
import { BENCH, SBX, WORK } from './paths.mjs';
import { benchEnv, tryRun } from './proc.mjs';

export function findExtras() {
  return fs.readdirSync(BENCH)
    .filter((f) => /^(hook|supervisor)-[\w.-]+\.(mjs|js|sh)$/.test(f))
    .sort()
    .map((f) => path.join(BENCH, f));
}

export function runExtra(file, { runs }) {
  const argv = file.endsWith('.sh') ? ['bash', file] : [process.execPath, file];
  const env = benchEnv({ BENCH_RUNS: String(runs), BENCH_WORK: WORK, SBX });
  const started = Date.now();
  const r = tryRun(argv, { cwd: path.dirname(BENCH), env, timeoutMs: 360_000 });
  const name = path.basename(file);
  if (!r.ok) return { script: name, na: r.reason, budgets: [] };
  const budgets = [];
  const body = [];
  for (const line of r.out.split('\n')) {
    const m = /^BUDGET\s+(\{.*\})\s*$/.exec(line);
    if (!m) { body.push(line); continue; }
    try { budgets.push(JSON.parse(m[1])); } catch { body.push(line); }
  }
  return { script: name, seconds: (Date.now() - started) / 1000, output: body.join('\n').trim(), budgets };
}
