/**
 * The supervisor process (`sbx daemon run`): one per user. Keepers hand it sessions on the
 * keeper socket (native accept thread: SCM_RIGHTS); CLI clients talk JSON lines on the
 * control socket. Everything decided per syscall happens in the native engines.
 */
import { upstreamFromEnv, upstreamFromState } from '../net/upstream.js';
import { createServer, Socket, type Server } from 'node:net';
import { chmodSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import type { FdConnection, FdServerHandle, NativeAddon } from '../../native/unotify/native.js';
import { PolicyError, SbxError, SupervisorError } from '../errors.js';
import { launcherPath, loadNative } from '../native/load.js';
import { requireUsableKernel } from '../platform/linux/doctor.js';
import { stampsFromNumbers } from '../policy/expand.js';
import { trustFile, type Env } from '../policy/paths.js';
import { markStale } from '../hook/fresh.js';
import { ensureRuntimeDir, ensureStateDir, supervisorPaths, type SupervisorPaths } from './paths.js';
import { SESSION_ENV_VERSION, tryConnect, type ControlRequest } from '../protocol/control.js';
import { parentOf, selfRss } from './procfs.js';
import { PolicyCache } from './policy-cache.js';
import { ExecPolicyCache } from './exec-policy-cache.js';
import { NetNames } from '../net/index.js';
import { PendingNetworks, SessionNetwork } from './network.js';
import { Unclaimed } from './unclaimed.js';
import { Session } from './session.js';
import { envFromLines, execStart, PendingExecs } from './exec-start.js';
import { errorLine, parseRegistration, READY_LINE, SESSION_ID, type Registration } from '../protocol/keeper.js';
import { ViolationLog } from './violations.js';
import { PolicyWatcher } from './watch.js';
import { isHookShell, sessionEnvironment } from './launch-environment.js';
import { callerEnv } from './caller-env.js';
import { pinPlaces, placesOf, withPinnedPlaces } from './pinned-places.js';
import { traceStart, traceStep } from './start-trace.js';

/** How long a fast-path exec's registration waits for its exec-start (the client gives up at 10 s). */
const EXEC_BUILD_WAIT_MS = 15_000;

function say(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

function unlinkQuiet(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // already gone
  }
}

/** Does pid run sbx's own launcher (by identity)? A pty relay does (pty_relay.c). */
function isLauncher(pid: number): boolean {
  try {
    const a = statSync(`/proc/${pid}/exe`);
    const b = statSync(launcherPath());
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

export class Supervisor {
  private readonly native: NativeAddon;
  private readonly paths: SupervisorPaths;
  private readonly sessions = new Map<string, Session>();
  /** Keeper pids of live (or registering) sessions. */
  private readonly keepers = new Set<number>();
  /** Session → the pid of its fast-path exec client (protected while the session lives). */
  private readonly execClients = new Map<string, number[]>();
  private readonly log: ViolationLog;
  private readonly policies: PolicyCache;
  private readonly execPolicies: ExecPolicyCache;
  /** Address → name map shared by every session's network manager (for log lines). */
  private readonly netNames = new NetNames();
  private readonly pendingNets = new PendingNetworks();
  /**
   * Sessions whose root is the user's interactive shell, as their session-env said (sent from
   * outside the sandbox: the control socket is a floor); taken once at registration. Only such
   * a root follows cd; a `sbx shell -- CMD`, or a session whose request was lost, does not.
   */
  private readonly followers = new Unclaimed<true>();
  private readonly pendingExecs = new PendingExecs();
  private readonly watcher: PolicyWatcher;
  private keeperServer: FdServerHandle | undefined;
  private control: Server | undefined;
  private readonly startedAt = Date.now();
  private stopping = false;
  /** Held for our life (lockExclusive): the kernel releases it when we exit. */
  private lockFd = -1;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(private readonly env: Env) {
    this.native = loadNative();
    this.paths = supervisorPaths(env);
    ensureRuntimeDir(this.paths.runtime);
    ensureStateDir(this.paths.state);
    this.log = new ViolationLog({ file: this.paths.violations });
    // Both caches re-check a policy's facts with the native batches (one call, not one fs call each).
    const kinds = (paths: string[], follow: boolean) => this.native.pathKinds(paths, follow);
    const stamps = { of: (paths: string[]) => stampsFromNumbers(this.native.pathStamps(paths)), mounts: () => this.native.mountGeneration() };
    this.policies = new PolicyCache(env, say, kinds, stamps);
    this.execPolicies = new ExecPolicyCache(kinds, stamps, this.env);
    this.watcher = new PolicyWatcher((file) => void this.reload(file));
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** Binds both sockets (refusing if another supervisor answers), writes supervisor.pid. */
  async listen(): Promise<void> {
    // One supervisor per runtime dir, decided by the kernel: two started at once (two
    // terminals opened together) both found nobody answering and both bound the sockets.
    this.lockFd = this.native.lockExclusive(this.paths.lock);
    if (this.lockFd < 0) throw new SupervisorError(`a supervisor already serves ${this.paths.runtime} (it holds ${this.paths.lock})`, 'use `sbx daemon status` or `sbx daemon restart`');
    const existing = await tryConnect(this.paths.control, 1000);
    if (existing) {
      existing.destroy();
      throw new SupervisorError(`a supervisor already serves ${this.paths.control}`, 'use `sbx daemon status` or `sbx daemon restart`');
    }
    unlinkQuiet(this.paths.keeper);
    unlinkQuiet(this.paths.control);
    this.keeperServer = this.native.fdServerCreate(this.paths.keeper, (c) => this.onKeeper(c));
    this.control = createServer((sock) => this.onControl(sock));
    await new Promise<void>((resolve, reject) => {
      this.control!.once('error', reject);
      this.control!.listen(this.paths.control, () => resolve());
    });
    // An accept error later (EMFILE) is logged; it must not end every session's supervisor.
    this.control.on('error', (err) => say(`control socket: ${err.message}`));
    chmodSync(this.paths.control, 0o600);
    pinPlaces(this.env, this.paths.runtime);
    writeFileSync(this.paths.pidFile, `${process.pid}\n`, { mode: 0o600 });
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void this.shutdown(`signal ${sig}`));
    say(`supervisor ${process.pid} serving ${this.paths.runtime}`);
  }

  /** Resolves when the supervisor has shut down. */
  wait(): Promise<void> {
    return this.done;
  }

  // ---- sessions ----

  private onKeeper(c: FdConnection): void {
    const sock = new Socket({ fd: c.fd, readable: true, writable: true });
    sock.on('error', () => {});
    const refuse = (why: string) => {
      for (const fd of c.fds) this.native.close(fd);
      say(`refused a session from pid ${c.pid}: ${why}`);
      sock.end(errorLine(why));
    };
    if (this.stopping) return refuse('the supervisor is shutting down');
    const reg = parseRegistration(c.payload, c.fds.length);
    if (!reg) return refuse('malformed registration');
    // SO_PEERCRED, not the JSON, says who the keeper is (it is protected from the sandbox).
    reg.keeperPid = c.pid;
    traceStep(reg.session, 'keeper registered');
    if (this.sessions.has(reg.session)) return refuse(`session ${reg.session} is already served`);
    // Protect the new keeper from every existing session before anything else happens.
    this.keepers.add(reg.keeperPid);
    this.pushProtected();
    if (!reg.exec || reg.resume) return this.startSession(c, reg, sock, refuse);
    // A fast-path `sbx exec` registers while its policy is built (its launcher started at
    // once): the session starts with that policy, never with its directory's.
    void this.pendingExecs.settled(reg.session, EXEC_BUILD_WAIT_MS).then(() => {
      if (this.stopping || !this.pendingExecs.has(reg.session) || this.sessions.has(reg.session)) {
        this.dropKeeper(reg.keeperPid);
        return refuse(this.stopping ? 'the supervisor is shutting down' : `sbx exec session ${reg.session}: no policy was built for it (its exec-start failed or never came)`);
      }
      this.startSession(c, reg, sock, refuse);
    });
  }

  private startSession(c: FdConnection, reg: Registration, sock: Socket, refuse: (why: string) => void): void {
    const [listenerFd, journalFd, ...terminalFds] = c.fds as [number, number, ...number[]];
    // Needed only while the session starts (the engine keeps its own copies).
    const closeTerminals = () => terminalFds.forEach((fd) => this.native.close(fd));
    const session = new Session(
      {
        env: this.env,
        log: this.log,
        watchFiles: () => this.rewatch(),
        ended: (s) => {
          if (this.sessions.get(s.id) === s) this.sessions.delete(s.id);
          if (this.execClients.delete(s.id)) this.pushProtected();
          this.dropKeeper(s.keeperPid);
          this.rewatch();
        },
        protectedPids: () => this.protectedPids(),
        policies: this.policies,
        network: async (id, port, upstream, callerEnv) =>
          this.pendingNets.take(id) ??
          (await SessionNetwork.start(this.env, this.netNames, {
            port,
            say: (l) => say(`session ${id}: ${l}`),
            upstream: upstreamFromState(upstream),
            callerEnv,
          })),
        say,
        followsCd: (id) => this.followers.take(id) === true,
        takeExec: (id) => {
          const exec = this.pendingExecs.take(id);
          if (exec) this.protectExecClient(id, reg.rootPid);
          return exec;
        },
        // Any session's pty: a terminal whose master a sandboxed process holds confirms nothing.
        sandboxedPty: (path) => [...this.sessions.values()].some((s) => s.ownsPty(path)),
      },
      reg,
      (fd) => this.native.close(fd),
    );
    this.sessions.set(reg.session, session);
    session
      .start(reg, listenerFd, journalFd, reg.terms === undefined ? undefined : terminalFds)
      .finally(closeTerminals)
      .then(() => {
        // The engine holds its own dup of the listener; the keeper keeps the original.
        this.native.close(listenerFd);
        // A resumed fast-path exec: its client waits outside again under this supervisor's protection.
        if (session.isExec() && !this.execClients.has(reg.session)) this.protectExecClient(reg.session, reg.rootPid);
        sock.write(READY_LINE);
        traceStep(reg.session, 'ready sent');
        session.attachKeeper(sock);
        say(`session ${reg.session} ${reg.resume ? 'resumed' : 'started'}: root ${reg.rootPid}, keeper ${reg.keeperPid}, cwd ${reg.cwd}`);
      })
      .catch((err: unknown) => {
        this.sessions.delete(reg.session);
        this.dropKeeper(reg.keeperPid);
        if (this.execClients.delete(reg.session)) this.pushProtected(); // (end() is not called for a session that never started)
        c.fds = [listenerFd]; // the session closed the journal
        const msg =
          err instanceof PolicyError
            ? `${err.message}: ${err.issues.join('; ')}`
            : err instanceof SbxError
              ? err.message
              : `internal error: ${(err as Error).message}`;
        refuse(msg);
      });
  }

  /** Supervisor + every live keeper: what no sandboxed process of any session may touch. */
  private protectedPids(): number[] {
    return [process.pid, ...this.keepers, ...[...this.execClients.values()].flat()];
  }

  /**
   * A fast-path `sbx exec` waits for its command outside the sandbox (native/unotify/src/fast.c),
   * as the Node `sbx exec` does, whose engine protects it: the command must not signal it either.
   * It is the parent of the session's root (it forked the launcher), read from /proc, not claimed;
   * or its grandparent, when the launcher relays a pty for the command (pty_relay.c): then the
   * root's parent is that relay, outside the sandbox too, and both are protected.
   */
  private protectExecClient(session: string, rootPid: number): void {
    const ppid = parentOf(rootPid);
    if (ppid === undefined || ppid <= 1) return;
    const pids = [ppid];
    const client = isLauncher(ppid) ? parentOf(ppid) : undefined;
    if (client !== undefined && client > 1) pids.push(client);
    this.execClients.set(session, pids);
    this.pushProtected();
  }

  private pushProtected(): void {
    const pids = this.protectedPids();
    for (const s of this.sessions.values()) {
      try {
        s.setProtectedPids(pids);
      } catch (err) {
        say(`session ${s.id}: could not update protected pids: ${(err as Error).message}`);
      }
    }
  }

  private dropKeeper(pid: number): void {
    // Still protected while another live session names the same keeper.
    for (const s of this.sessions.values()) if (s.keeperPid === pid) return;
    if (this.keepers.delete(pid)) this.pushProtected();
  }

  private rewatch(): void {
    const files = new Set<string>();
    for (const s of this.sessions.values()) for (const f of s.files()) files.add(f);
    if (files.size > 0) files.add(trustFile(this.env)); // `sbx trust` changes what sessions run under
    this.watcher.set(files);
  }

  private async reload(file: string): Promise<void> {
    this.policies.invalidate(file);
    // Trust changed: every shell asks again at its next prompt, which puts the new trust in force.
    if (file === trustFile(this.env)) markStale(this.env);
    for (const s of [...this.sessions.values()]) {
      if (!s.usesFile(file)) continue;
      try {
        await s.reload(file);
      } catch (err) {
        say(`session ${s.id}: reload of ${file} failed: ${(err as Error).message}`);
      }
    }
  }

  // ---- control socket ----

  private onControl(sock: Socket): void {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => {});
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl === -1) {
        if (buf.length > 64 * 1024) sock.destroy();
        return;
      }
      const line = buf.slice(0, nl);
      buf = '';
      sock.removeAllListeners('data');
      let req: ControlRequest;
      try {
        req = JSON.parse(line) as ControlRequest;
      } catch {
        sock.end(`${JSON.stringify({ error: 'malformed request' })}\n`);
        return;
      }
      try {
        this.handle(req, sock);
      } catch (err) {
        // One request failing (a syscall out of fds, say) answers that request only.
        say(`control request ${String((req as { cmd?: unknown }).cmd)} failed: ${(err as Error).stack ?? String(err)}`);
        this.send(sock, { error: `internal error: ${(err as Error).message}` });
        sock.end();
      }
    });
  }

  /**
   * session-env's answer: the session's proxy started (its port goes in the program's env) and
   * the env filter of the policy the program starts under applied — the same build its
   * registration then finds cached. The user's own proxy settings are what the session's proxy
   * chains to (src/net/upstream.ts).
   */
  private async answerSessionEnv(sock: Socket, id: string, cwd: string, follows: boolean, callerVars: Record<string, string>): Promise<void> {
    let net: SessionNetwork | undefined;
    const warnings: string[] = [];
    try {
      net = await SessionNetwork.start(this.env, this.netNames, { upstream: upstreamFromEnv(callerVars), callerEnv: callerVars });
    } catch (err) {
      // Connects stay filtered either way; only names behind wildcards become unreachable.
      warnings.push(`no network proxy for this session: ${(err as Error).message}`);
    }
    if (net && this.stopping) return void net.manager.close();
    if (net) this.pendingNets.add(id, net);
    // What the session's policies are built from (the session reads it from its network).
    const view = net?.caller?.view ?? callerEnv(this.env, callerVars).view;
    // A directory whose policy cannot be built starts locked down (session.ts): nothing runs.
    const hookShell = isHookShell(callerVars, follows);
    const filter = hookShell ? undefined : (await this.policies.get({ kind: 'dir', dir: cwd }, view).catch(() => undefined))?.resolved.main.env;
    this.send(sock, { env: sessionEnvironment(callerVars, view, net?.env ?? {}, id, filter, hookShell), ...(warnings.length > 0 ? { warnings } : {}) });
    traceStep(id, 'session-env answered');
  }

  private send(sock: Socket, msg: unknown): void {
    if (!sock.destroyed) sock.write(`${JSON.stringify(msg)}\n`);
  }

  private handle(req: ControlRequest, sock: Socket): void {
    switch (req.cmd) {
      case 'ping':
        this.send(sock, { ok: true, pid: process.pid });
        sock.end();
        return;
      case 'status':
        this.send(sock, this.status());
        sock.end();
        return;
      case 'session-env': {
        // `sbx shell` asks before it execs the launcher: the session's proxy must be up and
        // its port known (src/supervisor/network.ts); the reply is the program's whole env.
        const id = req.session;
        if (req.v !== SESSION_ENV_VERSION || !Array.isArray(req.env) || !req.env.every((l) => typeof l === 'string') || typeof req.follows !== 'boolean' || typeof req.cwd !== 'string' || !req.cwd.startsWith('/')) {
          this.send(sock, { error: `session-env: protocol version ${String(req.v)} or a malformed env (this supervisor speaks ${SESSION_ENV_VERSION}): run \`sbx daemon restart\`` });
          sock.end();
          return;
        }
        if (typeof id !== 'string' || !SESSION_ID.test(id) || this.sessions.has(id)) {
          this.send(sock, { error: 'session-env: malformed or live session id' });
          sock.end();
          return;
        }
        const callerEnv = envFromLines(req.env);
        traceStart(id);
        if (req.follows) this.followers.add(id, true);
        void this.answerSessionEnv(sock, id, req.cwd, req.follows, callerEnv).finally(() => sock.end());
        return;
      }
      case 'exec-start':
        void execStart(req, sock, {
          env: this.env,
          sessions: this.sessions,
          stopping: () => this.stopping,
          startNetwork: async (id, callerVars, caller) => {
            // Chained to the caller's own proxy, as for a shell (src/net/upstream.ts).
            const net = await SessionNetwork.start(this.env, this.netNames, { upstream: upstreamFromEnv(callerVars), callerEnv: caller });
            this.pendingNets.add(id, net);
            return { env: net.env, drop: () => void this.pendingNets.take(id)?.manager.close() };
          },
          pending: this.pendingExecs,
          execPolicies: this.execPolicies,
        }).catch((err: unknown) => {
          say(`exec-start failed: ${(err as Error).stack ?? String(err)}`);
          this.send(sock, { fallback: `internal error: ${(err as Error).message}` });
          sock.end();
        });
        return;
      case 'log': {
        const recent = this.log.recent({ session: req.session, limit: req.limit });
        this.send(sock, { violations: recent });
        if (!req.follow) {
          sock.end();
          return;
        }
        const off = this.log.follow((v) => {
          if (!req.session || v.session === req.session) this.send(sock, { violation: v });
        });
        sock.on('close', off);
        return;
      }
      case 'stop': {
        const live = this.sessions.size;
        if (live > 0 && !req.force) {
          this.send(sock, {
            error: `${live} live session(s): their keepers would start a new supervisor at once; use \`sbx daemon restart\`, or \`sbx daemon stop --force\``,
          });
          sock.end();
          return;
        }
        this.send(sock, { ok: true, pid: process.pid, sessions: live });
        sock.end();
        // The next supervisor's places (pinned-places.ts): a restart's, else ours (a keeper
        // between two reconnects is a live session this count does not see).
        const places = req.places === undefined ? undefined : placesOf(stringRecord(req.places));
        void this.shutdown('stop requested', places);
        return;
      }
      default:
        this.send(sock, { error: `unknown request '${(req as { cmd?: unknown }).cmd}'` });
        sock.end();
    }
  }

  status(): Record<string, unknown> {
    return {
      supervisor: {
        pid: process.pid,
        uptimeSec: Math.round((Date.now() - this.startedAt) / 1000),
        rssBytes: selfRss(),
        runtimeDir: this.paths.runtime,
        violationLog: this.paths.violations,
        // sbx's own places (its user config and trust db under them): pinned-places.ts.
        places: placesOf(this.env),
      },
      sessions: [...this.sessions.values()].map((s) => s.describe()),
    };
  }

  /**
   * Goes away without ending sessions: sockets first (so keepers reconnecting find a new
   * supervisor, not us), then engines (the listeners stay with the keepers).
   */
  async shutdown(why: string, pin?: Record<string, string>): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    say(`supervisor ${process.pid} shutting down: ${why}`);
    // Before the sockets go: a keeper may start the next supervisor at once.
    if (pin) pinPlaces(pin, this.paths.runtime);
    unlinkQuiet(this.paths.control);
    unlinkQuiet(this.paths.keeper);
    unlinkQuiet(this.paths.pidFile);
    this.control?.close();
    if (this.keeperServer) this.native.fdServerClose(this.keeperServer);
    await Promise.all([...this.sessions.values()].map((s) => s.detach()));
    this.sessions.clear();
    await this.pendingNets.close();
    this.pendingExecs.close();
    await this.watcher.close();
    this.resolveDone();
  }
}

/** `sbx daemon run`: serve until stopped. */
export async function runSupervisor(started: Env = process.env): Promise<number> {
  requireUsableKernel(loadNative());
  // The places the supervisor before us pinned, if one ran in this runtime dir (pinned-places.ts).
  const { env, pinned } = withPinnedPlaces(started, supervisorPaths(started).runtime);
  const differ = pinned ? Object.keys({ ...pinned, ...placesOf(started) }).filter((k) => pinned[k] !== started[k]) : [];
  if (differ.length > 0)
    say(`serving with the places of the supervisor before this one (${differ.map((k) => `${k}=${pinned?.[k] ?? '(unset)'}`).join(', ')}), not its starter's; \`sbx daemon restart\` takes the restarting terminal's`);
  const sup = new Supervisor(env);
  await sup.listen();
  await sup.wait();
  // Live engines' native threads may still hold the loop a moment; we are done.
  setTimeout(() => process.exit(0), 50).unref();
  return 0;
}

/** Only string values of a plain object (a control request is untrusted input). */
function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}
