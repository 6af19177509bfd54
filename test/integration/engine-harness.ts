/**
 * Shared by the engine-*.test.ts files: runs a real program under the real launcher
 * (native/unotify sbx-launch) with an Engine serving its listener, and collects output,
 * exit status and the engine's events.
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import type { EngineEvent, HintRequest } from '../../native/unotify/native.js';
import type { CompiledPolicy, PathRule } from '../../src/policy/compiled.js';
import { Engine } from '../../src/native/engine.js';
import { strictestPolicy } from '../../src/policy/strict.js';
import { launcherPath, loadNative } from '../../src/native/load.js';

/** The harness's strict policy id (tests use small ids for theirs). */
export const STRICT_ID = 999_999;

export const fixtureBin = (name: string): string => resolve(import.meta.dirname, '..', 'fixtures', 'bin', name);

export function policy(id: number, p: Partial<CompiledPolicy> = {}): CompiledPolicy {
  return {
    id,
    mode: 'enforce',
    read: { default: 'allow', rules: [] },
    write: { default: 'allow', rules: [] },
    exec: { default: 'allow', paths: [], programs: [] },
    net: { default: 'allow', rules: [] },
    unix: { default: 'allow', rules: [] },
    commands: [],
    origins: [],
    env: { deny: [], allow: [] },
    ...p,
  };
}

export const rule = (
  n: number,
  effect: 'allow' | 'deny',
  pattern: string,
  match: 'subtree' | 'glob' = 'subtree',
): PathRule => ({ rule: n, effect, match, pattern, floor: false });

export function tempDir(prefix = 'sbx-engine-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A temp dir holding a copy of the engine_marker fixture at <dir>/<name>/marker for each name. */
export function markerDirs(...names: string[]): { d: string; marker: (name: string) => string } {
  const d = tempDir();
  for (const n of names) {
    mkdirSync(join(d, n));
    copyFileSync(fixtureBin('engine_marker'), join(d, n, 'marker'));
  }
  return { d, marker: (n) => join(d, n, 'marker') };
}

export function files(dir: string, spec: Record<string, string>): void {
  for (const [name, content] of Object.entries(spec)) writeFileSync(join(dir, name), content);
}

export interface Session {
  engine: Engine;
  child: ChildProcess;
  events: EngineEvent[];
  stdout: () => string;
  stderr: () => string;
  /** The listener fd (ours; closed by `done`): a test may serve it with another engine after stopping `engine`. */
  listener: number;
  /** Resolves when the sandboxed tree is gone (listener HUP) and the child exited. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  argv: string[];
  policies: CompiledPolicy[];
  /** The program's policy (it is placed before it runs); default: the first of `policies`. */
  defaultPolicy?: number;
  /** For unplaced processes; default: strictestPolicy over `policies`, id STRICT_ID. */
  strict?: CompiledPolicy;
  cwd?: string;
  protectedPids?: number[];
  onHint?: (engine: Engine, hint: HintRequest) => void;
  threads?: number;
}

export async function start(o: StartOptions): Promise<Session> {
  const addon = loadNative();
  const [parentEnd, childEnd] = addon.socketPair();
  const home = tempDir('sbx-home-');
  const subprocess = execa(launcherPath(), ['--fd', '3', '--', ...o.argv], {
    cwd: o.cwd ?? process.cwd(),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_CONFIG_HOME: join(home, '.config'), LANG: 'C' },
    extendEnv: false,
    // execa's types list fd numbers 0-9 only; any open fd is handed to spawn as is.
    stdio: ['pipe', 'pipe', 'pipe', childEnd as 3],
    buffer: false, // read below as it comes: tests poll stdout() while the program runs
    reject: false, // the tests inspect the exit status
  });
  const child = subprocess as unknown as ChildProcess; // spawned synchronously: fd 3 is in the child now
  addon.close(childEnd);
  child.stdin!.on('error', () => {}); // the program may exit without reading its stdin
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = subprocess.then((r) => ({ code: r.exitCode ?? null, signal: (r.signal ?? null) as NodeJS.Signals | null }));
  const listener = addon.recvFd(parentEnd, 10_000);
  const events: EngineEvent[] = [];
  let closed!: () => void;
  const closedP = new Promise<void>((r) => (closed = r));
  const strict = o.strict ?? strictestPolicy(STRICT_ID, o.policies);
  let engine!: Engine;
  engine = Engine.create({
    listenerFd: listener,
    strictPolicy: strict.id,
    protectedPids: o.protectedPids ?? [],
    ...(o.threads ? { threads: o.threads } : {}),
    onEvents: (e) => events.push(...e),
    onHint: (h) => (o.onHint ? o.onHint(engine, h) : engine.replyHint(h.id, { errno: 2 })),
    onClosed: () => closed(),
  });
  for (const p of o.policies) engine.setPolicy(p);
  engine.assign(child.pid!, o.defaultPolicy ?? o.policies[0]!.id, false);
  engine.setPolicy(strict); // last: the engine decides nothing before it
  writeSync(parentEnd, Buffer.from('k'));
  const done = (async () => {
    const r = await exited;
    // onClosed follows once the whole tree is gone (never, if the test stopped the engine).
    await Promise.race([closedP, new Promise((res) => setTimeout(res, engine.stopped ? 0 : 5000))]);
    await new Promise((res) => setTimeout(res, 30)); // the last event batch
    engine.stop();
    addon.close(listener);
    addon.close(parentEnd);
    return r;
  })();
  return { engine, child, events, stdout: () => out, stderr: () => err, listener, done };
}

/** Runs to completion; returns stdout lines as a map "op arg" → result. */
export async function run(o: StartOptions & { stdin?: string }) {
  const s = await start(o);
  s.child.stdin!.end(o.stdin ?? '');
  const r = await s.done;
  const results = new Map<string, string>();
  for (const line of s.stdout().split('\n')) {
    const m = /^(.*?): (.*)$/.exec(line);
    if (m) results.set(m[1]!.trim(), m[2]!);
  }
  return { ...r, stdout: s.stdout(), stderr: s.stderr(), events: s.events, results };
}

/** engine_ops argv from a list of ops. */
export function ops(...list: string[][]): string[] {
  const argv = [fixtureBin('engine_ops')];
  list.forEach((op, i) => {
    if (i > 0) argv.push(',');
    argv.push(...op);
  });
  return argv;
}

export { writeSync };
