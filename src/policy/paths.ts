/**
 * Where sbx keeps things (XDG base dirs). Everyone in the project asks here, so the
 * policy compiler can protect exactly these paths.
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

export type Env = Record<string, string | undefined>;

/** $HOME, falling back to the passwd entry. */
export function homeDir(env: Env = process.env): string {
  const h = env.HOME;
  return h && isAbsolute(h) ? h : homedir();
}

/** XDG says relative values must be ignored. */
function xdg(env: Env, name: string, fallback: string): string {
  const v = env[name];
  return v && isAbsolute(v) ? v : fallback;
}

/** $XDG_CONFIG_HOME/sbx (default ~/.config/sbx). */
export function configDir(env: Env = process.env): string {
  return join(xdg(env, 'XDG_CONFIG_HOME', join(homeDir(env), '.config')), 'sbx');
}

/** The user policy file. */
export function userConfigFile(env: Env = process.env): string {
  return join(configDir(env), 'config.yaml');
}

/** $XDG_STATE_HOME/sbx (default ~/.local/state/sbx): trust db, violation log. */
export function stateDir(env: Env = process.env): string {
  return join(xdg(env, 'XDG_STATE_HOME', join(homeDir(env), '.local', 'state')), 'sbx');
}

/** Content hashes of trusted project files. */
export function trustFile(env: Env = process.env): string {
  return join(stateDir(env), 'trust.json');
}

/** $XDG_RUNTIME_DIR/sbx, or /tmp/sbx-$UID (create it with mode 0700). */
export function runtimeDir(env: Env = process.env): string {
  const r = env.XDG_RUNTIME_DIR;
  if (r && isAbsolute(r)) return join(r, 'sbx');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return `/tmp/sbx-${uid}`;
}

/** Name of the project policy file looked for in each directory. */
export const PROJECT_FILE = '.sbx.yaml';
