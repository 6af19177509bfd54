/**
 * Variables sbx adds to every sandboxed launch (a session's shell, `sbx exec`) so the usual
 * tools work under the floors instead of failing on them:
 *   - NPM_CONFIG_USERCONFIG: ~/.npmrc without credentials (npmrc.ts);
 *   - GIT_TEMPLATE_DIR: an empty template, so `git init` creates no .git/hooks and .git/info
 *     (both in the persistence floor: hooks run outside later). Its .git/config is written by
 *     the engine when inert (native git_config.cc).
 *   - XDG_CACHE_HOME and npm's, yarn's, pnpm's and bun's cache dirs, cargo's home and go's
 *     module cache: the sandbox's own cache (home-config.ts): what programs inside cache, no
 *     tool outside reads (always set: a shared cache is a foothold; cargo and go build and
 *     run the sources theirs hold). go still reads modules the user downloaded outside,
 *     through GOPROXY's file:// form (checked against go.sum like any download).
 * Any other variable the user set already is left alone.
 */
import { fileURLToPath } from 'node:url';
import { existsSync, mkdirSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { sandboxCacheDir } from './home-config.js';
import { npmConfigEnv } from './npmrc.js';
import { homeDir } from './paths.js';
import type { Env } from './paths.js';

/** share/git-template of this checkout (dist/policy/ or src/policy/ → ../../share). */
export const GIT_TEMPLATE_DIR = fileURLToPath(new URL('../../share/git-template', import.meta.url));

/**
 * `env`: the variables the policy was built from (the caches and the npmrc follow their HOME
 * and XDG_*: the sandbox's cache is the one the policy leaves writable); `given`: what the
 * program gets (env rules may have dropped some), which decides what "the user set already"
 * means.
 */
export function launchEnv(env: Env, given: Env = env): Record<string, string> {
  const out: Record<string, string> = { ...npmConfigEnv(env, given), ...sandboxCacheEnv(env) };
  if (given.GIT_TEMPLATE_DIR === undefined) out.GIT_TEMPLATE_DIR = GIT_TEMPLATE_DIR;
  return out;
}

/** The caches of sandboxed programs, all below the sandbox's own cache dir. */
export function sandboxCacheEnv(env: Env): Record<string, string> {
  const dir = sandboxCacheDir(homeDir(env), env);
  try {
    // Made here, outside: inside, a missing ~/.cache could not be created (a dot-entry).
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch {
    // unwritable home: the tools inside say so themselves
  }
  return {
    XDG_CACHE_HOME: dir,
    npm_config_cache: join(dir, 'npm'),
    YARN_CACHE_FOLDER: join(dir, 'yarn'),
    npm_config_store_dir: join(dir, 'pnpm-store'),
    BUN_INSTALL_CACHE_DIR: join(dir, 'bun'),
    // cargo keeps its registry, git checkouts and locks under its home; config is still found
    // by cargo's walk up from the project (~/.cargo/config.toml for projects in the home).
    CARGO_HOME: join(dir, 'cargo'),
    GOMODCACHE: join(dir, 'go-mod'),
    ...goProxyEnv(env),
  };
}

/** The module cache go uses outside: $GOMODCACHE, else the first $GOPATH entry's, else ~/go's. */
function outsideGoModCache(env: Env): string {
  if (env.GOMODCACHE && isAbsolute(env.GOMODCACHE)) return env.GOMODCACHE;
  const gopath = env.GOPATH?.split(delimiter)[0];
  return join(gopath && isAbsolute(gopath) ? gopath : join(homeDir(env), 'go'), 'pkg', 'mod');
}

/**
 * GOPROXY with the outside module cache first (read-only, in the proxy's own file layout), so
 * modules downloaded outside need no network inside; the user's proxies (or go's default)
 * after it. Unset when there is no such cache.
 */
function goProxyEnv(env: Env): Record<string, string> {
  const download = join(outsideGoModCache(env), 'cache', 'download');
  if (!existsSync(download)) return {};
  return { GOPROXY: `file://${download},${env.GOPROXY || 'https://proxy.golang.org,direct'}` };
}
