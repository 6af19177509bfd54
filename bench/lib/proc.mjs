// Running commands for the bench: one place that sets the scratch environment and
// turns failures into a short reason (shown as "n/a (reason)"), never a number.
import fs from 'node:fs';
import path from 'node:path';
import { execaSync } from 'execa';
import { HOME, XDG, WORK } from './paths.mjs';

/** Scratch HOME/XDG so neither sbx nor mise nor srt touches the real ~. */
export function benchEnv(extra = {}) {
  for (const d of [HOME, path.join(XDG, 'config'), path.join(XDG, 'state'), path.join(XDG, 'cache'), path.join(XDG, 'data')])
    fs.mkdirSync(d, { recursive: true });
  fs.mkdirSync(path.join(XDG, 'run'), { recursive: true, mode: 0o700 });
  fs.chmodSync(path.join(XDG, 'run'), 0o700);
  return {
    ...process.env,
    HOME,
    XDG_CONFIG_HOME: path.join(XDG, 'config'),
    XDG_STATE_HOME: path.join(XDG, 'state'),
    XDG_CACHE_HOME: path.join(XDG, 'cache'),
    XDG_DATA_HOME: path.join(XDG, 'data'),
    XDG_RUNTIME_DIR: path.join(XDG, 'run'),
    MISE_EXPERIMENTAL: '1',
    // Keep mise from looking for config or tools outside the scratch tree.
    MISE_YES: '1',
    ...extra,
  };
}

export class RunError extends Error {}

/** Runs argv; returns stdout. Throws RunError with a one-line reason on failure or timeout. */
export function run(argv, { cwd = WORK, timeoutMs = 300_000, env = benchEnv() } = {}) {
  const r = execaSync(argv[0], argv.slice(1), { cwd, env, extendEnv: false, timeout: timeoutMs, maxBuffer: 64 << 20, stripFinalNewline: false, reject: false });
  if (r.timedOut) throw new RunError(`${path.basename(argv[0])}: timed out after ${timeoutMs / 1000} s`);
  if (!r.failed) return r.stdout;
  // Did not start, or its output passed maxBuffer: execa's one-line message says which.
  if (r.exitCode === undefined && r.signal === undefined) throw new RunError(`${path.basename(argv[0])}: ${r.shortMessage.split('\n')[0]}`);
  if (r.exitCode !== 0) {
    const lines = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trim()).filter(Boolean);
    const first = lines.find((l) => /^(sbx:|\w*Error\b|error:)/i.test(l))
      ?? lines.find((l) => /error|denied|not |fail|cannot|unknown|usage/i.test(l)) ?? lines[0] ?? '';
    throw new RunError(`exit ${r.exitCode ?? r.signal}${first ? `: ${first.slice(0, 160)}` : ''}`);
  }
  throw new RunError(`${path.basename(argv[0])}: ${r.shortMessage.split('\n')[0]}`);
}

/** Like run, but never throws: { ok, out, reason }. */
export function tryRun(argv, opts) {
  try {
    return { ok: true, out: run(argv, opts) };
  } catch (e) {
    return { ok: false, reason: e instanceof RunError ? e.message : String(e) };
  }
}
