// A/B of a new terminal with the hook: frozen main vs branch, alternating short hyperfine runs.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { terminalHome } from '/work/wt-startup/bench/lib/terminal-home.mjs';
const ROUNDS = Number(process.env.ROUNDS ?? 4), RUNS = Number(process.env.RUNS ?? 6);
const OUT = process.env.OUT ?? '/tmp/su/bench/term-ab';
fs.mkdirSync(OUT, { recursive: true });
const who = { main: '/tmp/su/frozen/bin/sbx', branch: '/work/wt-startup/bin/sbx' };
const envs = {};
for (const [name, sbx] of Object.entries(who)) {
  const W = `/tmp/su/bench/tab-${name}`;
  fs.rmSync(W, { recursive: true, force: true });
  const run = path.join(W, 'run');
  fs.mkdirSync(run, { recursive: true, mode: 0o700 });
  const base = { PATH: process.env.PATH, TERM: 'dumb', LANG: 'C.UTF-8', USER: 'root', XDG_RUNTIME_DIR: run, XDG_STATE_HOME: path.join(W, 'state'), XDG_CACHE_HOME: path.join(W, 'cache') };
  envs[name] = { plain: terminalHome(path.join(W, 'plain'), { sbx, withHook: false, baseEnv: base }), hook: terminalHome(path.join(W, 'hook'), { sbx, withHook: true, baseEnv: base }) };
  spawnSync(sbx, ['daemon', 'start'], { env: envs[name].hook, stdio: 'ignore' });
}
const times = {};
for (let r = 0; r < ROUNDS; r++)
  for (const sh of ['bash', 'zsh', 'fish'])
    for (const name of Object.keys(who))
      for (const v of ['plain', 'hook']) {
        const json = path.join(OUT, `${name}-${sh}-${v}-${r}.json`);
        try {
          execFileSync('hyperfine', ['-N', '-w', '2', '-r', String(RUNS), '--export-json', json, `script -qec "${sh} -i" /dev/null`], { env: { ...envs[name][v], SHELL: sh }, stdio: 'ignore', timeout: 300_000 });
          (times[`${name} ${sh} ${v}`] ??= []).push(...JSON.parse(fs.readFileSync(json, 'utf8')).results[0].times);
        } catch (e) { console.log('failed', name, sh, v, e.message.split('\n')[0]); }
      }
for (const [name, sbx] of Object.entries(who)) spawnSync(sbx, ['daemon', 'stop', '--force'], { env: envs[name].hook, stdio: 'ignore' });
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
console.log('| shell | main: without hook | main: with hook | main: added (medians) | branch: without hook | branch: with hook | branch: added (medians) | added, best runs main / branch |');
console.log('|---|---|---|---|---|---|---|---|');
const ms = (x) => `${(x * 1e3).toFixed(1)} ms`;
for (const sh of ['bash', 'zsh', 'fish']) {
  const c = (n, v) => times[`${n} ${sh} ${v}`] ?? [NaN];
  const row = ['main', 'branch'].flatMap((n) => [ms(med(c(n, 'plain'))), ms(med(c(n, 'hook'))), ms(med(c(n, 'hook')) - med(c(n, 'plain')))]);
  const best = ['main', 'branch'].map((n) => ms(Math.min(...c(n, 'hook')) - Math.min(...c(n, 'plain')))).join(' / ');
  console.log(`| ${sh} | ${row.join(' | ')} | ${best} |`);
}
console.log(`\n${ROUNDS} alternating rounds × ${RUNS} runs per cell (hyperfine -N, 2 warm-ups), load ${fs.readFileSync('/proc/loadavg', 'utf8').trim()}`);
