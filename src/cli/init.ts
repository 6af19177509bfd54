/** `sbx init [--dir D]`: writes a commented starter .sbx.yaml (never overwrites). */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from './main.js';
import { flagValue, parseArgs, type FlagSpec } from './args.js';
import { SbxError } from '../errors.js';
import { PROJECT_FILE } from '../policy/paths.js';

const usage = `usage: sbx init [--dir D]

Writes a commented starter ${PROJECT_FILE} in D (default: the current directory).
Refuses to overwrite an existing file.`;

export const STARTER = `# sbx project policy — https://github.com/ (see README "Policy")
# Relative paths resolve against this file's directory; ~ and $VAR expand.
# Until you run \`sbx trust\`, this file can only take rights away.
version: 1

# Built-in presets: secrets, shell-rc, offline, project-only
extends: [shell-rc]

read:
  deny: ["**/*.pem"]            # keep private keys in this tree unreadable
  allow: []

write:
  # Listing write.allow means: writes only here (plus /dev/null & co).
  allow: [".", "/tmp"]
  deny: [".git/hooks", ".sbx.yaml", ".envrc"]

exec:
  deny: []                      # e.g. "curl", "kubectl delete", "/usr/bin/nc"

net:
  # Absent = every host; [] = none. "*.example.com" matches subdomains, not example.com.
  # allow: ["github.com", "*.npmjs.org", "registry.npmjs.org", "localhost"]
  deny: []

env:
  deny: ["AWS_*", "*_TOKEN"]    # hidden from programs started here
  allow: []

# Per-program overrides, applied when that program is started:
# commands:
#   npm: { net: { allow: ["registry.npmjs.org"] } }

mode: enforce                   # audit: log what would be denied, deny nothing
`;

async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, { dir: { value: true } } satisfies Record<string, FlagSpec>, usage);
  if (parsed.positionals.length > 0) throw new SbxError(`sbx init takes no arguments (got '${parsed.positionals[0]}'); use --dir`, { exitCode: 2 });
  const file = join(resolve(flagValue(parsed, 'dir') ?? '.'), PROJECT_FILE);
  try {
    writeFileSync(file, STARTER, { flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new SbxError(`${file} already exists; not overwriting it`, { hint: 'edit it, or remove it first' });
    throw new SbxError(`cannot write ${file} (${code ?? (err as Error).message})`, { cause: err });
  }
  process.stdout.write(`wrote ${file}\nhint: review it, then run \`sbx trust\` so it can widen access\n`);
  return 0;
}

export const command: Command = {
  summary: 'write a commented starter .sbx.yaml',
  usage,
  run,
};
