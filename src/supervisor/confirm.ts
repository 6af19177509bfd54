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
 * Stray keystrokes and `yes` cannot match a word that is new each time.
 */
import { randomInt } from 'node:crypto';
import { closeSync, constants as fsc, openSync, readlinkSync, statSync, writeSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { ttyFacts, ttyPath } from './procfs.js';

const ANSWER_MS = 120_000;
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
}

/** Terminals with a confirmation on screen: one at a time each. */
const busy = new Set<string>();

export function randomWord(n = 5): string {
  let w = '';
  for (let i = 0; i < n; i++) w += LETTERS[randomInt(LETTERS.length)];
  return w;
}

/** Why this caller's terminal cannot be used for a confirmation, or its path. */
export function checkTerminal(req: Pick<ConfirmRequest, 'pid' | 'rootPid' | 'sandboxedPty'>): { path: string } | { why: string } {
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
  return { path };
}

/** Reads one line from the terminal, or undefined at the timeout or an error. */
function readLine(fd: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const input = new ReadStream(fd);
    let buf = '';
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      input.removeAllListeners('data');
      input.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    input.setEncoding('utf8');
    input.on('error', () => done(undefined));
    input.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.search(/[\r\n]/);
      if (nl !== -1) done(buf.slice(0, nl));
      else if (buf.length > 256) done(buf);
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
  try {
    out = openSync(t.path, fsc.O_RDWR | fsc.O_NOCTTY);
    const word = randomWord();
    const lines = [
      '',
      `sbx (outside the sandbox): ${req.asks}`,
      ...req.allows.map((a) => `  ${a}`),
      `sbx: to allow this, type ${word} and press Enter (anything else refuses): `,
    ];
    writeSync(out, lines.join('\r\n'));
    const answer = await readLine(openSync(t.path, fsc.O_RDWR | fsc.O_NOCTTY | fsc.O_NONBLOCK), ANSWER_MS);
    const ok = answer !== undefined && answer.trim() === word;
    writeSync(out, ok ? 'sbx: confirmed.\r\n' : `sbx: refused (${answer === undefined ? 'no answer' : 'the word did not match'}).\r\n`);
    return ok ? { ok: true } : { ok: false, why: answer === undefined ? 'nobody answered at the terminal' : 'the word typed did not match' };
  } catch (err) {
    return { ok: false, why: `cannot use the terminal ${t.path}: ${(err as Error).message}` };
  } finally {
    if (out !== undefined) closeSync(out);
    busy.delete(t.path);
  }
}
