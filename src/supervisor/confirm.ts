/**
 * A person at the terminal, not a process: the confirmation every widening from inside a
 * session needs (`sbx trust` run inside). The supervisor — outside the sandbox — opens the
 * caller's controlling terminal itself, prints exactly what will be allowed, and asks for a
 * short random word it shows there. A sandboxed process cannot answer:
 *   - it cannot write the terminal's input: TIOCSTI is refused by the filter, and a pty whose
 *     master a sandboxed process holds (tmux, script(1) started inside) is refused here;
 *   - it cannot see the word: it is written to the terminal's output, which only the master reads;
 *   - a pipe (`echo word | sbx trust`) is refused: the caller's stdin must be that terminal;
 *   - a background process is refused: the caller must be in the terminal's foreground group;
 *   - a terminal that is not the session's own (a new pty, another session's) is refused.
 * Nor can it change what the person reads, or read what they type: every process of the
 * session but its shell is stopped while the question is on screen (Engine.pause), and the
 * question starts with a terminal reset (anything written before it — half an escape
 * sequence, hidden text, a scroll region, another character set — cannot hide or reshape it).
 * The answer is read in raw mode, so Ctrl-C or Ctrl-D refuses at once instead of signalling
 * processes that are stopped. Stray keystrokes and `yes` cannot match a word that is new each time.
 */
import { randomInt } from 'node:crypto';
import { closeSync, constants as fsc, openSync, readlinkSync, statSync, writeSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { displaySafe } from '../display-safe.js';
import { ttyFacts, ttyPath } from './procfs.js';

const ANSWER_MS = 60_000;
const LETTERS = 'abcdefghjkmnpqrstuvwxyz'; // no i, l, o: nothing to misread

export type Confirmation = { ok: true } | { ok: false; why: string };

export interface ConfirmRequest {
  /** The process asking (its terminal is the one used). */
  pid: number;
  /** The session's first process (its shell): the caller's terminal must be the same one. */
  rootPid: number;
  /** Whether a pty was allocated inside a sandbox (its master held by a sandboxed process). */
  sandboxedPty(path: string): boolean;
  /** What the caller asks for, in words. */
  asks: string;
  /** Exactly what will be allowed, one item per line. */
  allows: string[];
  /** The asker is the session's own command, or a child of its shell (typed at the prompt). */
  typedAtPrompt: boolean;
  /** Stops every process of the session: '' when done, else why not all could be; resume() continues them. */
  pause(): Promise<string>;
  /** '' when nothing of the session ran while paused (something it arranged may have woken it), else what did. */
  quiet(): string;
  resume(): void;
}

/** The longest line of the request shown, and how many lines of it: a file's own text must not fill the screen. */
const LINE_MAX = 160;
const ALLOWS_SHOWN = 12;

/** A line cut to `max` characters, saying how much was left out. */
function shorten(line: string, max: number): string {
  return line.length <= max ? line : `${line.slice(0, max)}… (${line.length - max} more characters)`;
}

/** The allows, each on one line of at most LINE_MAX characters, runs of spaces shown by count. */
export function shownAllows(allows: string[]): string[] {
  const lines = allows.map((a) => `  ${shorten(displaySafe(a).replace(/ {4,}/g, (m) => ` [${m.length} spaces] `), LINE_MAX)}`);
  if (lines.length <= ALLOWS_SHOWN) return lines;
  return [...lines.slice(0, ALLOWS_SHOWN), `  … and ${lines.length - ALLOWS_SHOWN} more lines (run \`sbx policy\` in that directory outside to read them all; refuse if unsure)`];
}

/**
 * Before the question, everything earlier output may have set to hide or reshape it: a string
 * or sequence left open (CAN, ST: an OSC title would swallow the question), then a soft reset
 * and, explicitly, attributes (concealed, colours), character sets, insert mode, autowrap
 * (long lines cut), left/right margins, origin mode and the scroll region (a one-line region
 * scrolls all but the last line away), the palette and default colours; the cursor shown. The
 * resets move the cursor home, so it goes to the last line and the question scrolls up from
 * there: nothing on screen is overwritten.
 */
export const TERMINAL_RESET = [
  '\x18\x1b\\',
  '\x1b[!p',
  '\x1b[0m\x1b(B\x1b)B\x0f\x1b[4l\x1b[?7h\x1b[?69l\x1b[?6l\x1b[r',
  '\x1b]104\x1b\\\x1b]110\x1b\\\x1b]111\x1b\\',
  '\x1b[?25h\x1b[9999;1H\r\n',
].join('');

/** Terminals with a confirmation on screen: one at a time each. */
const busy = new Set<string>();

export function randomWord(n = 5): string {
  let w = '';
  for (let i = 0; i < n; i++) w += LETTERS[randomInt(LETTERS.length)];
  return w;
}

/** Why this caller's terminal cannot be used for a confirmation, or its path. */
export function checkTerminal(req: Pick<ConfirmRequest, 'pid' | 'rootPid' | 'sandboxedPty' | 'typedAtPrompt'>): { path: string } | { why: string } {
  const me = ttyFacts(req.pid);
  if (!me) return { why: 'the asking process is gone' };
  if (me.ttyNr === 0) return { why: 'it has no terminal: a person must confirm at the terminal (run the command yourself, in the shell)' };
  const root = ttyFacts(req.rootPid);
  if (!root || root.ttyNr !== me.ttyNr) return { why: "its terminal is not this session's terminal (a terminal opened inside the sandbox cannot confirm)" };
  const path = ttyPath(me.ttyNr);
  if (!path) return { why: 'its terminal is not a pty or console' };
  if (me.tpgid !== me.pgrp) return { why: 'it is not in the foreground of its terminal (a background process cannot ask)' };
  let stdinTty = false;
  try {
    const dev = statSync(path).rdev;
    stdinTty = statSync(readlinkSync(`/proc/${req.pid}/fd/0`)).rdev === dev;
  } catch {
    stdinTty = false;
  }
  if (!stdinTty) return { why: 'its standard input is not the terminal (a pipe or file cannot confirm: run it at the prompt)' };
  if (req.sandboxedPty(path)) return { why: `${path} was opened inside the sandbox (its master is held by a sandboxed process, e.g. tmux or script started inside)` };
  if (!req.typedAtPrompt) return { why: "only a command typed at the prompt of the session's shell can ask (not one another program started)" };
  return { path };
}

const REFUSED = '\x03';

/**
 * Reads one line from the terminal in raw mode, echoing what is typed (backspace erases);
 * REFUSED for Ctrl-C / Ctrl-D / Ctrl-Z / Escape; undefined at the timeout or an error.
 */
function readLine(fd: number, echo: (s: string) => void, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const input = new ReadStream(fd);
    let buf = '';
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      input.removeAllListeners('data');
      try {
        input.setRawMode(false);
      } catch {
        // the terminal went away
      }
      input.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    try {
      input.setRawMode(true);
    } catch {
      return done(undefined);
    }
    input.setEncoding('utf8');
    input.on('error', () => done(undefined));
    input.on('data', (chunk: string) => {
      for (const c of chunk) {
        if (c === '\r' || c === '\n') return done(buf);
        if (c === '\x03' || c === '\x04' || c === '\x1a' || c === '\x1b') return done(REFUSED);
        if (c === '\x7f' || c === '\b') {
          if (buf.length > 0) {
            buf = buf.slice(0, -1);
            echo('\b \b');
          }
        } else if (c >= ' ' && buf.length < 64) {
          buf += c;
          echo(c);
        }
      }
    });
  });
}

