/**
 * One sandboxed session: one engine on the session's seccomp listener, the policies its
 * processes run under (ids local to this engine), the hook's hints, and the state the
 * keeper keeps for us so a restarted supervisor can resume the session.
 */
import { closeSync, constants as fsc, openSync, realpathSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Socket } from 'node:net';
import type { EngineEvent, HintRequest } from '../../native/unotify/native.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { PolicyError } from '../errors.js';
import { Engine } from '../native/engine.js';
import { formatReply } from '../hook/reply.js';
import { NoticeMemory } from '../hook/notices.js';
import { markFresh, markStale } from '../hook/fresh.js';
import type { Env } from '../policy/paths.js';
import { describeRule, sourceKey, type PolicySource, type ResolvedSource } from './policies.js';
import type { PolicyCache } from './policy-cache.js';
import type { SessionNetwork } from './network.js';
import { describeDenial, type ProxyDenial } from '../net/index.js';
import { childrenOf, cwdOf, parentPid, startTime, ttyOf } from './procfs.js';
import type { Violation, ViolationLog } from './violations.js';

const EACCES = 13;
const EINVAL = 22;

/** What the keeper sends when it registers (one JSON line, fds attached). */
export interface Registration {
  v: 1;
  session: string;
  rootPid: number;
  keeperPid: number;
  cwd: string;
  tty: string;
  resume: boolean;
  state: SessionState | null;
}

/** Kept by the keeper between supervisors: which live process runs under which source. */
export interface SessionState {
  v: 1;
  sources: PolicySource[];
  /** pid + start time (so a reused pid is not confused) → index into sources. */
  procs: { pid: number; start: string; src: number }[];
  /** The source new processes of the session fall back to. */
  root: number;
  /** The session's proxy port (its programs have it in their environment). */
  proxyPort?: number;
}

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
  /** The session's network manager + proxy: the one `sbx shell` asked for, else a new one (on `port` when resuming). */
  network(session: string, port: number | undefined): Promise<SessionNetwork>;
  /** Daemon log line. */
  say(line: string): void;
}

/**
 * Entries are keyed by the cache's effective key: every directory under one project file
 * shares one entry (one set of ids), so a cd between them is only an engineAssign.
 */
interface Entry {
  resolved: ResolvedSource;
  /** The cache generation installed: the same one again needs no setPolicy. */
  generation: number;
  mainId: number;
  overrideIds: number[];
  /** What the engine gets: the policies after src/net (resolved names, DNS, proxy port, unix defaults). */
  netMain?: CompiledPolicy;
  netOverrides?: CompiledPolicy[];
}

/** The policy everything falls back to when a resumed session's files cannot be read: deny, loudly. */
function lockdown(id: number): CompiledPolicy {
  const none = { default: 'deny' as const, rules: [] };
  return {
    id,
    mode: 'enforce',
    read: none,
    write: none,
    exec: { default: 'deny', paths: [], programs: [] },
    net: none,
    unix: none,
    commands: [],
    origins: [],
    env: { deny: [], allow: [] },
  };
}

export class Session {
  readonly id: string;
  readonly rootPid: number;
  readonly keeperPid: number;
  readonly cwd: string;
  readonly startedAt = Date.now();
  private tty: string;
  private engine: Engine | undefined;
  private readonly entries = new Map<string, Entry>();
  private readonly byId = new Map<number, { policy: CompiledPolicy; origin: string }>();
  /** Processes the supervisor assigned (root, hint callers) or saw pinned, → source key. */
  private readonly procs = new Map<number, { start: string; key: string }>();
  private rootKey = '';
  private nextId = 1;
  private ended = false;
  private keeper: Socket | undefined;
  private net: SessionNetwork | undefined;
  private journalFd: number | undefined;
  private readonly closeFd: (fd: number) => void;
  /** Last known counters, kept after the engine stops. */
  private lastStats = { decisions: 0, denials: 0, audits: 0, processes: 0, pending: 0 };
  /** What each shell was last told (notices only when that changes: src/hook/notices.ts). */
  private readonly told = new NoticeMemory();

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
  async start(reg: Registration, listenerFd: number, journalFd: number): Promise<void> {
    try {
      await this.startInner(reg, listenerFd, journalFd);
    } catch (err) {
      void this.net?.manager.close();
      throw err;
    }
  }

