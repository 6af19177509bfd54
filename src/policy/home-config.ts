/**
 * The home's dot-entries (`~/.config`, `~/.local`, `~/.tmux.conf`, `~/.cargo/env` …) are
 * where tools keep the configuration and code they load when they start: a python
 * `usercustomize.py`, direnv's `direnvrc` and allow list, tmux's and vim's rc, fish's vendor
 * snippets, a file an rc file sources, a zsh `$ZDOTDIR`. Whatever a sandboxed program writes
 * there runs outside the sandbox later. Listing them one by one (the persistence floor) always
 * misses some, so every policy write-denies them all (compile.ts), and leaves writable only
 * what programs inside write and nothing runs — histories, fish's history, the sandbox's own
 * cache — where the policy allowed them anyway (a symlink there to a place the sandbox may not
 * write is refused by the engine: fs_ops.cc link_target_refused). Not fish's universal variables
 * (`SETUVAR --export LD_PRELOAD:…` reaches every program an outside fish starts), not
 * ~/.cache or a package cache (code: see sandboxCacheDir).
 *
 * The runtime dir is denied the same way (runtimeElsewhere).
 *
 * A default, not a floor: a trusted policy file (or an `sbx exec --allow-write`) that names a
 * path below the home's dot-entries allows it (`write: allow: ["~/.nvm"]`), the most
 * specific rule winning as ever.
 */
import { basename, isAbsolute, join, normalize } from 'node:path';
import { userRuntimeDirs, xdg, type Env } from './paths.js';

/** How `sbx policy` and denial lines name the rule. */
export const HOME_CONFIG_ORIGIN = 'built-in: home configuration (tools load it outside later)';

const SANDBOX_CACHE = 'sbx-sandbox';

/**
 * The sandbox's own cache directory: sandboxed programs get it as XDG_CACHE_HOME (and npm,
 * yarn, pnpm and bun their caches below it: launch-env.ts), so nothing they cache is ever
 * read by a tool outside (a cache is code: npx runs packages from ~/.npm/_npx, zsh themes
 * source scripts from ~/.cache, cargo runs build scripts from its registry).
 */
export function sandboxCacheDir(home: string, env: Env): string {
  const cache = xdg(env, 'XDG_CACHE_HOME', join(home, '.cache'));
  return basename(cache) === SANDBOX_CACHE ? cache : join(cache, SANDBOX_CACHE); // a nested exec keeps the one it is in
}

/** Written by programs inside, read back by nothing that runs it: left writable under the dot-entries deny. */
export function homeWritable(home: string, env: Env): string[] {
  const data = xdg(env, 'XDG_DATA_HOME', join(home, '.local', 'share'));
  const histories = [
    '.bash_history', '.zsh_history', '.zhistory', '.histfile', '.sh_history', '.python_history', '.node_repl_history',
    '.lesshst', '.viminfo', '.psql_history', '.sqlite_history', '.mysql_history', '.rediscli_history', '.wget-hsts',
  ];
  return [
    sandboxCacheDir(home, env),
    // Not $XDG_STATE_HOME: Nix keeps its user profiles there (on PATH), mise and nvim their
    // trust lists.
    ...histories.map((h) => join(home, h)),
    // fish's history, written through temp files next to it (fish_history.XXXXXX); the
    // code fish loads from here is denied again (homeCodeCaches). Not when it is fish's config
    // dir too (XDG_DATA_HOME the same as XDG_CONFIG_HOME): its fish_variables is code.
    ...(join(data, 'fish') === join(xdg(env, 'XDG_CONFIG_HOME', join(home, '.config')), 'fish') ? [] : [join(data, 'fish')]),
    // The FIFO fish makes in the runtime dir to wake other fish shells after a `set -U`
    // (runtimeElsewhere): a byte in it only makes them read the (denied) variables file again.
    ...userRuntimeDirs(env).map((d) => join(d, 'fish_universal_variables.notifier')),
  ];
}

/**
 * $XDG_CONFIG_HOME, $XDG_DATA_HOME, $XDG_STATE_HOME, $XDG_CACHE_HOME and zsh's $ZDOTDIR where
 * they are not dot-entries of the home already: the same configuration, kept elsewhere (mise's
 * and nvim's trust lists are state; zsh sources its `.zcompdump` and plugins from ZDOTDIR).
 * Denied like the dot-entries.
 */
export function configElsewhere(home: string, env: Env): string[] {
  const out: string[] = [];
  for (const name of ['XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME', 'XDG_CACHE_HOME', 'ZDOTDIR']) {
    const v = env[name];
    if (!v || !isAbsolute(v)) continue;
    let p = normalize(v).replace(/(.)\/+$/, '$1');
    if (name === 'XDG_CACHE_HOME' && basename(p) === SANDBOX_CACHE) p = p.slice(0, -SANDBOX_CACHE.length - 1) || '/'; // a nested exec's
    if (p === '/' || p === home || p.startsWith(`${home}/.`) || home.startsWith(`${p}/`)) continue;
    out.push(p);
  }
  return out;
}

/**
 * The runtime dir ($XDG_RUNTIME_DIR, /run/user/UID): what programs outside leave there and
 * read back later — an agent's environment file a login rc sources (`ssh-agent.env`), unit
 * and bus-service dirs (also floors: presets.ts), a podman login. Denied like the
 * dot-entries; sbx's own sockets there are a floor besides. A runtime dir that is the home,
 * above it or /tmp is left to the rest of the policy.
 */
export function runtimeElsewhere(home: string, env: Env): string[] {
  return userRuntimeDirs(env).filter((p) => p !== '/' && p !== '/tmp' && p !== home && !home.startsWith(`${p}/`));
}

/** Below `homeWritable`, what a tool outside runs as code: denied again. */
export function homeCodeCaches(home: string, env: Env): string[] {
  const data = xdg(env, 'XDG_DATA_HOME', join(home, '.local', 'share'));
  return ['vendor_conf.d', 'vendor_functions.d', 'vendor_completions.d', 'generated_completions'].map((d) => join(data, 'fish', d));
}
