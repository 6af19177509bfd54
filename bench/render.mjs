#!/usr/bin/env node
// Re-renders a results JSON (default bench/results/latest.json) into its Markdown, recomputing
// the budget marks: for when the report's wording or a budget's rule changes, not its figures.
//   node bench/render.mjs [path/to/latest.json]
import fs from 'node:fs';
import path from 'node:path';
import { budgets } from './lib/budgets.mjs';
import { RESULTS } from './lib/paths.mjs';
import { renderMarkdown } from './lib/report.mjs';

const file = path.resolve(process.argv[2] ?? path.join(RESULTS, 'latest.json'));
const res = JSON.parse(fs.readFileSync(file, 'utf8'));
res.budgets = budgets(res);
fs.writeFileSync(file, `${JSON.stringify(res, null, 2)}\n`);
fs.writeFileSync(file.replace(/\.json$/, '.md'), renderMarkdown(res));
process.stderr.write(`render: wrote ${file.replace(/\.json$/, '.md')}\n`);