  private async startInner(reg: Registration, listenerFd: number, journalFd: number): Promise<void> {
    this.journalFd = journalFd;
    const wantPort = reg.resume && reg.state?.v === 1 ? reg.state.proxyPort : undefined;
    this.net = await this.ctx.network(this.id, wantPort);
    this.net.onPolicy = (p) => this.onNetPolicy(p);
    this.net.onDeny = (d) => this.onProxyDeny(d);
    const plan: { pid: number; start: string; key: string }[] = [];
    if (reg.resume && reg.state && reg.state.v === 1) {
      // Resume: same sources, same processes; a file that broke meanwhile locks down.
      const keys: string[] = [];
      for (const src of reg.state.sources) keys.push(await this.prepare(src, true));
      for (const p of reg.state.procs) {
        const key = keys[p.src];
        if (key !== undefined && startTime(p.pid) === p.start) plan.push({ pid: p.pid, start: p.start, key });
      }
      this.rootKey = keys[reg.state.root] ?? keys[0] ?? (await this.prepare({ kind: 'dir', dir: reg.cwd }, true));
    } else {
      // The root process is about to exec the session's program in its (real) cwd.
      this.rootKey = await this.prepare({ kind: 'dir', dir: reg.cwd }, reg.resume);
    }
    const rootStart = startTime(this.rootPid);
    if (rootStart !== undefined && !plan.some((p) => p.pid === this.rootPid))
      plan.push({ pid: this.rootPid, start: rootStart, key: this.rootKey });

    const rootEntry = this.entries.get(this.rootKey)!;
    this.engine = Engine.create({
      listenerFd,
      defaultPolicy: rootEntry.mainId,
      journalFd,
      protectedPids: this.ctx.protectedPids(),
      onEvents: (evs) => this.onEvents(evs),
      onHint: (h) => void this.onHint(h),
      onClosed: () => this.end('no sandboxed process left'),
    });
    // Same tick as create. The engine holds every decision until the default policy exists,
    // so set it last: every other policy and every pinned process is in place by then.
    const assign = (p: { pid: number; start: string; key: string }) => {
      this.engine!.assign(p.pid, this.entries.get(p.key)!.mainId, false);
      this.procs.set(p.pid, { start: p.start, key: p.key });
    };
    for (const [key, e] of this.entries) if (key !== this.rootKey) this.install(e);
    for (const p of plan) if (p.key !== this.rootKey) assign(p);
    this.install(rootEntry);
    for (const p of plan) if (p.key === this.rootKey) assign(p);
    this.net.manager.setActive(rootEntry.mainId);
    this.watch();
  }

  /** A keeper registered or left somewhere: no session may signal any of them. */
  setProtectedPids(pids: number[]): void {
    if (!this.ended && this.engine && !this.engine.stopped) this.engine.setProtectedPids(pids);
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

  /** Resolves a source into an entry (allocating ids once per source). Returns its key. */
  private async prepare(source: PolicySource, lockdownOnError: boolean): Promise<string> {
    let key = sourceKey(source);
    let resolved: ResolvedSource;
    let generation = 0;
    try {
      const got = await this.ctx.policies.get(source);
      ({ resolved, generation } = got);
      key = got.effectiveKey;
    } catch (err) {
      if (!lockdownOnError || !(err instanceof PolicyError)) throw err;
      const where = err.issues[0] ?? err.message;
      this.notify(`sbx: ${where}: policy broken while the supervisor restarted; session locked down until it is fixed`);
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
      };
    }
    await this.netPrepare(this.setEntry(key, resolved, generation));
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
    if (this.ended || !this.engine || this.engine.stopped) return;
    const known = this.byId.get(p.id);
    if (!known) return;
    this.engine.setPolicy(p);
    this.byId.set(p.id, { policy: p, origin: known.origin });
  }

