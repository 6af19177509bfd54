/**
 * Drives a real interactive shell in a real pty under tmux, as a person types: send-keys to
 * type, capture-pane to read. Each harness has its own tmux server (-L socket) and waits for
 * markers on the screen instead of sleeping.
 */
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execaSync } from 'execa';
import { afterAll, afterEach } from 'vitest';

export type Shell = 'bash' | 'zsh' | 'fish';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const sbxBin = join(repoRoot, 'bin', 'sbx');

let counter = 0;

/**
 * tmux config files live in a directory of this process's own: a name in the shared /tmp
 * could be left by another user's run (a recycled pid) and be unwritable here.
 */
let confDir: string | undefined;
function tmuxConfDir(): string {
  confDir ??= mkdtempSync(join(tmpdir(), 'sbx-e2e-tmux-'));
  return confDir;
}
afterAll(() => {
  if (confDir) rmSync(confDir, { recursive: true, force: true });
});

/** A temp tree standing in for the user's machine: HOME and XDG dirs, never the real ~. */
export interface Sandbox {
  root: string;
  home: string;
  env: Record<string, string>;
}

export function makeHome(prefix = 'sbx-e2e-'): Sandbox {
  const root = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  const home = join(root, 'home');
  const dirs = { XDG_CONFIG_HOME: '.config', XDG_STATE_HOME: '.local/state', XDG_DATA_HOME: '.local/share', XDG_CACHE_HOME: '.cache' };
  const env: Record<string, string> = {
    HOME: home,
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    TERM: 'xterm-256color',
    LANG: 'C.UTF-8',
    USER: process.env.USER ?? 'root',
    XDG_RUNTIME_DIR: join(root, 'run'),
  };
  for (const [k, v] of Object.entries(dirs)) {
    env[k] = join(home, v);
    mkdirSync(env[k]!, { recursive: true });
  }
  mkdirSync(env.XDG_RUNTIME_DIR!, { recursive: true, mode: 0o700 });
  // fish's first interactive start generates man page completions in the background (python,
  // minutes of CPU): mark this fish as initialised.
  // Universal variables as fish's first start leaves them (a fish user's home has them): fish
  // writes that file only then or on `set -U`, and inside a session it cannot (home
  // configuration: src/policy/home-config.ts).
  mkdirSync(join(env.XDG_CONFIG_HOME!, 'fish'), { recursive: true });
  writeFileSync(join(env.XDG_CONFIG_HOME!, 'fish', 'fish_variables'), initialisedFishVariables());
  // fish 3.x starts that generator whenever this directory is missing, whatever the marker says;
  // it then writes here after the test has killed the shell (ENOTEMPTY on cleanup).
  mkdirSync(join(env.XDG_DATA_HOME!, 'fish', 'generated_completions'), { recursive: true });
  return { root, home, env };
}

let fishVariables: string | undefined;

