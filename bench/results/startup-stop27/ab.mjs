// A/B of a sandbox's start, two checkouts side by side, each with its own supervisor:
// `sbx exec -- /bin/true` through the native client (as README sets `sbx` up), alternating
// short hyperfine runs; the supervisor's CPU per start (utime+stime over 100 starts); and a new
// terminal with the hook (bash, zsh, fish; script(1) until the first prompt).
// Usage: OLD=/path/to/old/checkout NEW=/path/to/new/checkout node ab.mjs   (ROUNDS, RUNS)
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
const ROUNDS = Number(process.env.ROUNDS ?? 6), RUNS = Number(process.env.RUNS ?? 20);
const trees = { old: process.env.OLD, new: process.env.NEW };
if (!trees.old || !trees.new) throw new Error('OLD and NEW must name two built checkouts');
const { terminalHome } = await import(path.join(trees.new, 'bench/lib/terminal-home.mjs'));
const W = fs.mkdtempSync(path.join(os.tmpdir(), 'ab-start-'));
const client = (t) => path.join(trees[t], 'native/unotify/build/Release/sbx-fast');
const sbx = (t) => path.join(trees[t], 'bin/sbx');
const env = {};
for (const t of Object.keys(trees)) {
  const run = path.join(W, t, 'run');
  fs.mkdirSync(run, { recursive: true, mode: 0o700 });
  const base = { PATH: process.env.PATH, TERM: 'dumb', LANG: 'C.UTF-8', USER: os.userInfo().username, XDG_RUNTIME_DIR: run, XDG_STATE_HOME: path.join(W, t, 'state'), XDG_CACHE_HOME: path.join(W, t, 'cache') };
  env[t] = { plain: terminalHome(path.join(W, t, 'plain'), { sbx: client(t), withHook: false, baseEnv: base }), hook: terminalHome(path.join(W, t, 'hook'), { sbx: client(t), withHook: true, baseEnv: base }) };
  spawnSync(sbx(t), ['daemon', 'start'], { env: env[t].hook, stdio: 'ignore' });
}
const times = {};
const add = (k, xs) => (times[k] ??= []).push(...xs);
const hf = (t, cmd, extra = {}) => {
  const json = path.join(W, 'hf.json');
  execFileSync('hyperfine', ['-N', '-w', '3', '-r', String(RUNS), '--export-json', json, cmd], { env: { ...env[t].hook, ...extra }, cwd: path.join(W, t), stdio: 'ignore', timeout: 300_000 });
  return JSON.parse(fs.readFileSync(json, 'utf8')).results[0].times;
};
const cpu = (t) => { const pid = fs.readFileSync(path.join(W, t, 'run/sbx/supervisor.pid'), 'utf8').trim(); const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
const tick = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
for (let r = 0; r < ROUNDS; r++) {
  for (const t of Object.keys(trees)) {
    add(`${t} exec`, hf(t, `${client(t)} exec -- /bin/true`));
    const c0 = cpu(t);
    for (let i = 0; i < 100; i++) spawnSync(client(t), ['exec', '--', '/bin/true'], { env: env[t].hook, cwd: path.join(W, t) });
    add(`${t} cpu`, [((cpu(t) - c0) * tick) / 100]);
    for (const sh of ['bash', 'zsh', 'fish'])
      for (const v of ['plain', 'hook']) {
        const json = path.join(W, 'term.json');
        try {
          execFileSync('hyperfine', ['-N', '-w', '2', '-r', String(Math.max(4, RUNS / 4)), '--export-json', json, `script -qec "${sh} -i" /dev/null`], { env: { ...env[t][v], SHELL: sh }, stdio: 'ignore', timeout: 300_000 });
          add(`${t} ${sh} ${v}`, JSON.parse(fs.readFileSync(json, 'utf8')).results[0].times);
        } catch (e) { console.log('failed', t, sh, v, e.message.split('\n')[0]); }
      }
  }
}
for (const t of Object.keys(trees)) spawnSync(sbx(t), ['daemon', 'stop', '--force'], { env: env[t].hook, stdio: 'ignore' });
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const ms = (x) => `${(x * 1e3).toFixed(1)} ms`;
console.log(`${ROUNDS} alternating rounds; old ${trees.old}, new ${trees.new}; load at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
console.log('| | old | new |\n|---|---|---|');
console.log(`| \`sbx exec -- /bin/true\` (median of ${times['old exec'].length}) | ${ms(med(times['old exec']))} | ${ms(med(times['new exec']))} |`);
console.log(`| same, best run | ${ms(Math.min(...times['old exec']))} | ${ms(Math.min(...times['new exec']))} |`);
console.log(`| supervisor CPU per start (median of ${ROUNDS} × 100) | ${med(times['old cpu']).toFixed(1)} ms | ${med(times['new cpu']).toFixed(1)} ms |`);
for (const sh of ['bash', 'zsh', 'fish'])
  console.log(`| new ${sh} terminal: hook added (medians) | ${ms(med(times[`old ${sh} hook`]) - med(times[`old ${sh} plain`]))} | ${ms(med(times[`new ${sh} hook`]) - med(times[`new ${sh} plain`]))} |`);
fs.rmSync(W, { recursive: true, force: true });