  private setEntry(key: string, resolved: ResolvedSource, generation: number): Entry {
    let e = this.entries.get(key);
    if (!e) {
      e = { resolved, generation, mainId: this.nextId++, overrideIds: [] };
      this.entries.set(key, e);
    }
    e.resolved = resolved;
    e.generation = generation;
    // Local ids: main keeps its id for the life of the session (live reload re-sets it).
    while (e.overrideIds.length < resolved.overrides.length) e.overrideIds.push(this.nextId++);
    const map = new Map<number, number>([[resolved.main.id, e.mainId]]);
    resolved.overrides.forEach((o, i) => map.set(o.id, e!.overrideIds[i]!));
    resolved.main.id = e.mainId;
    resolved.overrides.forEach((o, i) => (o.id = e!.overrideIds[i]!));
    for (const c of resolved.main.commands) c.policy = map.get(c.policy) ?? c.policy;
    return e;
  }

  private install(e: Entry): void {
    (e.netOverrides ?? e.resolved.overrides).forEach((o) => {
      this.engine!.setPolicy(o);
      this.byId.set(o.id, { policy: o, origin: `${e.resolved.origin} (command override)` });
    });
    const main = e.netMain ?? e.resolved.main;
    this.engine!.setPolicy(main);
    this.byId.set(main.id, { policy: main, origin: e.resolved.origin });
  }

  private watch(): void {
    this.ctx.watchFiles(this, this.files());
  }

  /** The files this session's policies read (for the watcher). */
  files(): string[] {
    return [...new Set([...this.entries.values()].flatMap((e) => e.resolved.files))];
  }

  usesFile(file: string): boolean {
    for (const e of this.entries.values()) if (e.resolved.files.includes(file)) return true;
    return false;
  }

  /**
   * Live reload: re-resolve every source that reads `file`. A valid edit re-sets the same
   * ids (running processes switch at their next decision); a bad one keeps the last good.
   */
  async reload(file: string): Promise<void> {
    if (this.ended || !this.engine) return;
    for (const [key, e] of this.entries) {
      if (!e.resolved.files.includes(file)) continue;
      try {
        const { resolved: r, generation } = await this.ctx.policies.get(e.resolved.source);
        if (this.ended) return;
        const entry = this.setEntry(key, r, generation);
        await this.netPrepare(entry);
        if (this.ended) return;
        this.install(entry);
        this.ctx.say(`session ${this.id}: reloaded ${file}: ${r.origin}`);
      } catch (err) {
        if (!(err instanceof PolicyError)) throw err;
        const where = err.issues[0] ?? err.message;
        this.notify(`sbx: ${where} — last good policy kept`);
        this.logRefusal('policy', file, `broken policy file: ${where}`);
      }
    }
    markStale(this.ctx.env, this.id); // the shells ask again at their next prompt
    this.watch();
  }

  // ---- hints (docs/hook-protocol.md) ----

  private async onHint(h: HintRequest): Promise<void> {
    try {
      const reply = await this.answer(h);
      if (!this.ended && this.engine && !this.engine.stopped) this.engine.replyHint(h.id, reply);
    } catch (err) {
      this.ctx.say(`session ${this.id}: hint ${h.verb} failed: ${(err as Error).stack ?? String(err)}`);
      if (!this.ended && this.engine && !this.engine.stopped) this.engine.replyHint(h.id, { errno: EACCES });
    }
  }

  private refuse(h: HintRequest, why: string): { errno: number } {
    this.logRefusal('hint', `${h.verb} /${h.arg.replace(/^\/+/, '')}`, why, h.pid);
    return { errno: EACCES };
  }