/** Asks the person at the caller's terminal; resolves when they answered (or did not). */
export async function confirmAtTerminal(req: ConfirmRequest): Promise<Confirmation> {
  const t = checkTerminal(req);
  if ('why' in t) return { ok: false, why: t.why };
  if (busy.has(t.path)) return { ok: false, why: `another confirmation is waiting on ${t.path}` };
  busy.add(t.path);
  let out: number | undefined;
  let paused = false;
  try {
    paused = true;
    const unpaused = await req.pause();
    if (unpaused !== '') return { ok: false, why: `the session's processes could not all be paused while asking: ${displaySafe(unpaused)}` };
    // Nothing of the session runs now: what was checked holds while the question is asked.
    const again = checkTerminal(req);
    if ('why' in again || again.path !== t.path) return { ok: false, why: 'why' in again ? again.why : 'its terminal changed' };
    out = openSync(t.path, fsc.O_RDWR | fsc.O_NOCTTY);
    const fd = out;
    const word = randomWord();
    const lines = [
      `sbx (outside the sandbox): ${displaySafe(req.asks)}`,
      ...shownAllows(req.allows),
      `sbx: the session's other processes are paused until you answer (${ANSWER_MS / 1000} s; Ctrl-C refuses).`,
      // Said again next to the word: what the file holds cannot push the request off screen.
      `sbx: ${shorten(displaySafe(req.asks), LINE_MAX)} — to allow it, type ${word} and press Enter (anything else refuses): `,
    ];
    writeSync(fd, TERMINAL_RESET + lines.join('\r\n'));
    const answer = await readLine(openSync(t.path, fsc.O_RDWR | fsc.O_NOCTTY | fsc.O_NONBLOCK), (s) => writeSync(fd, s), ANSWER_MS);
    const typed = answer !== undefined && answer !== REFUSED && answer.trim() === word;
    // What was on screen is only what we printed if nothing of the session ran meanwhile.
    const ran = typed ? req.quiet() : '';
    const ok = typed && ran === '';
    const why =
      answer === undefined
        ? 'nobody answered at the terminal'
        : answer === REFUSED
          ? 'refused at the terminal'
          : !typed
            ? 'the word typed did not match'
            : `a process of the session ran while the question was on screen (it may have changed what you read: ${displaySafe(ran)})`;
    writeSync(fd, ok ? '\r\nsbx: confirmed.\r\n' : `\r\nsbx: refused (${why}).\r\n`);
    return ok ? { ok: true } : { ok: false, why };
  } catch (err) {
    return { ok: false, why: `cannot use the terminal ${t.path}: ${(err as Error).message}` };
  } finally {
    if (out !== undefined) closeSync(out);
    if (paused) req.resume();
    busy.delete(t.path);
  }
}
