/**
 * `sbx trust [DIR|FILE]` / `sbx untrust [DIR|FILE]`: record or forget the content hash of
 * the project file in force for DIR, or of any policy FILE (direnv's `use sandbox FILE`
 * names one). Inside a sandboxed session trusting needs a person at the terminal: the
 * supervisor (outside) asks on the session's terminal itself, with a random word a sandboxed
 * process can neither see nor type (src/supervisor/confirm.ts). The trust db is a write
 * floor, so a process cannot skip this by writing the file.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from './main.js';
import { parseArgs } from './args.js';
import { SbxError, UsageError } from '../errors.js';
import { findProjectFile } from '../policy/discover.js';
import { loadPolicyFile } from '../policy/load.js';
import { PROJECT_FILE } from '../policy/paths.js';
import { widenInside } from '../protocol/inside.js';
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

async function runTrust(args: string[]): Promise<number> {
  const file = projectFileFor(args, trustUsage);
  const loaded = loadPolicyFile(file, 'project'); // a broken file is not trusted
  if (isTrusted(loaded.file, loaded.sha256)) {
    process.stdout.write(`already trusted: ${loaded.file}\n`);
    return 0;
  }
  // Inside a session the trust db is out of reach: the supervisor asks the person at this
  // terminal itself (src/supervisor/confirm.ts) and records the trust if they confirm.
  const inside = widenInside({ cmd: 'trust', file: loaded.file });
  if (inside) {
    if (inside.error) throw new SbxError(String(inside.error), { hint: 'run `sbx trust` yourself at the prompt of this shell, or in a terminal outside the sandbox' });
    const sha = String(inside.sha256 ?? loaded.sha256);
    process.stdout.write(
      inside.already ? `already trusted: ${loaded.file}\n` : `trusted: ${loaded.file} (sha256 ${sha.slice(0, 12)}), confirmed at the terminal; editing it makes it untrusted again\n`,
    );
    return 0;
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
