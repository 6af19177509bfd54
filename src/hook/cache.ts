/**
 * The hook text cache: `eval "$(sbx hook bash)"` runs in every new terminal, and Node costs
 * ~100 ms there. When Node renders a hook (src/hook/template.ts stays the one owner of the
 * text) it also writes it to <state dir>/hook-cache/<shell>, first line
 *   # sbx-hook-cache <shell> <real path of bin/sbx> <stamp of shells/sbx.SHELL> <stamp of package.json>
 * (stamp = ino:size:mtime-ns), then the text. The native client (native/unotify/src/fast.c)
 * prints the text when the key still matches what it computes, else runs Node again.
 * The state dir is in every policy's write floor: the text runs outside the sandbox later, so
 * no sandboxed process may write it. The client also refuses a file not private to the user.
 */
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir, type Env } from '../policy/paths.js';
import { packageRoot } from '../native/load.js';
import { templatePath, type HookShell } from './template.js';

export const CACHE_MAGIC = '# sbx-hook-cache ';

function stamp(path: string): string {
  const s = statSync(path, { bigint: true });
  return `${s.ino}:${s.size}:${s.mtimeNs}`;
}

export function hookCacheFile(shell: HookShell, env: Env = process.env): string {
  return join(stateDir(env), 'hook-cache', shell);
}

export function hookCacheKey(shell: HookShell, sbxBin: string): string {
  return `${shell} ${sbxBin} ${stamp(templatePath(shell))} ${stamp(join(packageRoot, 'package.json'))}`;
}

/** Writes the cache (atomically, 0600). Best effort: a sandboxed caller cannot write it, by design. */
export function writeHookCache(shell: HookShell, sbxBin: string, text: string, env: Env = process.env): void {
  // Inside a session the write would be denied (and logged as a violation): do not try.
  if (env.SBX_SESSION) return;
  try {
    const file = hookCacheFile(shell, env);
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${CACHE_MAGIC}${hookCacheKey(shell, sbxBin)}\n${text}`, { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // No cache: the next terminal runs Node again, nothing else changes.
  }
}
