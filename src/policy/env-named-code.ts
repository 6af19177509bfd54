/**
 * Places a terminal's variables point its tools at, for code or for configuration that runs
 * code: git's config files (fsmonitor, hooksPath, `!` aliases), what every bash or sh sources
 * (BASH_ENV, ENV), readline's and python's start files, a `.pth` in PYTHONUSERBASE, the file
 * NODE_OPTIONS `--require`s, the editor and askpass programs git, sudo and crontab run, cargo's,
 * rustup's, go's and direnv's configuration, a kubeconfig's exec plugins, an AWS config's
 * credential_process. Written inside, each runs outside later: they are floors (presets.ts).
 *
 * Every absolute path in such a variable's value counts (a command's program, an option's file,
 * each entry of a list), except what the rest of the policy decides: the project and what is
 * in it or holds it (its own venv, a GOPATH it lives in), the home or what holds it, the temp
 * dirs themselves, the sandbox's own cache, and kernel filesystems. One table: adding a
 * variable is one entry.
 */
import { isAbsolute, join, normalize } from 'node:path';
import { sandboxCacheDir } from './home-config.js';
import type { Env } from './paths.js';

export const CODE_NAMING_VARIABLES = [
  // configuration files and directories tools read code or commands from
  'GIT_CONFIG_GLOBAL', 'GIT_CONFIG_SYSTEM', 'BASH_ENV', 'ENV', 'INPUTRC', 'PYTHONSTARTUP', 'PYTHONUSERBASE',
  'GOENV', 'GOPATH', 'DIRENV_CONFIG', 'RUSTUP_HOME', 'CARGO_HOME', 'GRADLE_USER_HOME', 'GEM_HOME', 'BUNDLE_USER_HOME',
  'IPYTHONDIR', 'JUPYTER_CONFIG_DIR', 'R_PROFILE_USER', 'R_ENVIRON_USER', 'PSQLRC', 'MYVIMRC', 'SCREENRC',
  'CURL_HOME', 'WGETRC', 'PIP_CONFIG_FILE', 'NPM_CONFIG_USERCONFIG', 'npm_config_userconfig', 'NPM_CONFIG_GLOBALCONFIG',
  'npm_config_globalconfig', 'NPM_CONFIG_PREFIX', 'npm_config_prefix', 'AWS_CONFIG_FILE', 'KUBECONFIG', 'DOCKER_CONFIG',
  'ANSIBLE_CONFIG', 'STARSHIP_CONFIG', 'XINITRC', 'GNUPGHOME',
  // programs run by name (a command line: its program and any file it names)
  'EDITOR', 'VISUAL', 'GIT_EDITOR', 'SUDO_ASKPASS', 'SSH_ASKPASS', 'GIT_ASKPASS', 'GIT_SSH', 'GIT_SSH_COMMAND',
  'PAGER', 'GIT_PAGER', 'MANPAGER', 'LESSOPEN', 'LESSCLOSE', 'BROWSER', 'TERMINAL',
  // options and code that name files to load
  'NODE_OPTIONS', 'RUBYOPT', 'PERL5OPT', 'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'VIMINIT', 'EXINIT', 'PROMPT_COMMAND',
] as const;

const MAX_PATHS = 256;

/** The absolute paths the variables of CODE_NAMING_VARIABLES name, less what the policy decides otherwise. */
export function envNamedCode(env: Env, home: string, projectDir: string, temps: string[]): string[] {
  const cache = sandboxCacheDir(home, env);
  const within = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);
  const out = new Set<string>();
  for (const name of CODE_NAMING_VARIABLES) {
    const value = env[name];
    if (!value) continue;
    for (const token of value.split(/[\s:=,;"'|()`]+/)) {
      const raw = token.startsWith('~/') ? join(home, token.slice(2)) : token;
      if (!isAbsolute(raw)) continue;
      const p = normalize(raw).replace(/(.)\/+$/, '$1');
      if (p === '/' || within(home, p) || within(p, projectDir) || within(projectDir, p) || temps.includes(p)) continue;
      if (/^\/(dev|proc|sys)(\/|$)/.test(p) || within(p, cache)) continue;
      out.add(p);
      if (out.size >= MAX_PATHS) return [...out];
    }
  }
  return [...out];
}
