/**
 * Builds the C fixtures (tiny executables under test/fixtures/c) once per run into
 * test/fixtures/bin, so tests exercise real programs against the real kernel.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export default function setup(): void {
  const root = resolve(import.meta.dirname, 'fixtures');
  const src = join(root, 'c');
  const out = join(root, 'bin');
  mkdirSync(out, { recursive: true });
  for (const file of readdirSync(src)) {
    if (!file.endsWith('.c')) continue;
    const target = join(out, file.slice(0, -2));
    const source = join(src, file);
    if (existsSync(target) && statSync(target).mtimeMs >= statSync(source).mtimeMs) continue;
    execFileSync('cc', ['-O2', '-Wall', '-pthread', '-o', target, source], { stdio: 'inherit' });
  }
}
