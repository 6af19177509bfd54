#!/usr/bin/env node
// Shell hook cost, side by side with direnv and mise (contract: bench/README.md).
//   1. unchanged prompt: what the hook adds to each prompt (bash, zsh, fish), against what
//      `direnv export bash` and `mise hook-env -s bash` cost per prompt (each spawns a process);
//   2. a push, shell side only: cd between two dirs with canned replies (parse + env apply);
//   3. cd → policy in force, in a real session (`sbx shell`): the time a `cd` takes, whose push
//      returns only once the supervisor has switched the policy; then a read of the project's
//      denied file must fail (checked, not assumed). Against `direnv export` / `mise hook-env`
//      on entering a directory.
//   4. a new terminal: `SHELL -i` in a pty (script(1)) with the hook in its rc file, until its
//      first prompt inside a session (the rc exits there), against the same rc without the hook;
//      the supervisor is already running. HOOK_BENCH=terminal runs this section alone.
// Prints Markdown; BUDGET lines for `prompt` and `cd`. Never fails on speed.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { terminalHome } from './lib/terminal-home.mjs';

const REPO = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const SBX = process.env.SBX ?? path.join(REPO, 'bin', 'sbx');
const WORK = path.join(process.env.BENCH_WORK ?? path.join(REPO, 'bench', 'work'), 'hook');
const RUNS = Math.max(3, Number(process.env.BENCH_RUNS ?? 5));
const MISE = path.join(REPO, 'bench', 'work', 'node_modules', '.bin', 'mise');
const N = 5_000; // hook calls per timed shell run

fs.rmSync(WORK, { recursive: true, force: true });
const home = path.join(WORK, 'home');
const xdg = Object.fromEntries(['CONFIG', 'STATE', 'DATA', 'CACHE'].map((k) => [`XDG_${k}_HOME`, path.join(home, k.toLowerCase())]));
for (const d of Object.values(xdg)) fs.mkdirSync(d, { recursive: true });
const runtime = path.join(WORK, 'run'); // our own supervisor, stopped at the end
fs.mkdirSync(runtime, { recursive: true, mode: 0o700 });
const baseEnv = { PATH: process.env.PATH, HOME: home, TERM: 'dumb', LANG: 'C.UTF-8', USER: process.env.USER ?? 'root', XDG_RUNTIME_DIR: runtime, ...xdg };
const projA = path.join(WORK, 'projA');
const projB = path.join(WORK, 'projB');
for (const d of [projA, projB]) fs.mkdirSync(d, { recursive: true });
fs.writeFileSync(path.join(projA, 'secret.txt'), 'secret\n');
fs.writeFileSync(path.join(projA, 'twin.txt'), 'twin\n');
fs.writeFileSync(path.join(projA, '.sbx.yaml'), 'version: 1\nread: { deny: ["secret.txt"] }\nenv: { deny: ["*_TOKEN"] }\n');
fs.writeFileSync(path.join(projB, '.sbx.yaml'), 'version: 1\nread: { deny: ["nothing-here"] }\n');

const hooks = {};
for (const sh of ['bash', 'zsh', 'fish']) {
  hooks[sh] = path.join(WORK, `hook.${sh}`);
  fs.writeFileSync(hooks[sh], execFileSync(SBX, ['hook', sh]));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : `${(ns / 1e3).toFixed(1)} µs`);

function timeRun(argv, env, cwd = WORK) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { env, cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const ns = Number(process.hrtime.bigint() - t0);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ns, out: r.stdout };
}

function shellArgv(sh, script) {
  if (sh === 'bash') return ['bash', '--norc', '--noprofile', '-i', script];
  if (sh === 'zsh') return ['zsh', '-f', '-i', script];
  return ['fish', '--no-config', '-i', script];
}

// Loops of N hook calls vs N no-op calls in one shell process: (difference) / N = cost per prompt.
function loopScript(sh, body, n, pre = '') {
  const file = path.join(WORK, `loop-${sh}-${body.replace(/\W/g, '')}.${sh}`);
  const src = sh === 'fish' ? `source ${hooks[sh]}\n${pre}\nfor i in (seq ${n})\n  ${body}\nend\n` : `source ${hooks[sh]}\n${pre}\nfor ((i = 0; i < ${n}; i++)); do ${body}; done\n`;
  fs.writeFileSync(file, src);
  return file;
}

