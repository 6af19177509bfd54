/**
 * Thin main: pick the subcommand, run it, print any error in one place.
 * Subcommands are imported lazily so `sbx exec` does not pay for `sbx policy`.
 */
import { SbxError, UsageError, PolicyError } from '../errors.js';

export interface Command {
  /** One-line summary for `sbx --help`. */
  summary: string;
  /** Full usage text printed with a UsageError. */
  usage: string;
  run(args: string[]): Promise<number>;
}

// One line per subcommand (src/cli/<name>.ts exporting `command: Command`).
const commands: Record<string, () => Promise<Command>> = {
  exec: async () => (await import('./exec.js')).command,
  daemon: async () => (await import('./daemon.js')).command,
  status: async () => (await import('./status.js')).command,
  log: async () => (await import('./log.js')).command,
  why: async () => (await import('./why.js')).command,
  shell: async () => (await import('./shell.js')).command,
  doctor: async () => (await import('./doctor.js')).command,
  hook: async () => (await import('./hook.js')).command,
  check: async () => (await import('./check.js')).command,
  policy: async () => (await import('./policy.js')).command,
  init: async () => (await import('./init.js')).command,
  trust: async () => (await import('./trust.js')).command,
  untrust: async () => (await import('./trust.js')).untrustCommand,
};

async function topUsage(): Promise<string> {
  const lines = ['usage: sbx <command> [options]', '', 'commands:'];
  for (const [name, load] of Object.entries(commands)) {
    try {
      lines.push(`  ${name.padEnd(9)} ${(await load()).summary}`);
    } catch {
      // A command whose module is not built yet is simply not listed.
    }
  }
  lines.push('', 'Run `sbx <command> --help` for its options.');
  return lines.join('\n');
}

export function reportError(err: unknown): number {
  if (err instanceof SbxError) {
    process.stderr.write(`sbx: ${err.message}\n`);
    if (err instanceof PolicyError) for (const issue of err.issues) process.stderr.write(`  ${issue}\n`);
    if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    if (err instanceof UsageError && err.usage) process.stderr.write(`\n${err.usage}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`sbx: internal error: ${e?.stack ?? String(err)}\n`);
  return 70;
}

export async function main(argv: string[]): Promise<void> {
  let code: number;
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      process.stdout.write(`${await topUsage()}\n`);
      code = name === undefined ? 2 : 0;
    } else if (name === '--version' || name === '-V') {
      const { version } = await import('./version.js');
      process.stdout.write(`sbx ${version}\n`);
      code = 0;
    } else {
      const load = commands[name];
      if (!load) throw new UsageError(`unknown command '${name}'`, await topUsage());
      const command = await load();
      if (rest[0] === '--help' || rest[0] === '-h') {
        process.stdout.write(`${command.usage}\n`);
        code = 0;
      } else {
        code = await command.run(rest);
      }
    }
  } catch (err) {
    code = reportError(err);
  }
  process.exitCode = code;
}
