/**
 * Variables sbx adds to every sandboxed launch (a session's shell, `sbx exec`) so the usual
 * tools work under the floors instead of failing on them:
 *   - NPM_CONFIG_USERCONFIG: ~/.npmrc without credentials (npmrc.ts);
 *   - GIT_TEMPLATE_DIR: an empty template, so `git init` creates no .git/hooks and .git/info
 *     (both in the persistence floor: hooks run outside later). Its .git/config is written by
 *     the engine when inert (native git_config.cc).
 * A variable the user set already is left alone.
 */
import { fileURLToPath } from 'node:url';
import { npmConfigEnv } from './npmrc.js';
import type { Env } from './paths.js';

/** share/git-template of this checkout (dist/policy/ or src/policy/ → ../../share). */
export const GIT_TEMPLATE_DIR = fileURLToPath(new URL('../../share/git-template', import.meta.url));

export function launchEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = { ...npmConfigEnv(env) };
  if (env.GIT_TEMPLATE_DIR === undefined) out.GIT_TEMPLATE_DIR = GIT_TEMPLATE_DIR;
  return out;
}
