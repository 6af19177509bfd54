/** Finding the project policy file: the nearest `.sbx.yaml` walking up from a directory. */
import { dirname, join, resolve } from 'node:path';
import { canonicalPath, isRegularFile } from './expand.js';
import { PROJECT_FILE } from './paths.js';

/** Absolute path of the nearest project file at or above `dir`, or undefined. */
export function findProjectFile(dir: string): string | undefined {
  let d = canonicalPath(resolve(dir));
  for (;;) {
    const f = join(d, PROJECT_FILE);
    if (isRegularFile(f)) return f;
    const up = dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}
