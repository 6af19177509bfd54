#!/usr/bin/env node
// Starting a sandbox with a supervisor running (issue 13 item 4; contract: bench/README.md):
//   1. `sbx exec -- /bin/true`: bare /bin/true, the native fast path (bin/sbx → sbx-fast →
//      exec-start on the control socket → sbx-launch --session), and the Node path
//      (`node bin/sbx exec`, what bin/sbx was before: Node starts, builds the policy, runs the
//      engine itself); hyperfine -N, side by side in one run.
//   2. a new terminal: `SHELL -i` in a pty (script(1)) until its first usable prompt, without
//      the hook, with the hook (fast path: cached hook text, native `shell --check` and
//      `shell`), and with the hook on the Node path (SBX_NO_FAST=1: Node for each of the three);
//      bash, zsh, fish.
// Prints Markdown; BUDGET lines `exec-start` (≤ 20 ms) and `terminal` (≤ 50 ms added). Never fails on speed.
// BENCH_OUT=DIR also keeps hyperfine's JSON files there.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { terminalHome } from './lib/terminal-home.mjs';

const REPO = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const SBX = process.env.SBX ?? path.join(REPO, 'bin', 'sbx');
const WORK = path.join(process.env.BENCH_WORK ?? path.join(REPO, 'bench', 'work'), 'fastpath');
const RUNS = Math.max(5, Number(process.env.BENCH_RUNS ?? 5) * 6);
const TRUNS = Number(process.env.BENCH_TERMINAL_RUNS ?? 15);
const OUT = process.env.BENCH_OUT;

fs.rmSync(WORK, { recursive: true, force: true });
const home = path.join(WORK, 'home');
const xdg = Object.fromEntries(['CONFIG', 'STATE', 'DATA', 'CACHE'].map((k) => [`XDG_${k}_HOME`, path.join(home, k.toLowerCase())]));
for (const d of Object.values(xdg)) fs.mkdirSync(d, { recursive: true });
const runtime = path.join(WORK, 'run');
fs.mkdirSync(runtime, { recursive: true, mode: 0o700 });
const cwd = path.join(WORK, 'proj');
fs.mkdirSync(cwd, { recursive: true });
const baseEnv = { PATH: process.env.PATH, HOME: home, TERM: 'dumb', LANG: 'C.UTF-8', USER: process.env.USER ?? 'root', XDG_RUNTIME_DIR: runtime, ...xdg };
const fmt = (s) => (s >= 1e-3 ? `${(s * 1e3).toFixed(1)} ms` : `${(s * 1e6).toFixed(0)} µs`);
const out = [];
const budgets = [];

let hfCount = 0;
/** hyperfine -N; returns each command's {median, mean, stddev, min, max} in seconds. */
function hyperfine(cmds, env, runs, dir = cwd) {
  const json = path.join(WORK, `hf-${hfCount++}.json`);
  execFileSync('hyperfine', ['-N', '--warmup', '3', '--runs', String(runs), '--export-json', json, ...cmds], { env, cwd: dir, stdio: 'ignore', timeout: 900_000 });
  if (OUT) fs.copyFileSync(json, path.join(OUT, path.basename(json)));
  return JSON.parse(fs.readFileSync(json, 'utf8')).results;
}

// `sbx` on PATH as the README sets it up: a symlink to the native client itself (bin/sbx is a
// shell script that finds the client: one more process per call).
const NATIVE = path.join(WORK, 'bin', 'sbx');
fs.mkdirSync(path.dirname(NATIVE), { recursive: true });
fs.symlinkSync(path.join(REPO, 'native', 'unotify', 'build', 'Release', 'sbx-fast'), NATIVE);

spawnSync(SBX, ['daemon', 'start'], { env: baseEnv, stdio: 'ignore', timeout: 30_000 });
// The fast path must really be the one measured.
const probe = spawnSync(SBX, ['exec', '--', '/bin/true'], { env: { ...baseEnv, SBX_FAST_TRACE: '1' }, cwd, encoding: 'utf8' });
const fastTaken = /^sbx-fast: fast exec/m.test(probe.stderr);

