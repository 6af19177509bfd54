/**
 * `sbx why [-n N] [--json]`: the last denials of this session, each with the rule that
 * decided it and the exact edit or command that would allow it (src/policy/suggest.ts).
 * Inside a session it asks its own supervisor (read-only); outside, it reads the log.
 */
import type { Command } from './main.js';
import { flag, flagValue, parseArgs } from './args.js';
import { UsageError } from '../errors.js';
import { askInside } from '../protocol/inside.js';
import { request } from '../protocol/control.js';
import { supervisorPaths } from '../supervisor/paths.js';
import { formatDenial, type Violation } from '../supervisor/violations.js';
import { recentDenials } from '../supervisor/ask.js';

const usage = `usage: sbx why [-n N] [--json] [--session S]

Explains the last denials of this session: what was denied, by which rule, and what would
allow it. Inside a session: that session. Outside: --session S, or every session.
  -n N        how many (default 10)
  --json      one JSON object per line`;

async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, { n: { value: true, short: 'n' }, json: {}, session: { value: true } }, usage);
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`, usage);
  const limitText = flagValue(parsed, 'n') ?? '10';
  const limit = Number(limitText);
  if (!Number.isInteger(limit) || limit <= 0) throw new UsageError(`-n needs a whole number above 0 (got '${limitText}')`, usage);
  let denials: Violation[];
  let where: string;
  const inside = askInside({ cmd: 'why', limit });
  if (inside) {
    denials = inside.denials as Violation[];
    where = `session ${String(inside.session)} (${String(inside.policy)})`;
  } else {
    const session = flagValue(parsed, 'session');
    const r = await request(supervisorPaths().control, { cmd: 'log', session, limit: 2000 });
    if (!r) {
      process.stdout.write('no supervisor running: nothing to explain (see `sbx log` for the file)\n');
      return 3;
    }
    denials = recentDenials(r.violations as Violation[], limit);
    where = session ? `session ${session}` : 'all sessions';
  }
  if (flag(parsed, 'json')) {
    for (const d of denials) process.stdout.write(`${JSON.stringify(d)}\n`);
    return 0;
  }
  if (denials.length === 0) {
    process.stdout.write(`nothing was denied in ${where}\n`);
    return 0;
  }
  process.stdout.write(`last denials in ${where}:\n`);
  for (const d of denials) process.stdout.write(`${formatDenial(d)}\n`);
  return 0;
}

export const command: Command = { summary: 'explain the last denials and how to allow them', usage, run };
