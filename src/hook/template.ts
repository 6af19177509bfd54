/**
 * Renders the shell hook templates in shells/ with the absolute path of sbx baked in, so the
 * hook never depends on PATH and never searches for sbx on the prompt path.
 */
import { readFileSync, realpathSync } from 'node:fs';
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

export function renderHook(shell: string, sbxBin: string = sbxBinPath()): string {
  if (!isHookShell(shell)) throw new UsageError(`unknown shell '${shell}' (supported: ${SHELLS.join(', ')})`);
  const text = readFileSync(templatePath(shell), 'utf8');
  if (!text.includes('@SBX_BIN@')) throw new Error(`${templatePath(shell)} lacks the @SBX_BIN@ placeholder`);
  return text.replaceAll('@SBX_BIN@', shellQuote(sbxBin, shell));
}
