/**
 * `sbx trust [DIR|FILE]` / `sbx untrust [DIR|FILE]`: record or forget the content hash of
 * the project file in force for DIR, or of any policy FILE (direnv's `use sandbox FILE`
 * names one). Inside a sandboxed session (SBX_SESSION set) trusting
 * needs a person at the terminal: we ask on /dev/tty, never on stdin (which a process
 * can feed). The trust db itself is a write floor, so a process cannot skip this by
 * writing the file.
 */
import { closeSync, mkdirSync, openSync, readSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from './main.js';
import { parseArgs } from './args.js';
import { SbxError, UsageError } from '../errors.js';
import { findProjectFile } from '../policy/discover.js';
import { loadPolicyFile } from '../policy/load.js';
import { PROJECT_FILE, stateDir } from '../policy/paths.js';
import { isTrusted, trust, untrust } from '../policy/trust.js';

const trustUsage = `usage: sbx trust [DIR | FILE]

Trusts the ${PROJECT_FILE} in force for DIR (default: the current directory), or the policy
FILE (e.g. the one direnv's \`use sandbox FILE\` names), as it is now, so it may widen access
beyond the user policy. Any edit makes it untrusted again.`;

const untrustUsage = `usage: sbx untrust [DIR | FILE]

Forgets the trust of the ${PROJECT_FILE} in force for DIR, or of FILE: it can only take rights away again.`;

function projectFileFor(args: string[], usage: string): string {
  const parsed = parseArgs(args, {}, usage);
  if (parsed.positionals.length > 1) throw new UsageError(`expected at most one directory or file (got ${parsed.positionals.length})`, usage);
  const dir = resolve(parsed.positionals[0] ?? '.');
  let isFile = false;
  try {
    isFile = statSync(dir).isFile();
  } catch {
    // not there: looked up as a directory below
  }
  if (isFile) return dir;
  const file = findProjectFile(dir);
  if (!file) throw new SbxError(`no ${PROJECT_FILE} at or above ${dir}`, { hint: 'create one with `sbx init`' });
  return file;
}

/** Asks on the controlling terminal; false when the answer is wrong. Throws without a tty. */
function confirmAtTerminal(file: string): boolean {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch (err) {
    throw new SbxError(`refusing to trust ${file} from inside a sandboxed session without a terminal (${(err as NodeJS.ErrnoException).code ?? 'no tty'})`, {
      hint: 'a person must confirm: run `sbx trust` yourself in the terminal, or outside the sandbox',
    });
  }
  try {
    const name = basename(dirname(file));
    writeSync(fd, `sbx: a command in this sandboxed session asks to trust ${file}.\nTrusting lets it widen access. Type the project directory name (${name}) or 'yes' to trust it: `);
    let line = '';
    const buf = Buffer.alloc(256);
    while (!line.includes('\n') && line.length < 4096) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      line += buf.subarray(0, n).toString('utf8');
    }
    const answer = line.split('\n')[0]!.trim();
    return answer === 'yes' || answer === name;
  } finally {
    closeSync(fd);
  }
}

/**
 * Inside a real session the trust db is a write floor, so the write would fail after the
 * person answered: find out first, and say where to run it.
 */
function assertTrustDbWritable(): void {
  const dir = stateDir();
  const probe = join(dir, `.trust-probe-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new SbxError(`cannot record trust from inside this sandboxed session: ${dir} is protected (${code})`, {
      hint: 'run `sbx trust` in a terminal outside the sandbox',
    });
  }
}

async function runTrust(args: string[]): Promise<number> {
  const file = projectFileFor(args, trustUsage);
  const loaded = loadPolicyFile(file, 'project'); // a broken file is not trusted
  if (isTrusted(loaded.file, loaded.sha256)) {
    process.stdout.write(`already trusted: ${loaded.file}\n`);
    return 0;
  }
  if (process.env.SBX_SESSION !== undefined) assertTrustDbWritable();
  if (process.env.SBX_SESSION !== undefined && !confirmAtTerminal(loaded.file)) {
    throw new SbxError(`not trusted: ${loaded.file} (the answer did not match)`);
  }
  trust(loaded.file, loaded.sha256);
  process.stdout.write(`trusted: ${loaded.file} (sha256 ${loaded.sha256.slice(0, 12)}); editing it makes it untrusted again\n`);
  return 0;
}

async function runUntrust(args: string[]): Promise<number> {
  const file = projectFileFor(args, untrustUsage);
  const was = untrust(file);
  process.stdout.write(was ? `untrusted: ${file}\n` : `was not trusted: ${file}\n`);
  return 0;
}

export const command: Command = { summary: 'trust the project policy file as it is now', usage: trustUsage, run: runTrust };
export const untrustCommand: Command = { summary: 'forget the trust of a project policy file', usage: untrustUsage, run: runUntrust };
