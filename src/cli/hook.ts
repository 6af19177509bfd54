/**
 * `sbx hook bash|zsh|fish`: prints the shell integration to eval from an rc file.
 * `sbx hook direnv`: prints direnvrc.sh (the `use sandbox` function) for ~/.config/direnv/lib/.
 */
import { readFileSync } from 'node:fs';
import type { Command } from './main.js';
import { UsageError } from '../errors.js';
import { direnvrcPath, isHookShell, renderHook, sbxBinPath, SHELLS } from '../hook/template.js';
import { writeHookCache } from '../hook/cache.js';

const usage = `usage: sbx hook <${SHELLS.join('|')}|direnv>

Prints the shell integration. Put it near the top of your rc file (an interactive shell that
is not sandboxed yet is re-executed inside a session, which runs the rc file again):
  bash   ~/.bashrc                    eval "$(sbx hook bash)"
  zsh    ~/.zshrc                     eval "$(sbx hook zsh)"
  fish   ~/.config/fish/config.fish   sbx hook fish | source

Then the policy follows every cd with no process started on the prompt. Set SBX_DISABLE=1
to keep a shell out of the sandbox on purpose.

Prompt segment: $SBX_PROMPT (e.g. "sbx:proj", "!" = broken file, "?" = untrusted), also printed
by the sbx_prompt_info function.
  bash   PS1='\${SBX_PROMPT:+[$SBX_PROMPT] }'"$PS1"
  zsh    setopt prompt_subst; PROMPT='\${SBX_PROMPT:+[$SBX_PROMPT] }'"$PROMPT"
  fish   call sbx_prompt_info from fish_prompt
  starship.toml   [env_var.SBX_PROMPT]  format = "[$env_value]($style) "

direnv (\`use sandbox [FILE]\` in .envrc; FILE defaults to .sbx.yaml), either
  echo "source $(sbx hook direnv --path)" >> ~/.config/direnv/direnvrc
or
  sbx hook direnv > ~/.config/direnv/lib/sbx.sh`;

/** bash's builtins (`compgen -b`): an exported function of such a name runs instead of it. */
const BASH_BUILTINS = new Set(
  ('. : [ alias bg bind break builtin caller cd command compgen complete compopt continue declare dirs disown echo enable eval exec exit ' +
    'export false fc fg getopts hash help history jobs kill let local logout mapfile popd printf pushd pwd read readarray readonly return ' +
    'set shift shopt source suspend test times trap true type typeset ulimit umask unalias unset wait').split(' '),
);

/** Functions the environment exports to bash (BASH_FUNC_name%%) that would stand in for a builtin or for sbx's own. */
export function shadowedBuiltins(env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const k of Object.keys(env)) {
    const name = /^BASH_FUNC_(.+)%%$/.exec(k)?.[1];
    if (name && (BASH_BUILTINS.has(name) || name.startsWith('__sbx') || name === 'sbx_prompt_info')) out.push(name);
  }
  return out.sort();
}

export const command: Command = {
  summary: 'print the shell integration (bash, zsh, fish) or the direnv library',
  usage,
  async run(args: string[]): Promise<number> {
    const [shell, ...rest] = args;
    if (shell === undefined) throw new UsageError('which shell? (bash, zsh, fish or direnv)', usage);
    if (shell === 'direnv') {
      if (rest.length === 1 && rest[0] === '--path') process.stdout.write(`${direnvrcPath()}\n`);
      else if (rest.length === 0) process.stdout.write(readFileSync(direnvrcPath(), 'utf8'));
      else throw new UsageError(`unexpected argument '${rest[0]}'`, usage);
      return 0;
    }
    if (!isHookShell(shell)) throw new UsageError(`unknown shell '${shell}' (supported: ${SHELLS.join(', ')}, direnv)`, usage);
    if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`, usage);
    const shadowed = shell === 'bash' ? shadowedBuiltins(process.env) : [];
    if (shadowed.length > 0) {
      // Said by this process, on the terminal: the shell that would run the hook runs those
      // functions instead of its builtins (they could skip the session and silence it).
      process.stderr.write(
        `sbx: NOT sandboxed: this terminal's environment defines shell functions named like bash builtins or sbx's own (${shadowed.join(', ')}): they would run in place of the sandbox's hook; remove ${shadowed.map((n) => `BASH_FUNC_${n}%%`).join(', ')} from what starts this terminal (an editor's terminal settings?)\n`,
      );
      return 0;
    }
    const bin = sbxBinPath();
    const text = renderHook(shell, bin);
    process.stdout.write(text);
    writeHookCache(shell, bin, text);
    return 0;
  },
};
