/**
 * `sbx init [--dir D]`: writes a starter .sbx.yaml for the project in D (never overwrites).
 * It recognises the project (src/policy/ecosystems.ts: package.json, Cargo.toml, go.mod, …)
 * and extends the matching presets, so the usual tools work (their caches, the venv and
 * node_modules in the project, shell history, direnv, tmux) while the secrets and the
 * persistence floor stay; the network is limited to the recognised registries.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from './main.js';
import { flagValue, parseArgs, type FlagSpec } from './args.js';
import { SbxError } from '../errors.js';
import { PROJECT_FILE } from '../policy/paths.js';
import { insideSession } from '../protocol/inside.js';
import { detectEcosystems, ECOSYSTEMS, type Ecosystem } from '../policy/ecosystems.js';

const usage = `usage: sbx init [--dir D]

Writes a starter ${PROJECT_FILE} in D (default: the current directory), for the project it
recognises there (${ECOSYSTEMS.filter((e) => e.markers.length > 0).map((e) => e.name).join(', ')}).
Refuses to overwrite an existing file.`;

const list = (items: string[]) => `[${items.map((i) => JSON.stringify(i)).join(', ')}]`;

/** The starter file for the ecosystems found (none: a plain project, no network hosts named). */
export function starterPolicy(found: Ecosystem[]): string {
  const names = [...found.map((e) => e.name), 'shell-tools'];
  const hosts = [...new Set(found.flatMap((e) => e.hosts))];
  const seen = found.length > 0 ? found.map((e) => `${e.label} (${e.markers.join('/')})`).join('; ') : 'no known build tool';
  const net =
    hosts.length > 0
      ? `net:\n  # The registries of the tools above (and nothing else). "*.example.com" matches subdomains.\n  allow: ${list([...hosts, 'github.com', 'codeload.github.com'])}\n  deny: []\n`
      : `net:\n  # Absent = every host; [] = none. "*.example.com" matches subdomains, not example.com.\n  # allow: ["github.com", "registry.npmjs.org", "localhost"]\n  deny: []\n`;
  return `# sbx project policy, written by \`sbx init\` (see README "Policy").
# Recognised: ${seen}.
# Relative paths resolve against this file's directory; ~ and $VAR expand.
# Until you run \`sbx trust\`, this file can only take rights away.
# Your secrets (~/.ssh, cloud and registry credentials) and the persistence floor (shell rc
# files, git config and hooks, PATH dirs in ~) stay protected whatever this file says.
version: 1

# Presets: where these tools keep caches and state outside the project (npm/pnpm/yarn, pip/uv,
# cargo, go; shell history, direnv, fish universal variables, tmux) — src/policy/ecosystems.ts.
extends: ${list(names)}

read:
  deny: ["**/*.pem"]            # keep private keys in this tree unreadable
  allow: []

write:
  # Listing write.allow means: writes only here, the presets' paths (plus /dev/null & co).
  # The project itself holds node_modules, .venv, target/ and the like.
  allow: [".", "/tmp", "/var/tmp"]
  deny: [".sbx.yaml", ".envrc"]

exec:
  deny: []                      # e.g. "curl", "kubectl delete", "/usr/bin/nc"

${net}
env:
  deny: ["AWS_*", "*_TOKEN", "*_SECRET", "*_SECRET_KEY"]    # hidden from programs started here
  allow: []

# Per-program overrides, applied when that program is started:
# commands:
#   npm: { net: { allow: ["registry.npmjs.org"] } }

mode: enforce                   # audit: log what would be denied, deny nothing
`;
}

/** Kept for callers that want the file of a project with nothing recognised. */
export const STARTER = starterPolicy([]);

async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, { dir: { value: true } } satisfies Record<string, FlagSpec>, usage);
  if (parsed.positionals.length > 0) throw new SbxError(`sbx init takes no arguments (got '${parsed.positionals[0]}'); use --dir`, { exitCode: 2 });
  const dir = resolve(flagValue(parsed, 'dir') ?? '.');
  const file = join(dir, PROJECT_FILE);
  const found = detectEcosystems(dir);
  try {
    writeFileSync(file, starterPolicy(found), { flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new SbxError(`${file} already exists; not overwriting it`, { hint: 'edit it, or remove it first' });
    const inside = (code === 'EACCES' || code === 'EPERM') && insideSession();
    throw new SbxError(`cannot write ${file} (${code ?? (err as Error).message})`, {
      hint: inside ? 'policy files are a floor inside a sandbox: run `sbx init` in a terminal outside a session (SBX_DISABLE=1)' : undefined,
      cause: err,
    });
  }
  const what = found.length > 0 ? ` for ${found.map((e) => e.name).join(' + ')}` : '';
  process.stdout.write(`wrote ${file}${what}\nhint: review it, then run \`sbx trust\` so it can widen access\n`);
  return 0;
}

export const command: Command = {
  summary: 'write a starter .sbx.yaml for the project here',
  usage,
  run,
};
