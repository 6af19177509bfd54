/**
 * `sbx log [-f] [--session S] [--json] [-n N]`: recent violations (denials, audits,
 * refused hints) from the supervisor; with -f keep following. With no supervisor, the
 * JSONL file under $XDG_STATE_HOME/sbx/ is read instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from './main.js';
import { flag, flagValue, parseArgs } from './args.js';
import { UsageError } from '../errors.js';
import { supervisorPaths } from '../supervisor/paths.js';
import { readLines, tryConnect } from '../protocol/control.js';
import { formatViolation, type Violation } from '../supervisor/violations.js';
import { askInside } from '../protocol/inside.js';

/** How often `sbx log -f` inside a session asks what is new (the hint channel has no stream). */
const FOLLOW_POLL_MS = 200;

const usage = `usage: sbx log [-f] [--session S] [--json] [-n N]

  -f, --follow     keep printing new violations
  --session S      only session S
  --json           one JSON object per line
  -n N             how many recent entries (default 50)`;

async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, { follow: { short: 'f' }, session: { value: true }, json: {}, n: { value: true, short: 'n' } }, usage);
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`, usage);
  const limitText = flagValue(parsed, 'n') ?? '50';
  const limit = Number(limitText);
  if (!Number.isInteger(limit) || limit < 0) throw new UsageError(`-n needs a whole number (got '${limitText}')`, usage);
  const session = flagValue(parsed, 'session');
  const json = flag(parsed, 'json');
  const print = (v: Violation) => process.stdout.write(json ? `${JSON.stringify(v)}\n` : `${formatViolation(v)}\n`);
  const paths = supervisorPaths();
  // Inside a session: this session's records only, on the hint channel (the control socket is a floor).
  const inside = askInside({ cmd: 'log', limit });
  if (inside) {
    if (session && session !== inside.session) throw new UsageError(`inside session ${String(inside.session)}, only its own log can be read (not ${session})`);
    for (const v of inside.violations as Violation[]) print(v);
    if (!flag(parsed, 'follow')) return 0;
    let since = Number(inside.last);
    for (;;) {
      await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
      const r = askInside({ cmd: 'log', since, limit: 1000 });
      if (!r) return 0;
      for (const v of r.violations as Violation[]) print(v);
      since = Number(r.last);
    }
  }
  const sock = await tryConnect(paths.control);
  if (!sock) {
    if (flag(parsed, 'follow')) throw new UsageError('no supervisor is running: nothing to follow', usage);
    if (!existsSync(paths.violations)) return 0;
    const lines = readFileSync(paths.violations, 'utf8').split('\n').filter(Boolean);
    const all = lines.map((l) => JSON.parse(l) as Violation).filter((v) => !session || v.session === session);
    for (const v of all.slice(-limit)) print(v);
    return 0;
  }
  sock.write(`${JSON.stringify({ cmd: 'log', session, limit, follow: flag(parsed, 'follow') })}\n`);
  await readLines(sock, (m) => {
    if (m.error) throw new UsageError(String(m.error));
    if (Array.isArray(m.violations)) for (const v of m.violations as Violation[]) print(v);
    if (m.violation) print(m.violation as Violation);
  });
  return 0;
}

export const command: Command = { summary: 'show denied and audited operations', usage, run };