function perCall(sh, body, pre, env, cwd) {
  const hook = loopScript(sh, body, N, pre);
  const noop = loopScript(sh, sh === 'fish' ? 'true' : ':', N, pre);
  const diffs = [];
  for (let r = 0; r < RUNS; r++) {
    const a = timeRun(shellArgv(sh, hook), env, cwd).ns;
    const b = timeRun(shellArgv(sh, noop), env, cwd).ns;
    diffs.push((a - b) / N);
  }
  return Math.max(0, median(diffs));
}

function hyperfine(cmd, env, cwd) {
  const json = path.join(WORK, 'hf.json');
  execFileSync('hyperfine', ['-N', '--warmup', '5', '--runs', String(RUNS * 20), '--export-json', json, cmd], { env, cwd, stdio: 'ignore' });
  return JSON.parse(fs.readFileSync(json, 'utf8')).results[0].median * 1e9;
}

const out = [];
const budgets = [];
const ONLY = process.env.HOOK_BENCH ?? '';
out.push('### Shell hook: prompt cost and cd latency', '');
if (ONLY !== 'terminal') {

// 1. Unchanged prompt.
const freshFile = path.join(WORK, 'fresh-marker');
fs.writeFileSync(freshFile, '');
const outside = { ...baseEnv, SBX_DISABLE: '1' };
const prompt = {};
for (const sh of ['bash', 'zsh', 'fish']) {
  // fish runs its hook on PWD/SBX_DIRENV_USE events; a prompt only emits fish_prompt, which calls it.
  // With a fresh marker, as in a session: the prompt path stats it (the before-change hook
  // ignores the variable).
  const body = sh === 'fish' ? 'emit fish_prompt' : '__sbx_hook';
  const pre = sh === 'fish' ? `set -g __sbx_fresh ${freshFile}` : `__sbx_hook; __sbx_fresh=${freshFile}`;
  prompt[sh] = perCall(sh, body, pre, outside, projA);
}

// direnv: per prompt it runs `direnv export bash`; with the env already loaded it prints nothing.
const envrcDir = path.join(WORK, 'direnv-proj');
fs.mkdirSync(envrcDir, { recursive: true });
fs.writeFileSync(path.join(envrcDir, '.envrc'), 'export FOO=1\n');
execFileSync('direnv', ['allow', envrcDir], { env: baseEnv });
const loaded = (cmd, cwd, env = baseEnv) => {
  const dump = execFileSync('bash', ['-c', `eval "$(${cmd})" 2>/dev/null; env -0`], { env, cwd, encoding: 'utf8' });
  return Object.fromEntries(dump.split('\0').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
};
const direnvEnv = loaded('direnv export bash', envrcDir);
const direnvPrompt = hyperfine('direnv export bash', direnvEnv, envrcDir);
const direnvCd = hyperfine('direnv export bash', baseEnv, envrcDir);

let misePrompt;
let miseCd;
let miseNote = '';
if (fs.existsSync(MISE)) {
  const miseDir = path.join(WORK, 'mise-proj');
  fs.mkdirSync(miseDir, { recursive: true });
  fs.writeFileSync(path.join(miseDir, 'mise.toml'), '[env]\nFOO = "1"\n');
  const miseEnvBase = { ...baseEnv, MISE_YES: '1', MISE_TRUSTED_CONFIG_PATHS: miseDir };
  const miseEnv = { ...loaded(`${MISE} hook-env -s bash`, miseDir, miseEnvBase), ...miseEnvBase };
  misePrompt = hyperfine(`${MISE} hook-env -s bash`, { ...miseEnvBase, ...miseEnv }, miseDir);
  miseCd = hyperfine(`${MISE} hook-env -s bash`, miseEnvBase, miseDir);
} else miseNote = `mise not installed (npm install --prefix bench/work @jdxcode/mise)`;

out.push('| per unchanged prompt | cost | spawns |', '|---|---|---|');
for (const sh of ['bash', 'zsh', 'fish']) out.push(`| sbx hook, ${sh} | ${fmt(prompt[sh])} | none |`);
out.push(`| direnv export bash (env loaded, nothing to do) | ${fmt(direnvPrompt)} | 1 process |`);
out.push(`| mise hook-env -s bash (env loaded) | ${misePrompt ? fmt(misePrompt) : `n/a (${miseNote})`} | 1 process |`);
out.push('');
const worst = Math.max(...Object.values(prompt));
budgets.push({ id: 'prompt', value: `${fmt(worst)} (worst of bash/zsh/fish)`, met: worst <= 1e6 });

// 2. A push, shell side only: canned replies (a file read, parse, env apply), cd A <-> B.
const fake = path.join(WORK, 'fake');
const fakeReply = (req, text) => {
  fs.mkdirSync(path.dirname(path.join(fake, req)), { recursive: true });
  fs.writeFileSync(path.join(fake, req), text);
};
fakeReply(`cd${projA}`, 'sbx 1\npolicy a\nprompt sbx:A\nenv-deny *_TOKEN\nenv-deny AWS_*\nenv-allow AWS_REGION\n');
fakeReply(`cd${projB}`, 'sbx 1\npolicy b\nprompt sbx:B\n');
const pushShell = {};
const M = 300;
for (const sh of ['bash', 'zsh', 'fish']) {
  // SBX_SESSION in the environment: the hook acts as in a session (no check, no re-exec).
  // One process: M rounds of cd A; cd B through the hook, then the same with the hook removed;
  // the clock (date, spawned only at the boundaries) brackets both loops.
  const file = path.join(WORK, `push-${sh}.${sh}`);
  const loop = (body) => (sh === 'fish' ? `for i in (seq ${M}); ${body}; end` : `for ((i = 0; i < ${M}; i++)); do ${body}; done`);
  const set = sh === 'fish' ? `set -g __sbx_proc ${fake}` : `__sbx_proc=${fake}`;
  fs.writeFileSync(
    file,
    [
      `source ${hooks[sh]}`,
      set,
      'date +%s%N',
      loop(`cd ${projA}; cd ${projB}`),
      // Baseline without the hook: zsh's builtin cd still runs chpwd_functions, fish still
      // fires PWD events, so unhook them first.
      sh === 'zsh' ? 'chpwd_functions=()' : sh === 'fish' ? 'functions -e __sbx_hook' : ':',
      'date +%s%N',
      loop(`builtin cd ${projA}; builtin cd ${projB}`),
      'date +%s%N',
      '',
    ].join('\n'),
  );
  const per = [];
  for (let r = 0; r < RUNS; r++) {
    const env = { ...baseEnv, SBX_SESSION: 'bench', GH_TOKEN: 'x', AWS_KEY: 'y', AWS_REGION: 'z' };
    const [t0, t1, t2] = timeRun(shellArgv(sh, file), env).out.trim().split('\n').map(Number);
    per.push((t1 - t0 - (t2 - t1)) / (2 * M));
  }
  pushShell[sh] = median(per);
}
out.push('| one push, shell side (canned reply: read, parse, env apply) | cost |', '|---|---|');
for (const sh of ['bash', 'zsh', 'fish']) out.push(`| ${sh} | ${fmt(pushShell[sh])} |`);
out.push('');

// 3. cd → policy in force, in a real session: each shell times its own `cd` (EPOCHREALTIME:
// no process spawned), whose push returns once the supervisor has switched the policy; the
// denied file must then be unreadable and its twin readable (builtin reads, checked each time).
// fish has no in-process clock, so it is not in this table.
const cdLines = [];
const cdFigures = [];
for (const sh of ['bash', 'zsh']) {
  const script = path.join(WORK, `cd-session.${sh}`);
  fs.writeFileSync(
    script,
    `source ${hooks[sh]}
${sh === 'zsh' ? 'zmodload zsh/datetime' : ''}
[[ -n \${SBX_SESSION-} ]] || { echo "NA not in a session"; exit 0; }
builtin cd ${projB}; __sbx_hook
for ((i = 0; i < 200; i++)); do
  t0=$EPOCHREALTIME; cd ${projA}; t1=$EPOCHREALTIME
  if { read -r x < secret.txt; } 2>/dev/null; then echo "LEAK secret readable after cd"; exit 1; fi
  { read -r x < twin.txt; } 2>/dev/null || { echo "BROKEN twin unreadable"; exit 1; }
  echo "T $t0 $t1"
  cd ${projB}
done
`,
  );
  const argv = sh === 'bash' ? ['bash', '--norc', '--noprofile', '-i', script] : ['zsh', '-f', '-i', script];
  const r = spawnSync(SBX, ['shell', '--', ...argv], { env: baseEnv, cwd: projB, encoding: 'utf8', timeout: 120_000 });
  const lines = `${r.stdout ?? ''}`.split('\n');
  const ts = lines.filter((l) => l.startsWith('T ')).map((l) => { const [, a, b] = l.split(' '); return (Number(b) - Number(a)) * 1e9; });
  const failure = lines.find((l) => /^(LEAK|BROKEN|NA)/.test(l));
  if (ts.length > 0 && !failure) {
    const med = median(ts);
    const p95 = [...ts].sort((x, y) => x - y)[Math.floor(ts.length * 0.95)];
    cdLines.push(`| sbx: cd → policy in force (${sh}, real session, denied file checked each time) | ${fmt(med)} (p95 ${fmt(p95)}) |`);
    cdFigures.push({ sh, med, p95 });
  } else {
    const why = failure ?? (r.stderr || `sbx shell exited ${r.status}`).split('\n').find((l) => l.trim()) ?? 'unknown';
    cdLines.push(`| sbx: cd → policy in force (${sh}) | n/a (${why.trim()}) |`);
  }
}
if (cdFigures.length > 0) {
  const worst = cdFigures.reduce((w, f) => (f.p95 > w.p95 ? f : w));
  const value = cdFigures.map((f) => `${f.sh} ${fmt(f.med)} median / ${fmt(f.p95)} p95`).join(', ');
  budgets.push({ id: 'cd', value, met: worst.p95 <= 15e6 });
}
out.push('| entering a project | time |', '|---|---|', ...cdLines);
out.push(`| direnv export bash on entering an .envrc dir | ${fmt(direnvCd)} |`);
out.push(`| mise hook-env -s bash on entering a mise.toml dir | ${miseCd ? fmt(miseCd) : `n/a (${miseNote})`} |`);
out.push('');
out.push(`Method: prompt cost = (N=${N} hook calls − N no-ops) / N inside one shell, median of ${RUNS} runs; direnv/mise by hyperfine -N (their hooks spawn that command every prompt).`);
out.push('');
}

// 4. A new terminal: time to the first usable prompt, hook (check + re-exec into a session + rc
// again + first push) against the same rc without the hook. The rc exits at its first prompt
// once it is in a session (without the hook: at its first prompt). Each variant has its own
// HOME (bash: ~/.bashrc, zsh: $ZDOTDIR/.zshrc, fish: $XDG_CONFIG_HOME/fish/config.fish), since
// the re-exec reads the rc file again.
{
  const TRUNS = Number(process.env.BENCH_TERMINAL_RUNS ?? 30);
  const variant = (withHook) => terminalHome(path.join(WORK, `term-${withHook ? 'hook' : 'plain'}`), { sbx: SBX, withHook, baseEnv });
  // Start the supervisor once, outside the timed runs.
  spawnSync(SBX, ['daemon', 'start'], { env: baseEnv, stdio: 'ignore', timeout: 30_000 });
  const timed = (cmd, env) => {
    const json = path.join(WORK, 'hf-term.json');
    execFileSync('hyperfine', ['-N', '--warmup', '3', '--runs', String(TRUNS), '--export-json', json, cmd], { env, cwd: projB, stdio: 'ignore', timeout: 600_000 });
    return JSON.parse(fs.readFileSync(json, 'utf8')).results[0].median * 1e9;
  };
  out.push('| new terminal → first usable prompt (pty, supervisor running) | without hook | with hook | added |', '|---|---|---|---|');
  const added = [];
  for (const sh of ['bash', 'zsh', 'fish']) {
    const t = {};
    for (const withHook of [false, true]) {
      const env = { ...variant(withHook), SHELL: sh };
      try {
        t[withHook] = timed(`script -qec "${sh} -i" /dev/null`, env);
      } catch {
        t[withHook] = undefined;
      }
    }
    const [a, b] = [t[false], t[true]];
    if (a !== undefined && b !== undefined) added.push(b - a);
    out.push(`| ${sh} | ${a !== undefined ? fmt(a) : 'n/a'} | ${b !== undefined ? fmt(b) : 'n/a'} | ${a !== undefined && b !== undefined ? fmt(b - a) : 'n/a'} |`);
  }
  if (added.length > 0) budgets.push({ id: 'terminal', value: `${fmt(Math.max(...added))} added (worst of bash/zsh/fish)`, met: Math.max(...added) <= 50e6 });
  out.push('', `Method: hyperfine -N, median of ${TRUNS} runs after 3 warm-ups, of script(1) running \`SHELL -i\` until its first prompt (with the hook: the first prompt inside a session).`);
}
spawnSync(SBX, ['daemon', 'stop'], { env: baseEnv, stdio: 'ignore', timeout: 10_000 });
process.stdout.write(`${out.join('\n')}\n`);
for (const b of budgets) process.stdout.write(`BUDGET ${JSON.stringify(b)}\n`);
