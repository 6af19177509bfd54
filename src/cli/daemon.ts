/**
 * `sbx daemon [start|stop|status|restart|run]`: the per-user supervisor. Normally nobody
 * needs this: `sbx shell` and the keepers start it on demand.
 */
import type { Command } from './main.js';
import { flag, parseArgs } from './args.js';
import { UsageError } from '../errors.js';
import { supervisorPaths } from '../supervisor/paths.js';
import { request } from '../protocol/control.js';

const usage = `usage: sbx daemon [start|stop|status|restart] [--force] [--json]

  start     start the supervisor unless one is running (prints its pid)
  stop      stop it (refused while sessions are live, unless --force: their keepers
            would start a new one at once)
  status    is it running, with which pid
  restart   start a new supervisor and hand it every live session
  run       run the supervisor in the foreground (what start spawns)`;

async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, { force: {}, json: {} }, usage);
  const [verb = 'status', ...extra] = parsed.positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`, usage);
  const lifecycle = await import('../supervisor/lifecycle.js');
  const out = (msg: Record<string, unknown>, text: string) =>
    process.stdout.write(flag(parsed, 'json') ? `${JSON.stringify(msg)}\n` : `${text}\n`);
  switch (verb) {
    case 'run': {
      const { runSupervisor } = await import('../supervisor/daemon.js');
      return runSupervisor();
    }
    case 'start': {
      const info = await lifecycle.ensureDaemon();
      out({ ...info }, info.started ? `supervisor started (pid ${info.pid})` : `supervisor already running (pid ${info.pid})`);
      return 0;
    }
    case 'stop': {
      const pid = await lifecycle.stopDaemon(process.env, flag(parsed, 'force'));
      out({ stopped: pid ?? null }, pid ? `supervisor ${pid} stopped` : 'no supervisor was running');
      return 0;
    }
    case 'restart': {
      const r = await lifecycle.restartDaemon();
      out({ old: r.old ?? null, pid: r.pid }, `supervisor restarted (pid ${r.old ?? 'none'} → ${r.pid}); live sessions re-register with it`);
      return 0;
    }
    case 'status': {
      const paths = supervisorPaths();
      const r = await request(paths.control, { cmd: 'ping' });
      out({ running: !!r, pid: r?.pid ?? null, runtimeDir: paths.runtime }, r ? `supervisor running (pid ${r.pid}) at ${paths.runtime}` : `no supervisor running at ${paths.runtime}`);
      return r ? 0 : 3;
    }
    default:
      throw new UsageError(`unknown daemon command '${verb}'`, usage);
  }
}

export const command: Command = { summary: 'start, stop or restart the per-user supervisor', usage, run };
