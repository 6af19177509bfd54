// Exec identity cost (src/policy/exec-images.ts, native exec_rules.cc): the engine's hash
// of an image the first time in a process (page cache warm) vs from its cache, and what
// finishing a policy with program denies costs (first finish in a process vs again).
// Usage: node bench/exec-image-hash.mjs [FILE]   (default /usr/bin/git; run `npm run build` first)
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const file = process.argv[2] ?? '/usr/bin/git';
const runs = 7;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const probe = `
  const { loadNative } = await import(${JSON.stringify(join(root, 'dist/native/load.js'))});
  const a = loadNative();
  let u = process.cpuUsage(); let t = process.hrtime.bigint(); const c = a.imageDigest(${JSON.stringify(file)}); const cold = Number(process.hrtime.bigint() - t) / 1e6; u = process.cpuUsage(u); const coldCpu = (u.user + u.system) / 1e3;
  const hits = [];
  for (let i = 0; i < 50; i++) { t = process.hrtime.bigint(); a.imageDigest(${JSON.stringify(file)}); hits.push(Number(process.hrtime.bigint() - t) / 1e6); }
  hits.sort((x, y) => x - y);
  const { identifyExec } = await import(${JSON.stringify(join(root, 'dist/policy/exec-images.js'))});
  const exec = { default: 'allow', paths: [], programs: ['curl', 'git', 'kubectl', 'docker', 'npm', 'wget'].map((name, rule) => ({ rule, effect: 'deny', name, args: [] })) };
  t = process.hrtime.bigint(); identifyExec(exec, process.env); const f1 = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint(); identifyExec(exec, process.env); const f2 = Number(process.hrtime.bigint() - t) / 1e6;
  console.log(JSON.stringify({ cold, coldCpu, cached: hits[25], ok: c.sha256 !== null, f1, f2 }));
`;
const rows = [];
for (let i = 0; i < runs; i++) rows.push(JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' })));
const size = statSync(file).size;
const load = (await import('node:os')).loadavg()[0].toFixed(1);
console.log(`image hash of ${file} (${(size / 1048576).toFixed(1)} MiB), median of ${runs} fresh processes, load ${load}:`);
console.log(`  engine, first in the process: ${median(rows.map((r) => r.cold)).toFixed(2)} ms wall, ${median(rows.map((r) => r.coldCpu)).toFixed(2)} ms CPU   cached: ${median(rows.map((r) => r.cached)).toFixed(4)} ms`);
console.log(`  finishing exec deny [curl git kubectl docker npm wget]: first ${median(rows.map((r) => r.f1)).toFixed(1)} ms, again ${median(rows.map((r) => r.f2)).toFixed(1)} ms`);
