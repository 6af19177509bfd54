#!/usr/bin/env node
// cd → policy in force in a real session (bash): just the third part of hook-prompt.mjs, fast
// enough to run before/after a supervisor change. Two cases: A ↔ B (two projects: the policy
// switches) and A ↔ A/sub (same project file: same policy). Each cd's push returns only once
// the supervisor has the policy in force; the denied file is checked after every cd.
// Usage: node bench/supervisor-cd.mjs [--rounds=200]. Never fails on speed.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPO = path.resolve(import.meta.dirname, '..');
const SBX = path.join(REPO, 'bin', 'sbx');
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const ROUNDS = Number(args.rounds ?? 200);

const WORK = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-cd-')));
const home = path.join(WORK, 'home');
const xdg = Object.fromEntries(['CONFIG', 'STATE', 'DATA', 'CACHE'].map((k) => [`XDG_${k}_HOME`, path.join(home, k.toLowerCase())]));
for (const d of Object.values(xdg)) fs.mkdirSync(d, { recursive: true });
const runtime = path.join(WORK, 'run');
fs.mkdirSync(runtime, { recursive: true, mode: 0o700 });
const env = { PATH: process.env.PATH, HOME: home, TERM: 'dumb', LANG: 'C.UTF-8', XDG_RUNTIME_DIR: runtime, ...xdg };
const projA = path.join(WORK, 'projA');
const subA = path.join(projA, 'sub');
const projB = path.join(WORK, 'projB');
for (const d of [subA, projB]) fs.mkdirSync(d, { recursive: true });
for (const d of [projA, subA]) {
  fs.writeFileSync(path.join(d, 'secret.txt'), 'secret\n');
  fs.writeFileSync(path.join(d, 'twin.txt'), 'twin\n');
}
fs.writeFileSync(path.join(projA, '.sbx.yaml'), 'version: 1\nread: { deny: ["**/secret.txt"] }\nenv: { deny: ["*_TOKEN"] }\n');
fs.writeFileSync(path.join(projB, '.sbx.yaml'), 'version: 1\nread: { deny: ["nothing-here"] }\n');
const hook = path.join(WORK, 'hook.bash');
fs.writeFileSync(hook, execFileSync(SBX, ['hook', 'bash']));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];
const ms = (ns) => `${(ns / 1e6).toFixed(2)} ms`;

function run(name, into, back) {
  const script = path.join(WORK, `cd-${name.replace(/\W/g, "")}.bash`);
  fs.writeFileSync(
    script,
    `source ${hook}
[[ -n \${SBX_SESSION-} ]] || { echo "NA not in a session"; exit 0; }
builtin cd ${back}; __sbx_hook
for ((i = 0; i < ${ROUNDS}; i++)); do
  t0=$EPOCHREALTIME; cd ${into}; t1=$EPOCHREALTIME
  if { read -r x < secret.txt; } 2>/dev/null; then echo "LEAK secret readable after cd"; exit 1; fi
  { read -r x < twin.txt; } 2>/dev/null || { echo "BROKEN twin unreadable"; exit 1; }
  echo "T $t0 $t1"
  cd ${back}
done
`,
  );
  const r = spawnSync(SBX, ['shell', '--', 'bash', '--norc', '--noprofile', '-i', script], { env, cwd: back, encoding: 'utf8', timeout: 300_000 });
  const lines = `${r.stdout ?? ''}`.split('\n');
  const bad = lines.find((l) => /^(LEAK|BROKEN|NA)/.test(l));
  const ts = lines.filter((l) => l.startsWith('T ')).map((l) => { const [, a, b] = l.split(' '); return (Number(b) - Number(a)) * 1e9; });
  if (bad || ts.length === 0) return `| ${name} | n/a (${bad ?? r.stderr.split('\n')[0]}) |`;
  return `| ${name} | ${ms(median(ts))} median, ${ms(p95(ts))} p95 (${ts.length} cds) |`;
}

const out = ['| bash cd, real session | time |', '|---|---|'];
out.push(run('B → A (other project)', projA, projB));
out.push(run('A/sub → A (same project file)', projA, subA));
spawnSync(SBX, ['daemon', 'stop', '--force'], { env, stdio: 'ignore', timeout: 10_000 });
fs.rmSync(WORK, { recursive: true, force: true });
process.stdout.write(`${out.join('\n')}\n`);