  private async answer(h: HintRequest): Promise<{ errno: number } | { content: string }> {
    let source: PolicySource;
    // `/proc/self/sbx/cd/<abs dir>`: the engine hands over what follows "cd/", slash eaten.
    const claimed = `/${h.arg.replace(/^\/+/, '')}`;
    if (h.verb === 'cd') {
      if (!sameDir(claimed, h.cwd)) return this.refuse(h, `pushed directory is not the caller's cwd (${h.cwd})`);
      source = { kind: 'dir', dir: h.cwd };
    } else if (h.verb === 'use') {
      let file: string;
      try {
        file = realpathSync(claimed);
      } catch {
        return this.refuse(h, 'policy file named by `use` does not exist');
      }
      const dir = dirname(file);
      if (!isWithin(h.cwd, dir) && !isWithin(dir, h.cwd))
        return this.refuse(h, `policy file ${file} is neither inside nor above the caller's cwd (${h.cwd})`);
      source = { kind: 'use', file, dir: h.cwd };
    } else if (h.verb === 'leave') {
      source = { kind: 'dir', dir: h.cwd };
    } else {
      this.logRefusal('hint', `${h.verb} ${h.arg}`, 'unknown request', h.pid);
      return { errno: EINVAL };
    }

    const before = this.keyOf(h.tgid);
    let resolved: ResolvedSource;
    let key: string;
    let generation: number;
    try {
      ({ resolved, effectiveKey: key, generation } = await this.ctx.policies.get(source));
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      // Keep what the caller runs under now; say which file and line is wrong.
      const where = err.issues[0] ?? err.message;
      this.logRefusal('policy', h.arg, `broken policy file: ${where}`, h.pid);
      const cur = this.entries.get(before)?.resolved;
      return {
        content: formatReply({
          policy: cur?.origin ?? 'unchanged',
          prompt: `${cur?.prompt ?? 'sbx'}!`.replace(/[?!]!$/, '!'),
          notices: [`sbx: ${where} — last good policy kept`],
          envDeny: cur?.main.env.deny ?? [],
          envAllow: cur?.main.env.allow ?? [],
          fresh: markFresh(this.ctx.env, this.id, h.tgid),
        }),
      };
    }
    if (this.ended || !this.engine) return { errno: EACCES };
    let entry = this.entries.get(key);
    // Same files, same stamps as what this session installed: the policy is in the engine.
    if (!entry || entry.generation !== generation) {
      entry = this.setEntry(key, resolved, generation);
      await this.netPrepare(entry);
      if (this.ended || !this.engine) return { errno: EACCES };
      this.install(entry);
    } else entry.resolved.source = source;
    resolved = entry.resolved;
    this.pinDescendants(h.tgid, before);
    this.engine.assign(h.tgid, entry.mainId, true);
    const start = startTime(h.tgid);
    if (start !== undefined) this.procs.set(h.tgid, { start, key });
    if (h.tgid === this.rootPid) {
      this.rootKey = key;
      // The proxy cannot tell who asks: it decides on the root's (the shell's) policy.
      this.net?.manager.setActive(entry.mainId);
    }
    this.watch();
    this.pushState();

    if (this.told.size > 32) this.told.prune((p, st) => startTime(p) === st);
    const notices = this.told.notices(h.tgid, start, resolved);
    return {
      content: formatReply({
        policy: resolved.origin,
        prompt: resolved.prompt,
        notices,
        envDeny: resolved.main.env.deny,
        envAllow: resolved.main.env.allow,
        fresh: markFresh(this.ctx.env, this.id, h.tgid),
      }),
    };
  }

  /** The source key a process runs under, by the nearest recorded ancestor. */
  private keyOf(pid: number): string {
    for (let p: number | undefined = pid, hops = 0; p && p > 1 && hops < 64; p = parentPid(p), hops++) {
      const r = this.procs.get(p);
      if (r && startTime(p) === r.start) return r.key;
    }
    return this.rootKey;
  }

  /**
   * Mirrors the engine's pinDescendants in our own records, so a resumed engine can pin
   * them again: every running descendant keeps the source it had.
   */
  private pinDescendants(pid: number, inherited: string): void {
    const queue: [number, string][] = childrenOf(pid).map((c) => [c, inherited]);
    while (queue.length > 0) {
      const [c, k] = queue.shift()!;
      const start = startTime(c);
      if (start === undefined) continue;
      let rec = this.procs.get(c);
      if (!rec || rec.start !== start) {
        rec = { start, key: k };
        this.procs.set(c, rec);
      }
      for (const g of childrenOf(c)) queue.push([g, rec.key]);
    }
    // Forget the dead.
    for (const [p, r] of this.procs) if (startTime(p) !== r.start) this.procs.delete(p);
  }

