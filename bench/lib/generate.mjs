// Builds the C helpers and generates the workload trees under bench/work/ (once; reused
// while their recipe is unchanged, so repeated runs do not pay for generation).
import fs from 'node:fs';
import path from 'node:path';
import { BENCH, BIN, REPO, WORK } from './paths.mjs';
import { run } from './proc.mjs';

const RECIPE = 'v1';

function fresh(dir) {
  const stamp = path.join(dir, '.bench-recipe');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === RECIPE) return false;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return true;
}
const stampDone = (dir) => fs.writeFileSync(path.join(dir, '.bench-recipe'), RECIPE);

/** bench/c/*.c → bench/work/bin/ (rebuilt when the source is newer). */
export function buildHelpers() {
  fs.mkdirSync(BIN, { recursive: true });
  for (const name of ['timeit', 'syscalls', 'min_unotify']) {
    const src = path.join(BENCH, 'c', `${name}.c`);
    const out = path.join(BIN, name);
    if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(src).mtimeMs) continue;
    run(['gcc', '-O2', '-Wall', '-Wextra', '-pthread', '-o', out, src]);
  }
  const target = path.join(WORK, 'open-target.txt');
  if (!fs.existsSync(target)) fs.writeFileSync(target, 'bench\n');
  return { openTarget: target };
}

/** A git repository with 20 000 committed files in 200 directories. */
export function gitRepo() {
  const dir = path.join(WORK, 'git-20k');
  if (fresh(dir)) {
    for (let d = 0; d < 200; d++) {
      const sub = path.join(dir, `pkg${String(d).padStart(3, '0')}`);
      fs.mkdirSync(sub);
      for (let f = 0; f < 100; f++) fs.writeFileSync(path.join(sub, `file${f}.txt`), `package ${d} file ${f}\n`);
    }
    const git = (...a) => run(['git', '-c', 'user.name=bench', '-c', 'user.email=bench@localhost', ...a], { cwd: dir, timeoutMs: 600_000 });
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'bench tree');
    stampDone(dir);
  }
  return dir;
}

/** A C project of 200 source files (199 modules + main) and a Makefile. */
export function cProject() {
  const dir = path.join(WORK, 'c-200');
  if (fresh(dir)) {
    const n = 199;
    let header = '#pragma once\n';
    let calls = '';
    for (let i = 0; i < n; i++) {
      header += `int mod${i}(int x);\n`;
      calls += `  acc += mod${i}(acc);\n`;
      fs.writeFileSync(path.join(dir, `mod${i}.c`), [
        '#include <string.h>', '#include "common.h"',
        `static int table${i}[64];`,
        `static int mix${i}(int x) { for (int k = 0; k < 64; k++) table${i}[k] = (x * ${i + 3} + k) ^ (k << 3); return table${i}[x & 63]; }`,
        `int mod${i}(int x) { char buf[32]; memset(buf, ${i % 200}, sizeof buf); return mix${i}(x + buf[${i % 32}]); }`,
        '',
      ].join('\n'));
    }
    fs.writeFileSync(path.join(dir, 'common.h'), header);
    fs.writeFileSync(path.join(dir, 'main.c'), `#include <stdio.h>\n#include "common.h"\nint main(void) {\n  int acc = 1;\n${calls}  printf("%d\\n", acc);\n  return 0;\n}\n`);
    fs.writeFileSync(path.join(dir, 'Makefile'), [
      'CFLAGS = -O1',
      'OBJS = $(patsubst %.c,%.o,$(wildcard *.c))',
      'app: $(OBJS)', '\t$(CC) -o $@ $(OBJS)',
      '%.o: %.c common.h', '\t$(CC) $(CFLAGS) -c $< -o $@', '',
    ].join('\n'));
    stampDone(dir);
  }
  return dir;
}

/**
 * A snapshot of this repo's committed TypeScript (git HEAD) so every column compiles the
 * same tree even while the team keeps editing src/; output goes to bench/work, not dist/.
 */
export function tscSnapshot() {
  const dir = path.join(WORK, 'tsc-snapshot');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const tar = path.join(WORK, 'tsc-snapshot.tar');
  const rev = run(['git', '-C', REPO, 'rev-parse', 'HEAD']).trim();
  run(['git', '-C', REPO, 'archive', '-o', tar, 'HEAD']);
  run(['tar', '-xf', tar, '-C', dir]);
  fs.rmSync(tar);
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
  const files = run(['git', '-C', REPO, 'ls-files', 'src']).split('\n').filter((f) => f.endsWith('.ts')).length;
  return { dir, rev, files };
}

/**
 * A Node dependency tree: 600 packages under node_modules (package.json + index.js + two
 * lib files each, every package requiring the next two), and an entry that requires them
 * all: ~2400 files opened and many more stat'd by Node's resolver.
 */
export function nodeTree() {
  const dir = path.join(WORK, 'node-tree');
  if (fresh(dir)) {
    const n = 600;
    const mods = path.join(dir, 'node_modules');
    for (let i = 0; i < n; i++) {
      const pkg = path.join(mods, `dep${i}`);
      fs.mkdirSync(path.join(pkg, 'lib'), { recursive: true });
      fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: `dep${i}`, version: '1.0.0', main: 'index.js' }));
      const next = [i + 1, i + 2].filter((k) => k < n).map((k) => `require('dep${k}');`).join(' ');
      fs.writeFileSync(path.join(pkg, 'index.js'), `${next}\nmodule.exports = require('./lib/a') + require('./lib/b');\n`);
      fs.writeFileSync(path.join(pkg, 'lib', 'a.js'), `module.exports = ${i};\n`);
      fs.writeFileSync(path.join(pkg, 'lib', 'b.js'), `module.exports = ${i * 2};\n`);
    }
    const requires = Array.from({ length: n }, (_, i) => `s += require('dep${i}');`).join('\n');
    fs.writeFileSync(path.join(dir, 'main.js'), `let s = 0;\n${requires}\nconsole.log(s);\n`);
    stampDone(dir);
  }
  return dir;
}
