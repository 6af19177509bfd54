/**
 * Builds the C fixtures (tiny executables under test/fixtures/c) once per run into
 * test/fixtures/bin, so tests exercise real programs against the real kernel. Gives the run a
 * temp directory of its own (TMPDIR, inherited by the test workers) and removes it afterwards,
 * so the thousands of homes and worlds the tests make do not pile up in /tmp.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execaSync } from 'execa';

export default function setup(): () => void {
  const runTmp = mkdtempSync(join(tmpdir(), 'sbx-test-run-'));
  chmodSync(runTmp, 0o1777); // as /tmp: tests that switch to another user still create files in it
  process.env.TMPDIR = runTmp;
  buildFixtures();
  return () => rmSync(runTmp, { recursive: true, force: true, maxRetries: 5 });
}

function buildFixtures(): void {
  const root = resolve(import.meta.dirname, 'fixtures');
  const src = join(root, 'c');
  const out = join(root, 'bin');
  const nativeSrc = resolve(import.meta.dirname, '..', 'native', 'unotify', 'src');
  const filterSources = ['filter.h', 'syscalls.def', 'syscall_numbers.h'].map((f) => join(nativeSrc, f));
  mkdirSync(out, { recursive: true });
  for (const file of readdirSync(src)) {
    if (!file.endsWith('.c')) continue;
    const target = join(out, file.slice(0, -2));
    const source = join(src, file);
    // A fixture is stale when a header it includes changed: the filter's (syscall_walk: the
    // table) or one of the fixtures' own (net_common.h).
    const text = readFileSync(source, 'utf8');
    const own = [...text.matchAll(/#include "([\w.]+\.h)"/g)].map((m) => join(src, m[1]!));
    const deps = [source, ...own, ...(text.includes('native/unotify/src/') ? filterSources : [])];
    if (existsSync(target) && deps.every((d) => statSync(target).mtimeMs >= statSync(d).mtimeMs)) continue;
    // A fixture may ask for more flags on a line `/* cflags: ... */` (e.g. -static).
    const extra = /\/\* cflags: ([^*]*)\*\//.exec(text)?.[1]?.trim().split(/\s+/) ?? [];
    execaSync('cc', ['-O2', '-Wall', '-pthread', ...extra, '-o', target, source], { stdio: 'inherit' });
  }
}
