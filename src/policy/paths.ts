/**
 * Where sbx keeps things (XDG base dirs). Everyone in the project asks here, so the
 * policy compiler can protect exactly these paths.
 */
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Env = Record<string, string | undefined>;

/** $HOME, falling back to the passwd entry. */
export function homeDir(env: Env = process.env): string {
  const h = env.HOME;
  return h && isAbsolute(h) ? h : homedir();
}

/** $NAME when it is absolute (XDG says relative values must be ignored), else the fallback. */
export function xdg(env: Env, name: string, fallback: string): string {
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

/** sbx's own install — this checkout or package (dist/policy/paths.js or src/policy/paths.ts → ../..). */
export const installRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The parts of sbx's install that run outside the sandbox later: the CLI, the supervisor's code
 * and its dependencies, the native launcher, keeper, fast client and addon, the hook texts every
 * new terminal evaluates, and package.json (how Node loads dist/) — and what the rebuild the
 * README asks for turns into them, outside: the native sources and binding.gyp (its `<!(…)`
 * are shell commands node-gyp runs), src/, the lock file npm installs from, the TypeScript
 * config, share/ (git's template for sessions) and CI's script. Not test/: the suite is a
 * run the user starts, like any project's.
 */
export function ownProgramPaths(root: string = installRoot): string[] {
  return ['bin', 'dist', 'native', 'shells', 'direnvrc.sh', 'package.json', 'package-lock.json', 'node_modules', 'src', 'share', 'tsconfig.json', '.ci'].map((p) => join(root, p));
}

/** Content hashes of trusted project files. */
export function trustFile(env: Env = process.env): string {
  return join(stateDir(env), 'trust.json');
}

/** The violation log (rotated to .1 … .3) and the supervisor's own log, in the state dir. */
export function violationsFile(env: Env = process.env): string {
  return join(stateDir(env), 'violations.jsonl');
}
export function supervisorLogFile(env: Env = process.env): string {
  return join(stateDir(env), 'supervisor.log');
}

/**
 * State files about every session (what each was denied, where each started, which files the
 * user trusted): a sandbox reads only its own session's records, through `sbx log` inside.
 */
export function sessionRecordFiles(env: Env = process.env): string[] {
  const v = violationsFile(env);
  return [trustFile(env), supervisorLogFile(env), v, `${v}.1`, `${v}.2`, `${v}.3`];
}

/** $XDG_RUNTIME_DIR/sbx, or /tmp/sbx-$UID (create it with mode 0700). */
export function runtimeDir(env: Env = process.env): string {
  return runtimeDirs(env)[0]!;
}

/**
 * Every place a supervisor of this user may keep its sockets: runtimeDir's choice first, then
 * the /tmp fallback, which a start without XDG_RUNTIME_DIR (su -, cron, ssh without
 * pam_systemd) uses even while this one has a runtime dir.
 */
export function runtimeDirs(env: Env = process.env, uid = typeof process.getuid === 'function' ? process.getuid() : 0): string[] {
  const fallback = `/tmp/sbx-${uid}`;
  const r = env.XDG_RUNTIME_DIR;
  // Last: the usual XDG_RUNTIME_DIR, where a supervisor started from a login session keeps its
  // sockets even when this caller's variable is unset or elsewhere (its control socket must
  // stay out of reach of a unix allow either way).
  const usual = `/run/user/${uid}/sbx`;
  return [...new Set([...(r && isAbsolute(r) ? [join(r, 'sbx')] : []), fallback, usual])];
}

/**
 * The user's runtime dirs: $XDG_RUNTIME_DIR and /run/user/UID (what it usually is, and what a
 * program may name instead), normalised.
 */
export function userRuntimeDirs(env: Env = process.env): string[] {
  const out: string[] = [];
  const r = env.XDG_RUNTIME_DIR;
  if (r && isAbsolute(r)) out.push(normalize(r).replace(/(.)\/+$/, '$1'));
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  if (uid >= 0) out.push(`/run/user/${uid}`);
  return [...new Set(out)];
}

/** Name of the project policy file looked for in each directory. */
export const PROJECT_FILE = '.sbx.yaml';
