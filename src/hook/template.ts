/**
 * Renders the shell hook templates in shells/ with the absolute path of sbx baked in, so the
 * hook never depends on PATH and never searches for sbx on the prompt path.
 */
import { accessSync, constants, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type HookShell = (typeof SHELLS)[number];

/** Package root (dist/hook/ or src/hook/ → ../..). */
const root = fileURLToPath(new URL('../../', import.meta.url));

export function isHookShell(name: string): name is HookShell {
  return (SHELLS as readonly string[]).includes(name);
}

/** The sbx entry point the hook calls (only at shell start): the real path of bin/sbx. */
export function sbxBinPath(): string {
  return realpathSync(`${root}bin/sbx`);
}

export function templatePath(shell: HookShell): string {
  return `${root}shells/sbx.${shell}`;
}

export function direnvrcPath(): string {
  return `${root}direnvrc.sh`;
}

/** Single-quotes a word for bash, zsh and fish alike ('...' with ' and \ escaped where needed). */
export function shellQuote(word: string, shell: HookShell): string {
  if (shell === 'fish') return `'${word.replace(/[\\']/g, (c) => `\\${c}`)}'`;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The native client bin/sbx runs first (the same build directories its sh line tries, in the
 * same order), or '' without a native build. The hook starts a session through it directly:
 * a new terminal then skips bin/sbx's sh start (~3 ms here).
 */
export function fastClientPath(sbxBin: string): string {
  const build = join(dirname(dirname(sbxBin)), 'native', 'unotify', 'build');
  for (const c of ['Release', 'Debug']) {
    const p = join(build, c, 'sbx-fast');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not built in this configuration
    }
  }
  return '';
}

export function renderHook(shell: string, sbxBin: string = sbxBinPath()): string {
  if (!isHookShell(shell)) throw new UsageError(`unknown shell '${shell}' (supported: ${SHELLS.join(', ')})`);
  const text = readFileSync(templatePath(shell), 'utf8');
  for (const p of ['@SBX_BIN@', '@SBX_FAST@'])
    if (!text.includes(p)) throw new Error(`${templatePath(shell)} lacks the ${p} placeholder`);
  return text.replaceAll('@SBX_BIN@', shellQuote(sbxBin, shell)).replaceAll('@SBX_FAST@', shellQuote(fastClientPath(sbxBin), shell));
}
