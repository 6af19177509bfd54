/**
 * The one place the native addon and launcher are located. When they are missing the
 * error lists every path tried (node-pty style) instead of a bare MODULE_NOT_FOUND.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeAddon } from '../../native/unotify/native.js';
import { NativeLoadError } from '../errors.js';

const require = createRequire(import.meta.url);

/** Repository/package root: dist/native/load.js → ../.. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function buildDirs(): string[] {
  const base = join(packageRoot, 'native', 'unotify', 'build');
  return [join(base, 'Release'), join(base, 'Debug')];
}

/** The exact command that builds the native part, for this checkout (printed with every load error). */
export function nativeBuildFix(): string {
  return `cd ${packageRoot} && npm run native`;
}

let cached: NativeAddon | undefined;

export function loadNative(): NativeAddon {
  if (cached) return cached;
  const tried: string[] = [];
  let lastError: unknown;
  for (const dir of buildDirs()) {
    const file = join(dir, 'sbx_unotify.node');
    tried.push(file);
    if (!existsSync(file)) continue;
    try {
      cached = require(file) as NativeAddon;
      return cached;
    } catch (err) {
      lastError = err;
    }
  }
  throw new NativeLoadError('native addon sbx_unotify.node could not be loaded', tried, lastError, { hint: `run: ${nativeBuildFix()}` });
}

/** Absolute path of the sbx-launch executable. */
export function launcherPath(): string {
  const tried: string[] = [];
  for (const dir of buildDirs()) {
    const file = join(dir, 'sbx-launch');
    tried.push(file);
    if (existsSync(file)) return file;
  }
  throw new NativeLoadError('launcher sbx-launch not found', tried, undefined, { hint: `run: ${nativeBuildFix()}` });
}
