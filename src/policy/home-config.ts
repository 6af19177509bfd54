/**
 * The home's dot-entries (`~/.config`, `~/.local`, `~/.tmux.conf`, `~/.cargo/env` …) are
 * where tools keep the configuration and code they load when they start: a python
 * `usercustomize.py`, direnv's `direnvrc` and allow list, tmux's and vim's rc, fish's vendor
 * snippets, a file an rc file sources, a zsh `$ZDOTDIR`. Whatever a sandboxed program writes
 * there runs outside the sandbox later. Listing them one by one (the persistence floor) always
 * misses some, so every policy write-denies them all (compile.ts, a closing touch), and
 * leaves writable only what programs inside must write and nothing runs: caches,
 * histories, XDG state, fish's universal variables — where the policy allowed them anyway.
 *
 * A default, not a floor: a trusted policy file (or an `sbx exec --allow-write`) that names a
 * path below the home's dot-entries allows it (`write: allow: ["~/.nvm"]`), the most
 * specific rule winning as ever.
 */
import { isAbsolute, join, normalize } from 'node:path';
import type { Env } from './paths.js';

/** How `sbx policy` and denial lines name the rule. */
export const HOME_CONFIG_ORIGIN = 'built-in: home configuration (tools load it outside later)';

/** Written by programs inside, run by nothing: allowed back under the dot-entries deny. */
export function homeWritable(home: string, env: Env): string[] {
  const xdg = (name: string, fallback: string) => (env[name] && isAbsolute(env[name]!) ? normalize(env[name]!) : fallback);
  const cache = xdg('XDG_CACHE_HOME', join(home, '.cache'));
  const state = xdg('XDG_STATE_HOME', join(home, '.local', 'state'));
  const data = xdg('XDG_DATA_HOME', join(home, '.local', 'share'));
  const config = xdg('XDG_CONFIG_HOME', join(home, '.config'));
  const histories = [
    '.bash_history', '.zsh_history', '.zhistory', '.histfile', '.sh_history', '.python_history', '.node_repl_history',
    '.lesshst', '.viminfo', '.psql_history', '.sqlite_history', '.mysql_history', '.rediscli_history', '.wget-hsts',
  ];
  return [
    cache,
    state,
    ...histories.map((h) => join(home, h)),
    // fish's history, written through temp files next to it (fish_history.XXXXXX); the
    // code fish loads from here is denied again (homeCodeCaches).
    join(data, 'fish'),
    // fish rewrites its universal variables at every prompt, through a temp file next to them
    // (the code fish runs there — config.fish, conf.d, functions — is in the persistence floor).
    join(config, 'fish'),
    // Package caches outside XDG: what a build inside downloads.
    join(home, '.npm'),
    join(home, '.yarn'),
    join(home, '.pnpm-store'),
    join(data, 'pnpm', 'store'),
    join(home, '.cargo', 'registry'),
    join(home, '.cargo', 'git'),
    join(home, '.cargo', '.package-cache'),
    join(home, '.cargo', '.global-cache'),
    join(home, '.m2', 'repository'),
    join(home, '.gradle', 'caches'),
    join(home, '.bun', 'install', 'cache'),
  ];
}

/** Below `homeWritable`, what a tool outside runs as code: denied again. */
export function homeCodeCaches(home: string, env: Env): string[] {
  const xdg = (name: string, fallback: string) => (env[name] && isAbsolute(env[name]!) ? normalize(env[name]!) : fallback);
  const cache = xdg('XDG_CACHE_HOME', join(home, '.cache'));
  const fish = join(xdg('XDG_DATA_HOME', join(home, '.local', 'share')), 'fish');
  return [
    join(cache, 'pre-commit'), // the hook repositories pre-commit runs
    ...['vendor_conf.d', 'vendor_functions.d', 'vendor_completions.d', 'generated_completions'].map((d) => join(fish, d)),
  ];
}
