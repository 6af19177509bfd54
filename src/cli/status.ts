/**
 * `sbx status [--json]`: the supervisor (pid, uptime, RSS) and every live session with
 * its policy, origin and decision/denial counts.
 */
import type { Command } from './main.js';
import { flag, parseArgs } from './args.js';
import { UsageError } from '../errors.js';
import { supervisorPaths } from '../supervisor/paths.js';
import { request } from '../protocol/control.js';
import { askInside } from '../protocol/inside.js';

const usage = `usage: sbx status [--json]

Shows the supervisor and its live sessions. Exit 3 when no supervisor is running.
Inside a session: that session only (read-only, answered by the supervisor on the hint channel).`;

interface SessionInfo {
  id: string;
  rootPid: number;
  cwd: string;
  policy: string;
  decisions: number;
  denials: number;
  audits: number;
  processes: number;
  proxyPort?: number | null;
  proxyUpstream?: string | null;
}

async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, { json: {} }, usage);
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`, usage);
  const paths = supervisorPaths();
  // Inside a session the control socket is out of reach: ask on the hint channel (own session only).
  const inside = askInside({ cmd: 'status' });
  // Generous: under a syscall storm the supervisor's JS thread may lag behind its engines.
  const r = inside ?? (await request(paths.control, { cmd: 'status' }, 30_000));
  if (!r) {
    process.stdout.write(flag(parsed, 'json') ? `${JSON.stringify({ supervisor: null, sessions: [] })}\n` : `no supervisor running at ${paths.runtime}\n`);
    return 3;
  }
  if (flag(parsed, 'json')) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return 0;
  }
  const sup = r.supervisor as { pid: number; uptimeSec: number; rssBytes: number };
  const sessions = r.sessions as SessionInfo[];
  const lines = inside
    ? [`inside session ${String(inside.session)} (supervisor pid ${sup.pid}); this process runs under ${String(inside.policy)}`]
    : [`supervisor pid ${sup.pid}, up ${sup.uptimeSec}s, RSS ${(sup.rssBytes / 1048576).toFixed(1)} MiB, ${sessions.length} session(s)`];
  for (const s of sessions) {
    lines.push(`  ${s.id}  root ${s.rootPid}  ${s.cwd}`);
    lines.push(`      policy ${s.policy}`);
    if (s.proxyPort) lines.push(`      proxy 127.0.0.1:${s.proxyPort}${s.proxyUpstream ? `, chained to your proxy ${s.proxyUpstream}` : ''}`);
    lines.push(`      ${s.decisions} decisions, ${s.denials} denials, ${s.audits} audits, ${s.processes} processes`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

export const command: Command = { summary: 'show the supervisor and live sessions', usage, run };