// 1. sbx exec -- /bin/true
{
  const node = process.execPath;
  const r = hyperfine(['/bin/true', `${NATIVE} exec -- /bin/true`, `${SBX} exec -- /bin/true`, `${node} ${SBX} exec -- /bin/true`], baseEnv, RUNS);
  const [bare, native, fast, viaNode] = r;
  out.push('### `sbx exec -- /bin/true`, supervisor running', '');
  out.push('| command | median | mean ± σ | min | max |', '|---|---|---|---|---|');
  for (const [name, x] of [
    ['bare /bin/true', bare],
    ['sbx exec (`sbx` → the native client, as README sets it up)', native],
    ['sbx exec (bin/sbx: a shell script that runs the native client)', fast],
    ['sbx exec (Node path: node bin/sbx)', viaNode],
  ])
    out.push(`| ${name} | ${fmt(x.median)} | ${fmt(x.mean)} ± ${fmt(x.stddev)} | ${fmt(x.min)} | ${fmt(x.max)} |`);
  out.push('', `Fast path taken (SBX_FAST_TRACE): ${fastTaken ? 'yes' : `NO (${probe.stderr.trim()})`}. Method: hyperfine -N, ${RUNS} runs after 3 warm-ups, one run for all four.`, '');
  budgets.push({ id: 'exec-start', value: `${fmt(native.median)} (native client; via bin/sbx ${fmt(fast.median)}; Node path ${fmt(viaNode.median)})`, met: fastTaken && native.median <= 0.02 });
}

// 2. A new terminal (as bench/hook-prompt.mjs section 4): the rc exits at its first prompt inside
// a session (without the hook: at its first prompt). Own HOME per variant: the re-exec reads the rc again.
{
  const variant = (name, withHook) => terminalHome(path.join(WORK, `term-${name}`), { sbx: SBX, withHook, baseEnv });
  const variants = [
    ['without hook', variant('plain', false)],
    ['hook, fast path', terminalHome(path.join(WORK, 'term-native'), { sbx: NATIVE, withHook: true, baseEnv })],
    ['hook, fast path via bin/sbx', variant('fast', true)],
    ['hook, Node path', { ...variant('node', true), SBX_NO_FAST: '1' }],
  ];
  out.push('### New terminal → first usable prompt (pty, supervisor running)', '');
  out.push('| shell | without hook | hook (`sbx` → native client) | added | hook via bin/sbx | added | hook, Node path | added |', '|---|---|---|---|---|---|---|---|');
  const added = [];
  for (const sh of ['bash', 'zsh', 'fish']) {
    const t = variants.map(([, env]) => {
      try {
        return hyperfine([`script -qec "${sh} -i" /dev/null`], { ...env, SHELL: sh }, TRUNS)[0].median;
      } catch {
        return undefined;
      }
    });
    const [plain, fast, viaScript, viaNode] = t;
    const diff = (x) => (plain !== undefined && x !== undefined ? fmt(x - plain) : 'n/a');
    const cell = (x) => (x !== undefined ? fmt(x) : 'n/a');
    if (plain !== undefined && fast !== undefined) added.push(fast - plain);
    out.push(`| ${sh} | ${cell(plain)} | ${cell(fast)} | ${diff(fast)} | ${cell(viaScript)} | ${diff(viaScript)} | ${cell(viaNode)} | ${diff(viaNode)} |`);
  }
  out.push('', `Method: hyperfine -N, median of ${TRUNS} runs after 3 warm-ups, of script(1) running \`SHELL -i\` until its first prompt (with the hook: the first prompt inside a session). The rc line names \`sbx\` by its path: the native client (as README sets up \`sbx\` on PATH), or bin/sbx. "Node path" = SBX_NO_FAST=1: Node prints the hook, runs \`shell --check\` and \`shell\`.`);
  if (added.length > 0) budgets.push({ id: 'terminal', value: `${fmt(Math.max(...added))} added (worst of bash/zsh/fish, fast path)`, met: Math.max(...added) <= 0.05 });
}

spawnSync(SBX, ['daemon', 'stop', '--force'], { env: baseEnv, stdio: 'ignore', timeout: 10_000 });
process.stdout.write(`${out.join('\n')}\n`);
for (const b of budgets) process.stdout.write(`BUDGET ${JSON.stringify(b)}\n`);
