/**
 * One sandboxed session's lifecycle: start (or resume) its engine on the session's seccomp
 * listener, reload its policy files, talk to its keeper, and end or detach. The rest is in
 * small modules: the installed policies and their ids (installed.ts), the hook's hints
 * (hints.ts), the records for violations.jsonl (events.ts), the keeper's wire format
 * (src/protocol/keeper.ts).
 *
 * Which process runs under which policy is recorded in one place only: the native engine
 * (each process carries a tag fixed when it is created; the tags live on in the keeper's
 * memfd across a supervisor crash: native/unotify/src/addon/procs.h). This session keeps the
 * policies and their ids, and asks the engine about processes.
 */
import { DenialLines } from '../platform/linux/denial-lines.js';
import { closeSync, constants as fsc, openSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { EngineEvent, EngineStats, HintRequest } from '../../native/unotify/native.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { PolicyError, SbxError } from '../errors.js';
import { Engine, engineReceivers, storedMaxPolicy } from '../native/engine.js';
import type { Env } from '../policy/paths.js';
import { sourceKey, type PolicySource, type ResolvedSource } from './policies.js';
import type { CachedSource, PolicyCache } from './policy-cache.js';
import { formatEvent } from '../platform/linux/exec.js';
import type { SessionNetwork } from './network.js';
import { describeDenial, type ProxyDenial } from '../net/index.js';
import { cwdOf, ttyOf } from './procfs.js';
import { NoticeMemory } from '../hook/notices.js';
import { markFresh, markStale } from '../hook/fresh.js';
import { brokenNotice } from '../policy/index.js';
import type { ViolationLog } from './violations.js';
import { MAX_STATE_BYTES, stateEnv, stateLine, stateNested, stateUpstream, type NestedState, type Registration } from '../protocol/keeper.js';
import { InstalledPolicies, lockdown, type Entry } from './installed.js';
import { engineViolations, proxyViolation, refusal } from './events.js';
import { handleHint, type HintHost } from './hints.js';
import { handleAsk, type AskHost } from './ask.js';
import { handleWiden, type WidenHost } from './widen.js';
import { buildNested, handleNarrow, nestedKey, nestedOrigin, type NarrowHost } from './narrow.js';
import { DenialNotices } from './denial-notices.js';
import { userConfigFile } from '../policy/paths.js';
import { traceStep } from './start-trace.js';

export type { Registration, SessionState } from '../protocol/keeper.js';

export interface SessionContext {
  env: Env;
  log: ViolationLog;
  /** Tells the watcher which files this session's policies read. */
  watchFiles(session: Session, files: string[]): void;
  ended(session: Session): void;
  /** The supervisor's one protected set (itself + every live keeper), shared by all engines. */
  protectedPids(): number[];
  /** Resolved policies shared by all sessions (a cd into a known project does not recompile). */
  policies: PolicyCache;
  /**
   * The session's network manager + proxy: the one `sbx shell` asked for, else a new one (on
   * `port`, chained to `upstream`, when resuming).
   */
  /** callerEnv: the variables the session's policies were built from, as its kept state says (a resume). */
  network(session: string, port: number | undefined, upstream: { url: string; noProxy: string[] } | undefined, callerEnv: Record<string, string> | undefined): Promise<SessionNetwork>;
  /** Daemon log line. */
  say(line: string): void;
  /** A pty allocated inside any session this supervisor serves (its master held by a sandboxed process). */
  sandboxedPty(path: string): boolean;
  /** The `exec-start` request that announced this session id (native fast path), if any. */
  takeExec(session: string): PendingExec | undefined;
  /** Whether the session's root is the user's interactive shell (its session-env said so), once. */
  followsCd(session: string): boolean;
}

/** An `sbx exec` the fast path announced: its policy (built with the caller's env) and its client. */
export interface PendingExec {
  got: CachedSource;
  /** The client's control connection: denial lines go there as {say} (src/protocol/control.ts). */
  out: Socket;
  quiet: boolean;
  defaultOrigins: Record<string, string>;
}

export class Session implements HintHost, AskHost, WidenHost, NarrowHost {
  readonly id: string;
  readonly rootPid: number;
  readonly keeperPid: number;
  readonly cwd: string;
  readonly startedAt = Date.now();
  private tty: string;
  private engineRef: Engine | undefined;
  /** The policies this session installed in its engine, and their ids. */
  readonly installed = new InstalledPolicies();
  private ended = false;
  private keeper: Socket | undefined;
  private net: SessionNetwork | undefined;
  private journalFd: number | undefined;
  private readonly closeFd: (fd: number) => void;
  /** Last known counters, kept after the engine stops. */
  private lastStats: EngineStats = { decisions: 0, denials: 0, audits: 0, processes: 0, pending: 0, traps: {}, verified: { afterExec: 0, firstSight: 0 } };
  /** What each shell was last told (notices only when that changes: src/hook/notices.ts). */
  readonly told = new NoticeMemory();
  /** A fast-path `sbx exec`: where its denial lines go; its root never follows cd. */
  private exec: (PendingExec & { shown: DenialLines }) | undefined;
  /** Denials not yet shown at a prompt (folded), and the shells' markers the engine removes at the next one. */
  readonly denials = new DenialNotices();
  /** Nested policies made for `sbx exec` inside (narrow.ts). */
  readonly nested = new Map<string, number>();

  constructor(
    private readonly ctx: SessionContext,
    reg: Registration,
    closeFd: (fd: number) => void,
  ) {
    this.id = reg.session;
    this.rootPid = reg.rootPid;
    this.keeperPid = reg.keeperPid;
    this.cwd = reg.cwd;
    this.tty = reg.tty;
    this.closeFd = closeFd;
  }

  /**
   * Resolves the policies, starts the engine and assigns the session's processes. Throws
   * (PolicyError, SbxError) when a new session cannot start: the keeper then refuses.
   */
  async start(reg: Registration, listenerFd: number, journalFd: number, terminalFds?: number[]): Promise<void> {
    try {
      await this.startInner(reg, listenerFd, journalFd, terminalFds);
    } catch (err) {
      // Not started: stop what was (an engine may already serve), close the journal here
      // once (end() does nothing after this, when the stopped engine reports its close).
      this.ended = true;
      this.stopEngine();
      this.exec?.out.end();
      void this.net?.manager.close();
      throw err;
    }
  }

  private async startInner(reg: Registration, listenerFd: number, journalFd: number, terminalFds?: number[]): Promise<void> {
    this.journalFd = journalFd;
    const state = reg.resume && reg.state?.v === 2 ? reg.state : undefined;
    let nested: { policy: CompiledPolicy; built: NestedState; overrides: CompiledPolicy[] }[] = [];
    this.net = await this.ctx.network(this.id, state?.proxyPort, state ? stateUpstream(state) : undefined, state ? stateEnv(state) : undefined);
    traceStep(this.id, 'network adopted');
    this.net.onPolicy = (p) => this.onNetPolicy(p);
    this.net.onDeny = (d) => this.onProxyDeny(d);
    // A resume: no new id may be one a process of the session already carries (the state
    // the keeper kept can be older than the last ids handed out; the tags cannot).
    const carried = reg.resume && journalFd >= 0 ? storedMaxPolicy(journalFd) : -1;
    if (state) {
      // Resume: the same sources under the same ids (the tags the engine reads back name
      // them); a file that broke meanwhile locks down.
      this.installed.resume(state);
      this.installed.keepAbove(carried);
      const keys: string[] = [];
      for (const s of state.sources) keys.push(await this.prepare(s.source, true, { main: s.main, overrides: s.overrides }));
      this.installed.rootKey = keys[state.root] ?? keys[0] ?? (await this.prepare({ kind: 'dir', dir: reg.cwd }, true));
      nested = await this.rebuildNested(stateNested(state));
    } else {
      // A resume without the session's state (a supervisor gone before it sent any, or a
      // state the keeper could not keep): the ids its processes carry name policies we do not
      // have. Ours start far from them, so none is taken for another (they are unknown: the
      // strictest policy), and no process is placed under the directory's policy below — an
      // exec session's root is a command that must never get it; a shell's next cd push
      // places the shell again.
      if (reg.resume) {
        this.installed.freshIds();
        this.installed.keepAbove(carried);
      }
      const exec = reg.resume ? undefined : this.ctx.takeExec(this.id);
      if (exec) {
        // `sbx exec` via the fast path: the policy built at exec-start, for life.
        this.exec = { ...exec, shown: new DenialLines(`\`sbx log --session ${this.id}\` has them`) };
        this.installed.rootKey = await this.prepare(exec.got.resolved.source, false, undefined, exec.got);
      } else {
        // The root process is about to exec the session's program in its (real) cwd.
        this.installed.rootKey = await this.prepare({ kind: 'dir', dir: reg.cwd }, reg.resume);
      }
      this.installed.allocateStrict();
    }

    traceStep(this.id, 'policies prepared');
    this.engineRef = Engine.create({
      listenerFd,
      strictPolicy: this.installed.strictId,
      threads: engineReceivers(),
      journalFd,
      protectedPids: this.ctx.protectedPids(),
      onEvents: (evs) => this.onEvents(evs),
      // `sbx exec`'s client waits for its last denial lines until this (fast.c).
      onRootExit: () => {
        if (this.exec && !this.exec.out.destroyed) this.exec.out.write(`${JSON.stringify({ done: true })}\n`);
      },
      onHint: (h: HintRequest) => void this.onHint(h),
      onClosed: () => this.end('no sandboxed process left'),
    });
    traceStep(this.id, 'engine created');
    // Same tick as create. The engine decides nothing until the strict policy exists, so it
    // is set last: every other policy and the root's tag are in place by then.
    for (const e of this.installed.entries.values()) this.installed.install(this.engineRef, e);
    // Nested policies after the entries (their origin names the outer one's), outer first.
    for (const n of nested) {
      const outer = this.installed.byPolicyId(n.built.within)?.origin ?? `policy ${n.built.within}`;
      const origin = nestedOrigin(n.built.args, outer);
      for (const o of n.overrides) this.installed.addPolicy(this.engineRef, o, `${origin} (within a command override)`);
      this.installed.addNested(this.engineRef, n.policy, origin, n.built);
      this.nested.set(nestedKey(n.built), n.built.id);
    }
    traceStep(this.id, 'policies installed');
    const root = state ? this.engineRef.process(this.rootPid) : null;
    if (root) {
      this.installed.rootKey = this.installed.keyOfId(root.policy) ?? this.installed.rootKey;
    } else if (reg.resume) {
      this.ctx.say(`session ${this.id} resumed without its state: its processes run under the strictest policy (a shell until its next cd)`);
    } else {
      // The session's first process (the shell): everything it starts inherits its policy
      // from here on. A resumed engine knows every process it tagged before; a root it does
      // not know (no record) is tagged again.
      try {
        // Only the user's interactive shell follows cd (hints); an exec session's root, or a
        // command started with `sbx shell -- CMD`, keeps its policy.
        const follows = this.installed.root()!.resolved.source.kind !== 'exec' && this.ctx.followsCd(this.id);
        this.engineRef.assign(this.rootPid, this.installed.root()!.mainId, follows);
      } catch (err) {
        if (!state && !reg.resume) {
          this.engineRef.stop();
          throw new SbxError(`cannot place the session's first process: ${(err as Error).message}`, { cause: err });
        }
      }
    }
    this.installed.installStrict(this.engineRef);
    // Its command or shell gone, nothing the session left may keep the terminal it came from:
    // the one its keeper recorded at the start (a keeper older than that record: read now).
    this.engineRef.watchRoot(this.rootPid, terminalFds);
    traceStep(this.id, 'engine serving');
    this.net.manager.setActive(this.installed.root()!.mainId);
    this.watch();
  }

  /**
   * A resumed session's nested policies, built again from their flags under the same ids. One
   * that no longer builds (a policy file broke meanwhile) is locked down: its processes stay
   * narrower than their outer policy, never wider.
   */
  private async rebuildNested(kept: NestedState[]): Promise<{ policy: CompiledPolicy; built: NestedState; overrides: CompiledPolicy[] }[]> {
    const out: { policy: CompiledPolicy; built: NestedState; overrides: CompiledPolicy[] }[] = [];
    // The finished command overrides of each policy a nested one may be within: the entries'
    // (not installed yet), then each nested one as it is built (an outer before its inner).
    const commands = new Map<number, CompiledPolicy['commands']>();
    for (const e of this.installed.entries.values()) {
      const main = e.netMain ?? e.resolved.main;
      commands.set(main.id, main.commands);
    }
    for (const n of kept) {
      let got: Awaited<ReturnType<typeof buildNested>>;
      const outerCommands = commands.get(n.within) ?? [];
      try {
        got = await buildNested(this, n, outerCommands);
      } catch (err) {
        got = { error: (err as Error).message }; // a resumed session starts whatever one nested policy does
      }
      if ('error' in got) {
        this.notify(`sbx: nested \`sbx exec ${n.args.join(' ')}\` could not be built again after the supervisor restarted (${got.error}); its processes are locked down`);
        // Its overrides' twins too: locked down under the ids their processes carry.
        const twins = (n.overrides ?? []).map((id, i) => ({ ...lockdown(id), within: outerCommands[i]?.policy ?? n.within }));
        out.push({ policy: { ...lockdown(n.id), within: n.within }, built: n, overrides: twins });
      } else {
        commands.set(n.id, got.policy.commands);
        out.push({ policy: got.policy, built: { ...n, overrides: got.overrides.map((o) => o.id) }, overrides: got.overrides });
      }
    }
    return out;
  }

  /** A fast-path `sbx exec` session (its root runs under exec flags, for life). */
  isExec(): boolean {
    return this.installed.root()?.resolved.source.kind === 'exec';
  }

  /** The hint channel's verbs: the shell's pushes (hints.ts), read-only asks, narrowing, widening. */
  private onHint(h: HintRequest): void {
    if (h.verb === 'ask') handleAsk(this, h);
    else if (h.verb === 'narrow') void handleNarrow(this, h);
    else if (h.verb === 'widen') void handleWiden(this, h);
    else void handleHint(this, h);
  }

  /** The finished command overrides of an installed policy (NarrowHost). */
  commandsOf(policyId: number): CompiledPolicy['commands'] | undefined {
    return this.installed.byPolicyId(policyId)?.policy.commands;
  }

  /** The network step for a nested policy (NarrowHost). */
  async prepareNested(p: CompiledPolicy): Promise<CompiledPolicy> {
    if (!this.net) throw new SbxError('the session has no network manager');
    return this.net.manager.prepare(p);
  }

  /** A keeper registered or left somewhere: no session may signal any of them. */
  setProtectedPids(pids: number[]): void {
    if (!this.ended && this.engineRef && !this.engineRef.stopped) this.engineRef.setProtectedPids(pids);
  }

  attachKeeper(sock: Socket): void {
    this.keeper = sock;
    sock.on('close', () => {
      // At a normal end the keeper leaves with the last process, a moment before the engine says so.
      setTimeout(() => {
        if (!this.ended) this.ctx.say(`session ${this.id}: keeper ${this.keeperPid} hung up (the session goes on; it cannot survive a supervisor crash now)`);
      }, 2000).unref();
    });
    sock.on('error', () => {});
    this.pushState();
  }

  /** Resolves a source into an entry (allocating ids once per source, or taking `ids`). Returns its key. */
  private async prepare(
    source: PolicySource,
    lockdownOnError: boolean,
    ids?: { main: number; overrides: number[] },
    given?: CachedSource,
  ): Promise<string> {
    let key = sourceKey(source);
    let resolved: ResolvedSource;
    let generation = 0;
    try {
      const got = given ?? (await this.ctx.policies.get(source, this.buildEnv, this.floorEnv));
      ({ resolved, generation } = got);
      key = got.effectiveKey;
      // A broken file: the session still starts (last good or strict fallback), and says so.
      for (const b of resolved.broken) {
        this.notify(brokenNotice(b));
        this.logRefusal('policy', b.file, `broken policy file: ${b.issues[0] ?? b.file} (${b.kept} in force)`);
      }
      // An exec's warnings are its client's to print (exec-start.ts).
      if (source.kind !== 'exec') for (const w of resolved.warnings) this.notify(`sbx: warning: ${w}`);
    } catch (err) {
      // A directory's policy that cannot be built at all (broken files alone fall back in the
      // build): the session starts locked down, never refused (a closed terminal) nor wider.
      const dirStart = source.kind === 'dir' && !given;
      if (!lockdownOnError && !dirStart) throw err;
      const where = err instanceof PolicyError ? (err.issues[0] ?? err.message) : `internal error: ${(err as Error).message}`;
      if (!(err instanceof PolicyError)) this.ctx.say(`session ${this.id}: building the policy for ${sourceKey(source)} failed: ${(err as Error).stack ?? String(err)}`);
      this.notify(
        lockdownOnError
          ? `sbx: ${where}: policy broken while the supervisor restarted; session locked down until it is fixed`
          : `sbx: ${where}: no policy could be built here; session locked down until it is fixed`,
      );
      resolved = {
        key,
        source,
        main: lockdown(0),
        overrides: [],
        files: [],
        watch: [],
        origin: `locked down (${where})`,
        trusted: false,
        prompt: 'sbx!',
        broken: [],
        warnings: [],
      };
    }
    await this.netPrepare(this.installed.setEntry(key, resolved, generation, ids));
    return key;
  }

  /** Runs an entry's policies through src/net (names resolved and kept fresh, proxy port, DNS). */
  private async netPrepare(e: Entry): Promise<void> {
    const net = this.net!.manager;
    const main = await net.prepare(e.resolved.main);
    const overrides = await Promise.all(e.resolved.overrides.map((o) => net.prepare(o)));
    e.netMain = main;
    e.netOverrides = overrides;
  }

  /** A refreshed snapshot (names re-resolved): same id, new addresses. */
  private onNetPolicy(p: CompiledPolicy): void {
    if (this.ended || !this.engineRef || this.engineRef.stopped) return;
    this.installed.refresh(this.engineRef, p);
  }

  private watch(): void {
    this.ctx.watchFiles(this, this.files());
  }

  /** The files this session's policies read (for the watcher). */
  files(): string[] {
    return this.installed.files();
  }

  usesFile(file: string): boolean {
    return this.installed.usesFile(file);
  }

  /**
   * A nested policy is built from its outer policy's command overrides as they were (narrow.ts
   * buildNested): once the outer one is reloaded, the next `sbx exec` with the same flags
   * builds a new one instead of reusing it (the processes already under it keep theirs).
   */
  private forgetNestedWithin(outer: number): void {
    const within = new Set([outer]);
    // Nested within a nested one that is forgotten: forgotten too (made later, so met later).
    for (const [key, id] of this.nested) {
      const n = this.installed.nestedState(id);
      if (n && within.has(n.within)) {
        within.add(id);
        this.nested.delete(key);
      }
    }
  }

  /**
   * Live reload: re-resolve every source that reads `file`. A valid edit re-sets the same
   * ids (running processes switch at their next decision); a bad one keeps the last good.
   */
  async reload(file: string): Promise<void> {
    if (this.ended || !this.engineRef) return;
    for (const [key, e] of this.installed.entries) {
      if (!e.resolved.files.includes(file)) continue;
      try {
        const { resolved: r, generation } = await this.ctx.policies.get(e.resolved.source, this.buildEnv, this.floorEnv);
        if (this.ended) return;
        const entry = this.installed.setEntry(key, r, generation);
        await this.netPrepare(entry);
        if (this.ended) return;
        this.installed.install(this.engineRef, entry);
        this.installed.installStrict(this.engineRef);
        this.forgetNestedWithin(entry.mainId);
        this.ctx.say(`session ${this.id}: reloaded ${file}: ${r.origin}`);
        for (const b of r.broken) {
          if (b.file !== file) continue;
          this.notify(brokenNotice(b));
          this.logRefusal('policy', file, `broken policy file: ${b.issues[0] ?? file} (${b.kept} in force)`);
        }
      } catch (err) {
        if (!(err instanceof PolicyError)) throw err;
        const where = err.issues[0] ?? err.message;
        this.notify(`sbx: ${where} — last good policy kept`);
        this.logRefusal('policy', file, `broken policy file: ${where}`);
      }
    }
    markStale(this.ctx.env, this.id); // the shells ask again at their next prompt
    this.watch();
    this.pushState();
  }

  // ---- what the hint handler (hints.ts, docs/hook-protocol.md) needs ----

  proxyVars(): Record<string, string> {
    return this.net?.env ?? {};
  }

  markFresh(tgid: number): string | undefined {
    const file = markFresh(this.ctx.env, this.id, tgid);
    // The engine removes it at the next denial: this shell then asks at its next prompt.
    if (file && this.engineRef && !this.engineRef.stopped) {
      this.denials.watch(file);
      this.engineRef.setNoticeFiles(this.denials.markers());
    }
    return file;
  }

  /** Denial lines for a shell's reply: first the events the engine has not handed over yet. */
  async denialNotices(): Promise<string[]> {
    if (this.engineRef && !this.engineRef.stopped) {
      // A batch the flusher already took is on its way to onEvents: wait for it (bounded).
      const { events, inFlight } = this.engineRef.takeEvents();
      if (events.length > 0) this.onEvents(events);
      if (inFlight) {
        // Bounded, but long enough for a flusher thread a loaded machine has not run yet (at
        // 200 ms a CI run showed a denial's line one prompt late): this waits only while a
        // batch is in flight.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([new Promise<void>((r) => this.eventWaiters.push(r)), new Promise((r) => (timer = setTimeout(r, 1000)))]);
        clearTimeout(timer);
      }
    }
    return this.denials.take();
  }

  get log(): ViolationLog {
    return this.ctx.log;
  }

  get env(): Env {
    return this.ctx.env;
  }

  sandboxedPty(path: string): boolean {
    return this.ctx.sandboxedPty(path);
  }

  /** Whether this session's engine allocated the pty at `path`. */
  ownsPty(path: string): boolean {
    try {
      return !this.ended && !!this.engineRef && !this.engineRef.stopped && this.engineRef.ownsPty(path);
    } catch {
      return true; // cannot tell: it confirms nothing
    }
  }

  /** The variables this session's policies are built from: its caller's (caller-env.ts), else the supervisor's. */
  get buildEnv(): Env {
    return this.net?.caller?.view ?? this.ctx.env;
  }

  /** The caller's own HOME and XDG_*, where they differ from the supervisor's: their floors are added (caller-env.ts). */
  get floorEnv(): Env | undefined {
    return this.net?.caller?.floors;
  }

  get policies(): PolicyCache {
    return this.ctx.policies;
  }

  engine(): Engine | undefined {
    return this.ended ? undefined : this.engineRef;
  }

  async installEntry(key: string, resolved: ResolvedSource, generation: number): Promise<Entry | undefined> {
    const entry = this.installed.setEntry(key, resolved, generation);
    await this.netPrepare(entry);
    if (this.ended || !this.engineRef) return undefined;
    this.installed.install(this.engineRef, entry);
    this.installed.installStrict(this.engineRef);
    return entry;
  }

  rootChanged(key: string, mainId: number): void {
    this.installed.rootKey = key;
    // The proxy cannot tell who asks: it decides on the root's (the shell's) policy.
    this.net?.manager.setActive(mainId);
  }

  changed(): void {
    this.watch();
    this.pushState();
  }

  say(line: string): void {
    this.ctx.say(line);
  }

  /** Sends the keeper what a next supervisor needs to resume us. */
  private pushState(): void {
    if (!this.keeper || this.keeper.destroyed) return;
    const state = this.installed.state(this.net?.port, this.net?.manager.upstream, this.net?.caller?.read());
    const line = stateLine(state);
    // The keeper refuses a larger line (and hangs up): not sent. It keeps the last one it
    // took; the newest nested policies or sources then fall to the strictest policy after a
    // restart, and their ids are never handed out again (installed.ts keepAbove).
    if (Buffer.byteLength(line) > MAX_STATE_BYTES) {
      this.ctx.say(`session ${this.id}: state of ${Buffer.byteLength(line)} bytes is over the keeper's ${MAX_STATE_BYTES}: a restart would not know its newest policies`);
      return;
    }
    this.keeper.write(line);
  }

  // ---- events, notices ----

  private eventWaiters: (() => void)[] = [];

  private onEvents(evs: EngineEvent[]): void {
    for (const w of this.eventWaiters.splice(0)) w();
    if (this.exec && !this.exec.quiet && !this.exec.out.destroyed) this.sayDenials(evs, this.exec);
    const vs = engineViolations(
      this.id,
      evs,
      (id) => this.installed.byPolicyId(id),
      (target) => (this.net ? this.net.manager.describe(target) : target),
      userConfigFile(this.ctx.env),
    );
    this.ctx.log.add(vs);
    // Said at the shell's next prompt (the engine removed its marker before answering).
    for (const v of vs) this.denials.add(v);
  }

  /** The lines `sbx exec` prints on its stderr, sent to the fast-path client that prints them. */
  private sayDenials(evs: EngineEvent[], exec: PendingExec & { shown: DenialLines }): void {
    for (const e of evs) {
      const named = e.op === 'net' && this.net ? { ...e, target: this.net.manager.describe(e.target) } : e;
      const line = exec.shown.take(formatEvent(named, this.installed.byPolicyId(e.policy)?.policy, exec.defaultOrigins));
      if (line !== undefined) exec.out.write(`${JSON.stringify({ say: line })}\n`);
    }
  }

  /** The session's proxy refused (or, in audit mode, would have refused) a name or address. */
  private onProxyDeny(d: ProxyDenial): void {
    // The line `sbx exec` prints for a proxy refusal (src/platform/linux/exec.ts).
    if (this.exec && !this.exec.quiet && !this.exec.out.destroyed)
      this.exec.out.write(`${JSON.stringify({ say: `sbx: ${d.audit ? 'audit: would deny' : 'denied'} net ${describeDenial(d)} via proxy (${d.reason})` })}\n`);
    // The rule indexes the asking program's policy (the proxy decides by it).
    const v = proxyViolation(this.id, d, this.installed.byPolicyId(d.policy ?? this.installed.root()?.mainId ?? -1));
    this.ctx.log.add([v]);
    this.denials.add(v);
    if (v.kind === 'deny') markStale(this.ctx.env, this.id); // the proxy is not the engine: remove the markers here
  }

  logRefusal(op: string, target: string, rule: string, pid = 0): void {
    this.ctx.log.add([refusal(this.id, op, target, rule, pid)]);
  }

  /** One line to the session's terminal (if it has one) and to the daemon log. */
  notify(line: string): void {
    this.ctx.say(`session ${this.id}: ${line}`);
    const tty = ttyOf(this.rootPid) ?? this.tty;
    if (!tty) return;
    let fd: number | undefined;
    try {
      fd = openSync(tty, fsc.O_WRONLY | fsc.O_NOCTTY | fsc.O_NONBLOCK);
      writeSync(fd, `\r\n${line}\r\n`);
    } catch {
      // The terminal went away: the log has it.
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  // ---- status, end ----

  stats(): Session['lastStats'] {
    if (this.engineRef && !this.engineRef.stopped) {
      const s = this.engineRef.stats();
      this.lastStats = { ...s };
    }
    return this.lastStats;
  }

  describe(): Record<string, unknown> {
    const root = this.installed.root()?.resolved;
    return {
      id: this.id,
      rootPid: this.rootPid,
      keeperPid: this.keeperPid,
      cwd: cwdOf(this.rootPid) ?? this.cwd, // where the session's shell is now
      startedIn: this.cwd,
      startedAt: new Date(this.startedAt).toISOString(),
      policy: root?.origin ?? '',
      prompt: root?.prompt ?? '',
      policies: this.installed.entries.size,
      proxyPort: this.net?.port ?? null,
      proxyUpstream: this.net?.manager.upstream?.url ?? null,
      ...this.stats(),
    };
  }

  /** Stops serving (the listener stays with the keeper). `reason` goes to the log. */
  end(reason: string): void {
    if (this.ended) return;
    this.stats();
    this.ended = true;
    // The fast-path client waits for this to exit: told first. At the usual end (the engine
    // reported its close) every event has reached us already (native flush_loop); at any
    // other, stopping the engine below delivers its last events later anyway.
    this.exec?.out.end();
    this.stopEngine();
    this.keeper?.destroy();
    void this.net?.manager.close();
    markStale(this.ctx.env, this.id);
    this.ctx.say(`session ${this.id} ended: ${reason}`);
    this.ctx.ended(this);
  }

  /**
   * For a supervisor that is going away (restart): stop without telling anyone it ended.
   * Resolves once the proxy port is free again (the next supervisor listens on it).
   */
  async detach(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.stopEngine();
    this.keeper?.destroy();
    await this.net?.manager.close();
  }

  /** The engine stopped and the journal fd closed, once (the listener stays with the keeper). */
  private stopEngine(): void {
    this.engineRef?.stop();
    if (this.journalFd !== undefined) this.closeFd(this.journalFd);
    this.journalFd = undefined;
  }
}