  /** Sends the keeper what a next supervisor needs to resume us. */
  private pushState(): void {
    if (!this.keeper || this.keeper.destroyed) return;
    const keys = [...this.entries.keys()];
    const state: SessionState = {
      v: 1,
      sources: keys.map((k) => this.entries.get(k)!.resolved.source),
      procs: [...this.procs].map(([pid, r]) => ({ pid, start: r.start, src: keys.indexOf(r.key) })),
      root: Math.max(0, keys.indexOf(this.rootKey)),
      ...(this.net?.port !== undefined ? { proxyPort: this.net.port } : {}),
    };
    let json = JSON.stringify(state);
    while (json.length > 60_000 && state.procs.length > 1) {
      state.procs.splice(0, Math.ceil(state.procs.length / 4));
      json = JSON.stringify(state);
    }
    this.keeper.write(`state ${json}\n`);
  }

  // ---- events, notices ----

  private onEvents(evs: EngineEvent[]): void {
    this.ctx.log.add(
      evs.map((e) => {
        const p = this.byId.get(e.policy);
        return {
          time: e.time,
          session: this.id,
          kind: e.kind,
          pid: e.pid,
          program: e.program,
          syscall: e.syscall,
          op: e.op,
          // "name (addr:port)" when the address belongs to a name the policy allows or denies.
          target: this.net ? this.net.manager.describe(e.target) : e.target,
          errno: e.errno,
          rule: describeRule(p?.policy, e.rule, e.op),
          policy: p?.origin ?? `policy ${e.policy}`,
          ...(e.count > 1 ? { count: e.count } : {}),
        } satisfies Violation;
      }),
    );
  }

  /** The session's proxy refused (or, in audit mode, would have refused) a name or address. */
  private onProxyDeny(d: ProxyDenial): void {
    const p = this.byId.get(this.entries.get(this.rootKey)?.mainId ?? -1);
    this.ctx.log.add([
      {
        time: d.time,
        session: this.id,
        kind: d.audit ? 'audit' : 'deny',
        pid: 0,
        program: '',
        syscall: `proxy ${d.via}`,
        op: 'net',
        target: describeDenial(d),
        errno: EACCES,
        rule: `${describeRule(p?.policy, d.rule, 'net')}: ${d.reason}`,
        policy: p?.origin ?? '',
      },
    ]);
  }

  private logRefusal(op: string, target: string, rule: string, pid = 0): void {
    this.ctx.log.add([
      {
        time: Date.now(),
        session: this.id,
        kind: 'refused',
        pid,
        program: '',
        syscall: op === 'hint' ? 'open' : '',
        op,
        target,
        errno: EACCES,
        rule,
        policy: '',
      },
    ]);
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
    if (this.engine && !this.engine.stopped) {
      const s = this.engine.stats();
      this.lastStats = { ...s };
    }
    return this.lastStats;
  }

  describe(): Record<string, unknown> {
    const root = this.entries.get(this.rootKey)?.resolved;
    return {
      id: this.id,
      rootPid: this.rootPid,
      keeperPid: this.keeperPid,
      cwd: cwdOf(this.rootPid) ?? this.cwd, // where the session's shell is now
      startedIn: this.cwd,
      startedAt: new Date(this.startedAt).toISOString(),
      policy: root?.origin ?? '',
      prompt: root?.prompt ?? '',
      policies: this.entries.size,
      proxyPort: this.net?.port ?? null,
      ...this.stats(),
    };
  }

  /** Stops serving (the listener stays with the keeper). `reason` goes to the log. */
  end(reason: string): void {
    if (this.ended) return;
    this.stats();
    this.ended = true;
    this.engine?.stop();
    if (this.journalFd !== undefined) this.closeFd(this.journalFd);
    this.journalFd = undefined;
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
    this.engine?.stop();
    if (this.journalFd !== undefined) this.closeFd(this.journalFd);
    this.keeper?.destroy();
    await this.net?.manager.close();
  }
}

function stripSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.replace(/\/+$/, '') : p;
}

/** The hook's $PWD may be a logical path (symlinks); the kernel's cwd is physical. */
function sameDir(claimed: string, real: string): boolean {
  if (!claimed.startsWith('/')) return false;
  const c = stripSlash(claimed);
  if (c === real) return true;
  try {
    return realpathSync(c) === real;
  } catch {
    return false;
  }
}

function isWithin(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent === '/' ? '/' : `${parent}/`);
}
