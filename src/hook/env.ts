/**
 * The env policy as the shell hooks apply it to the shell's own environment, in TypeScript:
 * the reference the shell templates are tested against, and what `sbx shell` / the macOS restart
 * can use to carry the same state. Matching is the policy model's (decideEnv: `*` only, the most
 * specific pattern wins, deny wins ties), so the shell hides exactly what `sbx exec` would drop.
 */
import { decideEnv } from '../policy/match.js';

/** Never hidden: the shell needs them to work, or they belong to sbx or direnv. */
export function keptAlways(name: string): boolean {
  return (
    ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TERM', 'LANG', 'PWD', 'OLDPWD', 'SHLVL', '_'].includes(name) ||
    name.startsWith('SBX_') ||
    name.startsWith('DIRENV_') ||
    name.startsWith('__sbx')
  );
}

export function envHidden(name: string, deny: string[], allow: string[]): boolean {
  return !keptAlways(name) && decideEnv({ deny, allow }, name).effect === 'deny';
}

export interface EnvState {
  env: Record<string, string>;
  /** What the hook removed and will give back: NAME → value. */
  hidden: Record<string, string>;
}

/**
 * One reply applied: give back hidden variables that no longer match (unless set again since),
 * then hide newly matching ones. Mirrors __sbx_env_apply in shells/sbx.{bash,zsh,fish}.
 */
export function applyEnvPolicy(state: EnvState, deny: string[], allow: string[]): EnvState {
  const env = { ...state.env };
  const hidden: Record<string, string> = {};
  for (const [name, value] of Object.entries(state.hidden)) {
    if (envHidden(name, deny, allow)) hidden[name] = value;
    else if (!(name in env)) env[name] = value;
  }
  for (const name of Object.keys(env)) {
    if (name in state.hidden) continue; // set again by the user while hidden: theirs now
    if (!envHidden(name, deny, allow)) continue;
    hidden[name] = env[name]!;
    delete env[name];
  }
  return { env, hidden };
}