/** fish_variables after fish's first interactive start (run once, outside, in a scratch home). */
function initialisedFishVariables(): string {
  if (fishVariables !== undefined) return fishVariables;
  const scratch = mkdtempSync(join(tmpdir(), 'sbx-fish-init-'));
  try {
    mkdirSync(join(scratch, '.local', 'share', 'fish', 'generated_completions'), { recursive: true });
    execaSync('script', ['-qc', 'fish -i', '/dev/null'], {
      input: 'exit\n',
      env: { HOME: scratch, TERM: 'dumb', PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
      extendEnv: false,
      timeout: 30_000,
      reject: false,
    });
    fishVariables = readFileSync(join(scratch, '.config', 'fish', 'fish_variables'), 'utf8');
  } catch {
    fishVariables = '# VERSION: 3.0\nSETUVAR __fish_initialized:3400\n';
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return fishVariables;
}

/** Minimal rc files: a plain prompt that shows the sbx segment and $?, then `extra` lines. */
export function writeRc(sb: Sandbox, shell: Shell, extra: string): string {
  if (shell === 'bash') {
    const rc = join(sb.home, '.bashrc');
    writeFileSync(rc, `PS1='[\${SBX_PROMPT-}] \\$ '\nPROMPT_COMMAND=\n${extra}\n`);
    return rc;
  }
  if (shell === 'zsh') {
    const rc = join(sb.home, '.zshrc');
    writeFileSync(rc, `setopt prompt_subst\nPROMPT='[\${SBX_PROMPT-}] %# '\nunsetopt BEEP\n${extra}\n`);
    return rc;
  }
  const dir = join(sb.env.XDG_CONFIG_HOME!, 'fish');
  mkdirSync(dir, { recursive: true });
  const rc = join(dir, 'config.fish');
  writeFileSync(
    rc,
    `set -g fish_greeting\nfunction fish_prompt; printf '[%s] > ' (sbx_prompt_info 2>/dev/null; or true); end\n${extra}\n`,
  );
  return rc;
}

export function shellArgv(shell: Shell, rc: string): string[] {
  if (shell === 'bash') return ['bash', '--noprofile', '--rcfile', rc, '-i'];
  if (shell === 'zsh') return ['zsh', '-i']; // reads $ZDOTDIR/.zshrc (= HOME)
  return ['fish', '-i'];
}

export class Tmux {
  readonly socket = `sbx-e2e-${process.pid}-${++counter}`;
  private seq = 0;
  /** Lines of the screen+history already consumed by run()/waitFor(). */
  private consumed = 0;
  /**
   * The pane's output is also appended here (pipe-pane): waitFor() reads the screen only when
   * this grew, instead of spawning two tmux clients every poll (most of the suite's CPU).
   */
  private outputCopy = '';
  private outputSize = -1;

  constructor(readonly shell: Shell) {}

  private tmux(...args: string[]): string {
    // A wedged tmux fails the test with the command and its output instead of hanging it.
    return execaSync('tmux', ['-L', this.socket, ...args], { timeout: 30_000 }).stdout;
  }

  start(argv: string[], cwd: string, env: Record<string, string>): void {
    const conf = join(tmuxConfDir(), `${this.socket}.conf`);
    writeFileSync(conf, 'set -g history-limit 50000\nset -g status off\nset -sg escape-time 0\nset -g remain-on-exit on\n');
    const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    execaSync('tmux', ['-L', this.socket, '-f', conf, 'new-session', '-d', '-x', '220', '-y', '50', '-c', cwd, 'env', '-i', ...envArgs, ...argv], {
      env: { TMUX: '' }, // added to ours (extendEnv)
      timeout: 30_000,
    });
    this.outputCopy = join(tmuxConfDir(), `${this.socket}.out`);
    this.tmux('pipe-pane', '-o', `cat >> '${this.outputCopy}'`);
  }

  /** Whether the pane printed anything since the last call (true when it cannot tell). */
  private printedSince(): boolean {
    const size = this.outputCopy ? (statSync(this.outputCopy, { throwIfNoEntry: false })?.size ?? -1) : -1;
    if (size !== -1 && size === this.outputSize) return false;
    this.outputSize = size;
    return true;
  }

  /** Whole pane (history + screen), wrapped lines joined, trailing blank lines dropped. */
  capture(): string[] {
    const text = this.tmux('capture-pane', '-p', '-J', '-S', '-', '-E', '-');
    const lines = text.split('\n').map((l) => l.trimEnd()); // zsh pads its PROMPT_SP line
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return lines;
  }

  /** Everything printed since the last run()/waitFor() returned. */
  fresh(): string[] {
    return this.capture().slice(this.consumed);
  }

  /** Types text as keystrokes and presses Enter. */
  type(text: string): void {
    this.tmux('send-keys', '-l', text);
    this.tmux('send-keys', 'Enter');
  }

  /** Sends keys by tmux name (C-c, Escape), without Enter. */
  keys(...names: string[]): void {
    this.tmux('send-keys', ...names);
  }

  /** Polls the screen until `pattern` shows up in fresh output; marks it consumed. */
  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    // The screen is read when the pane printed, for a few polls after (tmux may copy output to
    // the pipe before it draws it), and every quarter second whatever the copy says.
    let readUntil = 0;
    let lastRead = 0;
    for (;;) {
      const now = Date.now();
      if (this.printedSince()) readUntil = now + 100;
      if (now > readUntil && now - lastRead < 250 && now <= deadline) {
        await new Promise((r) => setTimeout(r, 15));
        continue;
      }
      lastRead = now;
      const lines = this.capture();
      const fresh = lines.slice(this.consumed);
      const i = fresh.findIndex((l) => pattern.test(l));
      if (i !== -1) {
        this.consumed += i + 1;
        return fresh.slice(0, i + 1);
      }
      // A shell that died will never print the pattern: say so with its screen and status.
      const [dead, status] = this.tmux('display-message', '-p', '#{pane_dead} #{pane_dead_status}').trim().split(' ');
      if (dead === '1') {
        await new Promise((r) => setTimeout(r, 300)); // tmux may not have read the last output yet
        throw new Error(`${this.shell} exited (status ${status}) while waiting for ${pattern}; screen:\n${this.capture().slice(-40).join('\n')}`);
      }
      if (Date.now() > deadline) {
        // A flood of output (a test's own writer) can scroll what sbx said off the screen: those lines too.
        const said = fresh.filter((l) => /sbx/.test(l)).slice(-12);
        throw new Error(`timed out waiting for ${pattern} in ${this.shell} (${fresh.length} lines since the last wait${said.length ? `; lines naming sbx among them:\n${said.join('\n')}` : ', none naming sbx'}); screen:\n${lines.slice(-40).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 15));
    }
  }

  /**
   * Types `command`, then a marker printf on the same line, and returns what was printed between
   * the typed line and the marker (sbx notices included), plus the exit status of `command`.
   */
  async run(command: string, timeoutMs?: number): Promise<{ out: string[]; status: number }> {
    const id = `M${++this.seq}x${counter}`;
    const st = this.shell === 'fish' ? '$status' : '$?';
    // The typed line shows '@@%s:%s@@' and the id apart; only the output has "@@<id>:<n>@@".
    const sep = command.trimEnd().endsWith('&') ? ' ' : '; '; // `job &; x` is a syntax error
    this.type(`${command}${sep}printf '@@%s:%s@@\\n' ${id} ${st}`);
    const lines = await this.waitFor(new RegExp(`^@@${id}:(\\d+)@@$`), timeoutMs);
    // Keys typed before the prompt shows are echoed by the tty, then redrawn after the prompt:
    // the output starts after the last copy of the typed line.
    const start = lines.findLastIndex((l) => l.includes(`@@%s:%s@@`) && l.includes(id));
    const status = Number(/@@\w+:(\d+)@@/.exec(lines[lines.length - 1]!)![1]);
    return { out: lines.slice(start + 1, -1), status };
  }

  /** Waits for the next prompt line (contains "] " + prompt char) after a command. */
  async prompt(timeoutMs?: number): Promise<string> {
    const lines = await this.waitFor(/^\[[^\]]*\] [#$%>] ?$/, timeoutMs);
    return lines[lines.length - 1]!;
  }

  kill(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // already gone
    }
  }
}

/** Starts `shell` in a pane at `cwd` with the sandbox env and waits for its first prompt. */
export async function startShell(
  shell: Shell,
  sb: Sandbox,
  cwd: string,
  rcExtra: string,
  env: Record<string, string> = {},
): Promise<Tmux> {
  const rc = writeRc(sb, shell, rcExtra);
  const t = new Tmux(shell);
  const zdot = shell === 'zsh' ? { ZDOTDIR: sb.home } : {};
  t.start(shellArgv(shell, rc), cwd, { ...sb.env, ...zdot, SHELL: shellPath(shell), ...env });
  await t.prompt(20_000);
  return t;
}

export function shellPath(shell: Shell): string {
  return execaSync('sh', ['-c', `command -v ${shell}`]).stdout.trim();
}

/**
 * For a test file's terminals and sandboxes: terminals pushed to `started` are killed after
 * each test, and each sandbox pushed to `worlds` has its supervisor stopped after the file.
 */
export function trackTerminals(opts: { forceStop?: boolean } = {}): { started: Tmux[]; worlds: Sandbox[] } {
  const started: Tmux[] = [];
  const worlds: Sandbox[] = [];
  afterEach(() => {
    for (const t of started.splice(0)) t.kill();
  });
  afterAll(() => {
    const stop = ['daemon', 'stop', ...(opts.forceStop ? ['--force'] : [])];
    for (const sb of worlds) execaSync(sbxBin, stop, { env: sb.env, extendEnv: false, stdio: 'ignore', timeout: 10_000, reject: false });
  });
  return { started, worlds };
}
