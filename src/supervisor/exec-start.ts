/**
 * `exec-start` (src/protocol/control.ts): the supervisor side of the native fast path for
 * `sbx exec`. The client sent its raw command line, cwd and environment; the policy is built
 * here with src/policy exactly as the Node `sbx exec` would build it in that cwd with that
 * environment, and waits for the keeper that registers the session id we hand out. Anything
 * we do not take (a usage or policy error, --help, a version we do not speak) is answered
 * with {fallback}: the client then runs the Node CLI, which says it in the usual words.
 *
 * Who may ask: the control socket is 0600 in the runtime dir, and the runtime dir is in every
 * policy's protected floor, so no sandboxed process can connect to it (it would get Node's
 * `sbx exec`, which cannot nest a filter). A request therefore never widens a sandbox.
 */
import type { Socket } from 'node:net';
import { SbxError } from '../errors.js';
import type { Env } from '../policy/paths.js';
import { EXEC_START_VERSION, type ExecStartReply, type ExecStartRequest } from '../protocol/control.js';
import { SESSION_ID } from '../protocol/keeper.js';
import { sourceKey, type PolicySource, type ResolvedExec } from './policies.js';
import type { ExecPolicyCache } from './exec-policy-cache.js';
import type { PendingExec } from './session.js';
import { launchEnvironment } from './launch-environment.js';
import { callerEnv, type CallerEnv } from './caller-env.js';
import { traceStart, traceStep } from './start-trace.js';

/** A client that got its reply but whose keeper never registered (it died): forget it. */
const UNCLAIMED_MS = 60_000;
/** Finished exec-start ids remembered for registrations that come late. */
const FINISHED_KEPT = 1024;
/** Above this the client would not have sent it (it falls back first); refuse to be sure. */
const MAX_ITEMS = 10_000;

export class PendingExecs {
  private readonly waiting = new Map<string, { exec: PendingExec; timer: NodeJS.Timeout }>();
  /** Ids whose exec-start is being worked on. */
  private readonly building = new Set<string>();
  /** Keepers' registrations that came before their exec-start was done (sbx-keeper --exec). */
  private readonly watchers = new Map<string, (() => void)[]>();
  /**
   * Ids whose exec-start is done (built or not), newest last: a registration that comes after
   * a failed one is refused at once, not held (its client has given up). Bounded.
   */
  private readonly finished = new Set<string>();

  /** An exec-start for `session` is being worked on: a registration for it waits (settled). */
  announce(session: string): void {
    this.building.add(session);
  }

  /** Its exec-start is done, built (add was called) or not: wake the registration waiting for it. */
  finish(session: string): void {
    this.building.delete(session);
    this.finished.add(session);
    if (this.finished.size > FINISHED_KEPT) this.finished.delete(this.finished.values().next().value!);
    const w = this.watchers.get(session);
    this.watchers.delete(session);
    for (const f of w ?? []) f();
  }

  /**
   * Resolves once the exec-start for `session` is done — at once when it is — or after `ms`
   * (its request may still be on the way: the keeper registers while the policy is built).
   */
  settled(session: string, ms: number): Promise<void> {
    if (this.waiting.has(session) || (this.finished.has(session) && !this.building.has(session))) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        // Gone from the list whichever way it ends (a timed-out wait for a request that never came).
        const rest = (this.watchers.get(session) ?? []).filter((f) => f !== done);
        if (rest.length > 0) this.watchers.set(session, rest);
        else this.watchers.delete(session);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.watchers.set(session, [...(this.watchers.get(session) ?? []), done]);
    });
  }

  add(session: string, exec: PendingExec): void {
    const timer = setTimeout(() => {
      if (this.waiting.get(session)?.exec === exec) this.waiting.delete(session);
      exec.out.end();
    }, UNCLAIMED_MS);
    timer.unref();
    this.waiting.set(session, { exec, timer });
  }

  /** Built and not yet taken by its session. */
  has(session: string): boolean {
    return this.waiting.has(session);
  }

  /** Built, or being built: the id is taken. */
  known(session: string): boolean {
    return this.waiting.has(session) || this.building.has(session);
  }

  take(session: string): PendingExec | undefined {
    const w = this.waiting.get(session);
    if (!w) return undefined;
    clearTimeout(w.timer);
    this.waiting.delete(session);
    return w.exec;
  }

  close(): void {
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.exec.out.end();
    }
    this.waiting.clear();
    for (const session of [...this.watchers.keys()]) this.finish(session);
  }
}

export interface ExecStartHost {
  env: Env;
  sessions: Map<string, unknown>;
  stopping(): boolean;
  /**
   * Starts the session's proxy (adopted when the keeper registers): its variables, or drop it.
   * `caller`: what the policy is built through, whose reads the session's kept state holds.
   */
  startNetwork(session: string, callerVars: Record<string, string>, caller: CallerEnv): Promise<{ env: Record<string, string>; drop(): void }>;
  pending: PendingExecs;
  /** Policies built for earlier runs, each re-checked before it is used again. */
  execPolicies: ExecPolicyCache;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.length <= MAX_ITEMS && v.every((x) => typeof x === 'string');
}

