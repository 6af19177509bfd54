// A HOME for timing a new terminal to its first usable prompt (bench/hook-prompt.mjs section 4,
// bench/supervisor-fastpath.mjs section 2): rc files for bash (~/.bashrc), zsh ($ZDOTDIR/.zshrc)
// and fish ($XDG_CONFIG_HOME/fish/config.fish) that exit at the first prompt, with the hook at
// the first prompt inside a session. One HOME per variant: the hook's re-exec reads the rc again.
import fs from 'node:fs';
import path from 'node:path';

/** The rc line that installs the hook of `sbx` for `sh`. */
export const hookLine = (sbx, sh) => (sh === 'fish' ? `${sbx} hook fish | source` : `eval "$(${sbx} hook ${sh})"`);

/** Writes the rc files under `dir` and returns the env that points the three shells at them. */
export function terminalHome(dir, { sbx, withHook, baseEnv }) {
  const cond = withHook ? '-n ${SBX_SESSION-}' : '1 == 1';
  fs.mkdirSync(path.join(dir, '.config', 'fish'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.bashrc'), `${withHook ? hookLine(sbx, 'bash') : ''}\nPROMPT_COMMAND+=$'\\n''[[ ${cond} ]] && exit 0'\n`);
  fs.writeFileSync(path.join(dir, '.zshrc'), `${withHook ? hookLine(sbx, 'zsh') : ''}\n__bench_exit() { [[ ${cond} ]] && exit 0 }\nprecmd_functions+=(__bench_exit)\n`);
  fs.writeFileSync(
    path.join(dir, '.config', 'fish', 'config.fish'),
    `${withHook ? hookLine(sbx, 'fish') : ''}\nfunction __bench_exit --on-event fish_prompt; ${withHook ? 'set -q SBX_SESSION; and ' : ''}exit 0; end\n`,
  );
  fs.writeFileSync(path.join(dir, '.config', 'fish', 'fish_variables'), '# VERSION: 3.0\nSETUVAR __fish_initialized:3400\n');
  fs.mkdirSync(path.join(dir, '.local', 'share', 'fish', 'generated_completions'), { recursive: true });
  return { ...baseEnv, HOME: dir, ZDOTDIR: dir, XDG_CONFIG_HOME: path.join(dir, '.config'), XDG_DATA_HOME: path.join(dir, '.local', 'share') };
}
