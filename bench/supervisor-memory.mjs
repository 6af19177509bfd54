#!/usr/bin/env node
// Supervisor memory with N idle sessions (not a test; never fails): for each count, the
// supervisor's RSS split into anonymous and file/shared pages (/proc/<pid>/smaps_rollup),
// its thread count, and the mappings holding the most resident memory (/proc/<pid>/smaps,
// grouped: [anon], [heap], a file's name, /memfd:NAME). What tells a per-session cost apart.
// Usage: node bench/supervisor-memory.mjs [REPO] [0,10,50]   (REPO: a checkout to measure,
// default this one; XENV=NAME=VALUE adds one variable to the supervisor's environment,
// e.g. XENV=MALLOC_ARENA_MAX=2)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
const REPO = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '..')); const COUNTS = (process.argv[3] ?? '0,10,50').split(',').map(Number);
const SBX = path.join(REPO, 'bin', 'sbx');
const LAUNCH = path.join(REPO, 'native', 'unotify', 'build', 'Release', 'sbx-launch');
const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'supmem-')));
const home = path.join(dir, 'home'); const proj = path.join(home, 'p');
for (const d of ['run', 'state', 'config', 'home/p']) fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o700 });
fs.writeFileSync(path.join(proj, '.sbx.yaml'), 'version: 1\nread:\n  deny: ["nothing"]\n');
fs.writeFileSync(path.join(proj, 'public.txt'), 'PUBLIC\n');
const env = { PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: path.join(dir, 'run'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_CONFIG_HOME: path.join(dir, 'config'), LANG: 'C', ...(process.env.XENV ? Object.fromEntries([[process.env.XENV.slice(0, process.env.XENV.indexOf('=')), process.env.XENV.slice(process.env.XENV.indexOf('=') + 1)]]) : {}) };
const keeperSock = path.join(dir, 'run', 'sbx', 'keeper.sock');
const sbx = (...a) => spawnSync(SBX, a, { env, cwd: home, encoding: 'utf8' });
const status = () => JSON.parse(sbx('status', '--json').stdout);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sessions = [];
function session() { const c = spawn(LAUNCH, ['--session', keeperSock, '--sbx', SBX, '--', 'sh', '-c', 'cat public.txt >/dev/null; exec sleep 1000'], { env, cwd: proj, stdio: 'ignore' }); sessions.push(c); }
async function waitSessions(n) { for (;;) { const s = status().sessions; if (s.length >= n && s.every((x) => x.decisions > 0)) return; await sleep(200); } }
function snap(pid) {
  const r = Object.fromEntries(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n').filter((l) => /kB/.test(l)).map((l) => { const [k, v] = l.split(/:\s+/); return [k, parseInt(v)]; }));
  const threads = fs.readdirSync(`/proc/${pid}/task`).length;
  // group smaps by kind
  const groups = {}; let cur = null;
  for (const l of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = l.match(/^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/);
    if (m) { let n = m[1] || '[anon]'; if (n.startsWith('/memfd:')) n = '/memfd:' + n.split(' ')[0].slice(7).replace(/[0-9]+/g, '#'); else if (n.startsWith('/')) n = 'file:' + path.basename(n); cur = n; groups[cur] ??= { rss: 0, n: 0 }; groups[cur].n++; continue; }
    const r2 = l.match(/^Rss:\s+(\d+)/); if (r2 && cur) groups[cur].rss += Number(r2[1]);
  }
  return { rssKb: r.Rss, anon: r.Anonymous, shmem: r.Shmem ?? null, file: (r.Rss - r.Anonymous), threads, groups };
}
sbx('daemon', 'start');
await sleep(1000);
const out = [];
for (const n of COUNTS) {
  while (sessions.length < n) session();
  if (n > 0) await waitSessions(n);
  await sleep(1500);
  const st = status(); const pid = st.supervisor.pid;
  const s = snap(pid);
  out.push({ n, statusRssMiB: (st.supervisor.rssBytes / 1048576).toFixed(1), ...s });
  const top = Object.entries(s.groups).sort((a, b) => b[1].rss - a[1].rss).slice(0, 8).map(([k, v]) => `${k}:${v.rss}kB/${v.n}`).join(' ');
  console.log(`n=${n} rss=${(s.rssKb/1024).toFixed(1)}MiB anon=${(s.anon/1024).toFixed(1)} file+shmem=${(s.file/1024).toFixed(1)} threads=${s.threads} | ${top}`);
  }
for (const c of sessions) c.kill('SIGKILL');
sbx('daemon', 'stop', '--force');
fs.rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(out.map(({ groups, ...r }) => r)));