/** "K=V" lines → an env object (the first '=' splits; a line without one is skipped, like execve's). */
export function envFromLines(lines: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf('=');
    // A name twice (a launcher that appended to envp): the first, as getenv and Node read it.
    if (i > 0 && !Object.hasOwn(env, l.slice(0, i))) env[l.slice(0, i)] = l.slice(i + 1);
  }
  return env;
}

export async function execStart(req: ExecStartRequest, sock: Socket, host: ExecStartHost): Promise<void> {
  const reply = (msg: ExecStartReply) => {
    if (!sock.destroyed) sock.write(`${JSON.stringify(msg)}\n`);
  };
  const fallback = (why: string) => {
    reply({ fallback: why });
    sock.end();
    // The client kills its launcher: a registration waiting for this id is refused now.
    if (typeof req.session === 'string' && !host.pending.has(req.session)) host.pending.finish(req.session);
  };
  if (req.v !== EXEC_START_VERSION) return fallback(`protocol version ${String(req.v)} (this supervisor speaks ${EXEC_START_VERSION})`);
  if (typeof req.cwd !== 'string' || !req.cwd.startsWith('/') || !isStringArray(req.args) || !isStringArray(req.env))
    return fallback('malformed exec-start request');
  // The client's keeper is already on its way with this id: another id would leave it unclaimed.
  const session = req.session;
  if (typeof session !== 'string' || !SESSION_ID.test(session) || host.sessions.has(session) || host.pending.known(session))
    return fallback('malformed or live session id');
  // The client's launcher runs while we work: its keeper's registration waits for this.
  host.pending.announce(session);
  try {
    await build(req, sock, session, reply, fallback, host);
  } finally {
    host.pending.finish(session);
  }
}

async function build(
  req: ExecStartRequest,
  sock: Socket,
  session: string,
  reply: (msg: ExecStartReply) => void,
  fallback: (why: string) => void,
  host: ExecStartHost,
): Promise<void> {
  if (host.stopping()) return fallback('the supervisor is shutting down');
  if (req.args[0] === '--help' || req.args[0] === '-h') return fallback('help is printed by the CLI');

  const env = envFromLines(req.env);
  // A process inside a session cannot reach us (see above); if one ever did, Node's `sbx exec`
  // is what it would get from there: say so by falling back, never by serving it.
  if (env.SBX_SESSION) return fallback('the caller is inside a session');
  const source: PolicySource & { kind: 'exec' } = { kind: 'exec', cwd: req.cwd, args: req.args };
  traceStart(session);
  // Built as a session's: sbx's own places (user config, trust db) are the supervisor's, the
  // caller's own places add their floors (caller-env.ts); the program gets the caller's env.
  // The network holds the same CallerEnv: what the build reads is what the keeper keeps, so a
  // supervisor that resumes the session builds the same floors.
  const caller = callerEnv(host.env, env);
  // The session's proxy starts while the policy is built (neither needs the other).
  const network = host.startNetwork(session, env, caller);
  let resolved: ResolvedExec;
  const hitsBefore = host.execPolicies.hits;
  try {
    resolved = await host.execPolicies.resolve(source, caller.view, env, caller.floors);
  } catch (err) {
    void network.then((n) => n.drop(), () => undefined);
    // Usage and policy errors are the CLI's to print (same words, same exit code).
    if (err instanceof SbxError) return fallback(err.message);
    throw err;
  }
  traceStep(session, host.execPolicies.hits > hitsBefore ? 'policy reused' : 'policy built');
  const proxyVars = (await network).env;
  traceStep(session, 'proxy up');
  // The session keeps the policy, not the caller's environment.
  const { env: programBase, warnings, quiet, defaultOrigins, argv, inputs: _inputs, ...policy } = resolved;
  host.pending.add(session, {
    got: { resolved: { ...policy, warnings: [] }, effectiveKey: sourceKey(source), generation: 0 },
    out: sock,
    quiet,
    defaultOrigins,
  });
  // As `sbx exec` through Node (src/platform/linux/exec.ts): the launch variables, and sbx's
  // proxy variables only when a policy has host rules the proxy decides.
  const needsProxy = [policy.main, ...policy.overrides].some((p) => (p.net.hosts?.length ?? 0) > 0);
  reply({
    session,
    argv,
    env: launchEnvironment(programBase, caller.view, needsProxy ? proxyVars : undefined, session),
    warnings: quiet ? [] : warnings,
  });
  traceStep(session, 'exec-start answered');
  // The connection stays open: the session's denial lines follow ({say}), then it ends.
}
