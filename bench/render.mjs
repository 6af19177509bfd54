#!/usr/bin/env node
// Re-renders a results JSON (default bench/results/latest.json) into its Markdown, recomputing
// the budget marks: for when the report's wording or a budget's rule changes, not its figures.
//   node bench/render.mjs [path/to/latest.json] [--extras-from=other.json]
// --extras-from takes the hook/supervisor scripts' output from another run (e.g. `--only=extras`
// run after a script appeared); the report says when that run was made.
import fs from 'node:fs';
import path from 'node:path';
import { budgets } from './lib/budgets.mjs';
import { RESULTS } from './lib/paths.mjs';
import { renderMarkdown } from './lib/report.mjs';

const args = process.argv.slice(2);
const extrasFrom = args.find((a) => a.startsWith('--extras-from='))?.slice('--extras-from='.length);
const file = path.resolve(args.find((a) => !a.startsWith('--')) ?? path.join(RESULTS, 'latest.json'));
const res = JSON.parse(fs.readFileSync(file, 'utf8'));
if (extrasFrom) {
  const other = JSON.parse(fs.readFileSync(extrasFrom, 'utf8'));
  if (!other.extras) throw new Error(`${extrasFrom} has no extras section`);
  res.extras = other.extras;
  res.extras_run = { date: other.date, seconds: other.seconds, loadavg: other.loadavg };
}
res.budgets = budgets(res);
fs.writeFileSync(file, `${JSON.stringify(res, null, 2)}\n`);
fs.writeFileSync(file.replace(/\.json$/, '.md'), renderMarkdown(res));
process.stderr.write(`render: wrote ${file.replace(/\.json$/, '.md')}\n`);
