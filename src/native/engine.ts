/**
 * A small class over the native engine handle. Every argument is validated here, before
 * the addon is called, so a mistake reads as one clear SbxError naming what and where
 * (the addon re-checks and would only throw a TypeError).
 */
import { constants } from 'node:os';
import { isIP } from 'node:net';
import type {
  EngineEvent,
  RawEngineEvent,
  EngineHandle,
  EngineStats,
  HintReply,
  HintRequest,
  NativeAddon,
} from '../../native/unotify/native.js';
import type { CompiledPolicy, PathRule, PathSection } from '../policy/compiled.js';
import { SbxError } from '../errors.js';
import { launcherPath, loadNative } from './load.js';

export interface EngineCreateOptions {
  listenerFd: number;
  /** The session's strictest policy: for unplaced processes and unset ids; set it last (nothing is decided before). */
  strictPolicy: number;
  threads?: number;
  protectedPids?: number[];
  journalFd?: number;
  onEvents?: (events: EngineEvent[]) => void;
  /** The root watchRoot watches exited; every event of its own calls went to onEvents before. */
  onRootExit?: () => void;
  onHint?: (hint: HintRequest) => void;
  onClosed?: () => void;
}

/** `events` without the root's exit, and whether it was among them (after the rest: the engine's order). */
export function withoutRootExit(events: RawEngineEvent[]): { events: EngineEvent[]; rootExited: boolean } {
  const rest = events.filter((e): e is EngineEvent => e.kind !== 'root-exit');
  return { events: rest, rootExited: rest.length !== events.length };
}

/**
 * The receiver count asked for by SBX_ENGINE_RECEIVERS (1..16), undefined when unset (the
 * engine's default, 2). For measuring the receiver pattern (bench/trapfloor.mjs); it only
 * changes how many threads answer, never what is decided.
 */
export function engineReceivers(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env.SBX_ENGINE_RECEIVERS;
  if (v === undefined || v === '') return undefined;
  if (!/^[0-9]{1,2}$/.test(v) || Number(v) < 1 || Number(v) > 16)
    throw new SbxError(`SBX_ENGINE_RECEIVERS must be a whole number from 1 to 16 (got ${JSON.stringify(v)})`, {
      exitCode: 2,
      hint: 'unset it to use the default (2 receiving threads)',
    });
  return Number(v);
}

/** A programming error in what was passed to the engine. */
export class EngineArgumentError extends SbxError {}

function fail(where: string, what: string, got: unknown): never {
  let shown: string;
  try {
    shown = JSON.stringify(got) ?? String(got);
  } catch {
    shown = String(got);
  }
  throw new EngineArgumentError(`${where}: ${what} (got ${shown.length > 80 ? `${shown.slice(0, 77)}...` : shown})`);
}

function checkInt(where: string, name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
    fail(where, `${name} must be an integer in [${lo}, ${hi}]`, v);
  return v;
}

function checkEffect(where: string, v: unknown): void {
  if (v !== 'allow' && v !== 'deny') fail(where, "must be 'allow' or 'deny'", v);
}

function checkPathRules(where: string, rules: unknown): void {
  if (!Array.isArray(rules)) fail(where, 'must be an array', rules);
  rules.forEach((r: PathRule, i: number) => {
    const w = `${where}[${i}]`;
    if (typeof r !== 'object' || r === null) fail(w, 'must be an object', r);
    checkInt(w, 'rule', r.rule, -2, 2 ** 31 - 1);
    checkEffect(`${w}.effect`, r.effect);
    if (r.match !== 'subtree' && r.match !== 'glob' && r.match !== 'exact') fail(`${w}.match`, "must be 'subtree', 'glob' or 'exact'", r.match);
    if (typeof r.pattern !== 'string' || r.pattern === '') fail(`${w}.pattern`, 'must be a non-empty string', r.pattern);
    if (r.pattern.includes('\0')) fail(`${w}.pattern`, 'must not contain NUL', r.pattern);
    if (typeof r.floor !== 'boolean') fail(`${w}.floor`, 'must be a boolean', r.floor);
    if (r.deputy !== undefined && typeof r.deputy !== 'boolean') fail(`${w}.deputy`, 'must be a boolean', r.deputy);
    if (r.builtin !== undefined && typeof r.builtin !== 'boolean') fail(`${w}.builtin`, 'must be a boolean', r.builtin);
  });
}

export function checkSection(where: string, s: PathSection): void {
  if (typeof s !== 'object' || s === null) fail(where, 'must be an object', s);
  checkEffect(`${where}.default`, s.default);
  checkPathRules(`${where}.rules`, s.rules);
}

export function checkPolicy(p: CompiledPolicy): void {
  const w = 'engine policy';
  if (typeof p !== 'object' || p === null) fail(w, 'must be an object', p);
  checkInt(w, 'id', p.id, 0, 2 ** 31 - 1);
  if (p.mode !== 'enforce' && p.mode !== 'audit') fail(`${w}.mode`, "must be 'enforce' or 'audit'", p.mode);
  if (p.within !== undefined) checkInt(w, 'within', p.within, 0, 2 ** 31 - 1);
  checkSection(`${w}.read`, p.read);
  checkSection(`${w}.write`, p.write);
  checkSection(`${w}.unix`, p.unix);
  if (typeof p.exec !== 'object' || p.exec === null) fail(`${w}.exec`, 'must be an object', p.exec);
  checkEffect(`${w}.exec.default`, p.exec.default);
  checkPathRules(`${w}.exec.paths`, p.exec.paths);
  if (!Array.isArray(p.exec.programs)) fail(`${w}.exec.programs`, 'must be an array', p.exec.programs);
  p.exec.programs.forEach((r, i) => {
    const pw = `${w}.exec.programs[${i}]`;
    checkInt(pw, 'rule', r.rule, -2, 2 ** 31 - 1);
    checkEffect(`${pw}.effect`, r.effect);
    if (typeof r.name !== 'string' || r.name === '') fail(`${pw}.name`, 'must be a non-empty string', r.name);
    if (!Array.isArray(r.args) || r.args.some((a) => typeof a !== 'string')) fail(`${pw}.args`, 'must be strings', r.args);
  });
  if (typeof p.net !== 'object' || p.net === null) fail(`${w}.net`, 'must be an object', p.net);
  checkEffect(`${w}.net.default`, p.net.default);
  if (p.net.proxyPort !== undefined) checkInt(`${w}.net`, 'proxyPort', p.net.proxyPort, 0, 65535);
  if (!Array.isArray(p.net.rules)) fail(`${w}.net.rules`, 'must be an array', p.net.rules);
  p.net.rules.forEach((r, i) => {
    const nw = `${w}.net.rules[${i}]`;
    checkInt(nw, 'rule', r.rule, -2, 2 ** 31 - 1);
    checkEffect(`${nw}.effect`, r.effect);
    if (r.family !== 4 && r.family !== 6) fail(`${nw}.family`, 'must be 4 or 6', r.family);
    if (typeof r.address !== 'string') fail(`${nw}.address`, 'must be a string', r.address);
    checkInt(nw, 'prefix', r.prefix, 0, r.family === 4 ? 32 : 128);
    checkInt(nw, 'portLo', r.portLo, 0, 65535);
    checkInt(nw, 'portHi', r.portHi, r.portLo, 65535);
  });
  if (!Array.isArray(p.commands)) fail(`${w}.commands`, 'must be an array', p.commands);
  p.commands.forEach((c, i) => {
    const cw = `${w}.commands[${i}]`;
    checkInt(cw, 'rule', c.rule, -2, 2 ** 31 - 1);
    if (typeof c.name !== 'string' || c.name === '') fail(`${cw}.name`, 'must be a non-empty string', c.name);
    checkInt(cw, 'policy', c.policy, 0, 2 ** 31 - 1);
  });
}

/** One engine serving one seccomp listener. */
export class Engine {
  private handle: EngineHandle | undefined;
  private readonly addon: NativeAddon;
  private readonly policies = new Set<number>();
  private readonly onRootExit: (() => void) | undefined;

  private constructor(addon: NativeAddon, handle: EngineHandle, onRootExit?: () => void) {
    this.addon = addon;
    this.handle = handle;
    this.onRootExit = onRootExit;
  }

  static create(o: EngineCreateOptions): Engine {
    const w = 'Engine.create';
    if (typeof o !== 'object' || o === null) fail(w, 'options must be an object', o);
    checkInt(w, 'listenerFd', o.listenerFd, 0, 2 ** 31 - 1);
    checkInt(w, 'strictPolicy', o.strictPolicy, 0, 2 ** 31 - 1);
    if (o.threads !== undefined) checkInt(w, 'threads', o.threads, 1, 16);
    if (o.journalFd !== undefined) checkInt(w, 'journalFd', o.journalFd, 0, 2 ** 31 - 1);
    const pids = o.protectedPids ?? [];
    if (!Array.isArray(pids)) fail(w, 'protectedPids must be an array', pids);
    pids.forEach((p, i) => checkInt(w, `protectedPids[${i}]`, p, 1, 2 ** 31 - 1));
    for (const k of ['onEvents', 'onRootExit', 'onHint', 'onClosed'] as const)
      if (o[k] !== undefined && typeof o[k] !== 'function') fail(w, `${k} must be a function`, typeof o[k]);
    const addon = loadNative();
    // The launcher is sbx's own (started before the filter): the engine knows it by identity.
    let launcher: string | undefined;
    try {
      launcher = launcherPath();
    } catch {
      launcher = undefined; // no launcher built: nothing can be launched to meet either
    }
    const handle = addon.engineCreate({
      listenerFd: o.listenerFd,
      strictPolicy: o.strictPolicy,
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
      ...(o.journalFd !== undefined ? { journalFd: o.journalFd } : {}),
      protectedPids: pids,
      ...(launcher !== undefined ? { launcherPath: launcher } : {}),
      onEvents: (all: RawEngineEvent[]) => {
        const { events, rootExited } = withoutRootExit(all);
        if (events.length > 0) o.onEvents?.(events);
        if (rootExited) o.onRootExit?.();
      },
      // Nobody listens for hints: refuse them rather than leave the caller blocked.
      onHint: o.onHint ?? ((h) => addon.engineReplyHint(handle, h.id, { errno: 2 })),
      onClosed: o.onClosed ?? (() => {}),
    });
    return new Engine(addon, handle, o.onRootExit);
  }

  private live(where: string): EngineHandle {
    if (!this.handle) throw new EngineArgumentError(`${where}: the engine has been stopped`);
    return this.handle;
  }

  setPolicy(policy: CompiledPolicy): void {
    const h = this.live('Engine.setPolicy');
    checkPolicy(policy);
    this.addon.engineSetPolicy(h, policy);
    this.policies.add(policy.id);
  }

  dropPolicy(id: number): void {
    const h = this.live('Engine.dropPolicy');
    checkInt('Engine.dropPolicy', 'policyId', id, 0, 2 ** 31 - 1);
    this.addon.engineDropPolicy(h, id);
    this.policies.delete(id);
  }

  /**
   * Puts a process (tgid) under policyId from now on: what it created before keeps the
   * policy it was created under. followsCd: the session's shell. Throws when the process
   * cannot be tagged (see native.d.ts).
   */
  assign(pid: number, policyId: number, followsCd: boolean, sealed = false): void {
    const w = 'Engine.assign';
    const h = this.live(w);
    checkInt(w, 'pid', pid, 1, 2 ** 31 - 1);
    checkInt(w, 'policyId', policyId, 0, 2 ** 31 - 1);
    if (typeof followsCd !== 'boolean') fail(w, 'followsCd must be a boolean', followsCd);
    if (typeof sealed !== 'boolean') fail(w, 'sealed must be a boolean', sealed);
    if (!this.policies.has(policyId)) fail(w, 'policyId was never set with setPolicy', policyId);
    this.addon.engineAssign(h, pid, policyId, followsCd, sealed);
  }

  /** The policy a process of this session runs under and whether it is the shell; null: not this session's, or unplaced. */
  process(pid: number): { policy: number; followsCd: boolean } | null {
    const w = 'Engine.process';
    const h = this.live(w);
    checkInt(w, 'pid', pid, 1, 2 ** 31 - 1);
    return this.addon.engineProcess(h, pid);
  }

  /** Replaces the pids no sandboxed process may signal, ptrace or open under /proc (this process stays). */
  setProtectedPids(pids: number[]): void {
    const w = 'Engine.setProtectedPids';
    const h = this.live(w);
    if (!Array.isArray(pids)) fail(w, 'pids must be an array', pids);
    pids.forEach((p, i) => checkInt(w, `pids[${i}]`, p, 1, 2 ** 31 - 1));
    this.addon.engineSetProtectedPids(h, pids);
  }

  replyHint(id: string, reply: HintReply): boolean {
    const w = 'Engine.replyHint';
    const h = this.live(w);
    if (typeof id !== 'string' || !/^\d+$/.test(id)) fail(w, 'id must be the decimal string from onHint', id);
    if (typeof reply !== 'object' || reply === null) fail(w, 'reply must be an object', reply);
    const hasContent = reply.content !== undefined;
    const hasErrno = reply.errno !== undefined;
    if (hasContent === hasErrno) fail(w, 'reply needs exactly one of content or errno', reply);
    if (hasContent && typeof reply.content !== 'string') fail(w, 'reply.content must be a string', reply.content);
    if (hasErrno) checkInt(w, 'reply.errno', reply.errno, 1, 4095);
    return this.addon.engineReplyHint(h, id, reply) as unknown as boolean;
  }

  stats(): EngineStats {
    return this.addon.engineStats(this.live('Engine.stats'));
  }

  /** The events waiting for onEvents, now (a shell asking at its prompt must hear of a denial a moment old). */
  takeEvents(): { events: EngineEvent[]; inFlight: boolean } {
    const taken = this.addon.engineTakeEvents(this.live('Engine.takeEvents'));
    const { events, rootExited } = withoutRootExit(taken.events);
    if (rootExited) queueMicrotask(() => this.onRootExit?.()); // after the caller handled these
    return { ...taken, events };
  }

  /** Whether the pty at `path` was allocated inside this session (a sandboxed process holds its master). */
  ownsPty(path: string): boolean {
    const w = 'Engine.ownsPty';
    const h = this.live(w);
    if (typeof path !== 'string' || !path.startsWith('/')) fail(w, 'path must be an absolute path', path);
    return this.addon.engineOwnsPty(h, path);
  }

  /**
   * Stops every process of the session but its shell while a person answers a question at
   * its terminal; '' when done, else why they could not all be stopped. resume() continues them.
   */
  pause(askingTid: number): Promise<string> {
    const w = 'Engine.pause';
    const h = this.live(w);
    if (!Number.isInteger(askingTid) || askingTid <= 0) fail(w, 'askingTid must be a positive integer', askingTid);
    return this.addon.enginePause(h, askingTid);
  }

  /** '' when nothing of the session ran since pause() (checked after the answer, before acting on it), else what did. */
  quiet(): string {
    return this.addon.engineQuiet(this.live('Engine.quiet'));
  }

  /**
   * The session's command or shell: once it exits, what it left is killed as
   * terminal_release.h says (each reported as a denial, op "tty"). terminalFds: the terminals
   * the root started on, from its keeper (dup'd by the engine; the caller closes its own).
   */
  watchRoot(pid: number, terminalFds?: number[]): void {
    const w = 'Engine.watchRoot';
    const h = this.live(w);
    if (!Number.isInteger(pid) || pid <= 0) fail(w, 'pid must be a positive integer', pid);
    if (terminalFds !== undefined && (!Array.isArray(terminalFds) || !terminalFds.every((fd) => Number.isInteger(fd) && fd >= 0)))
      fail(w, 'terminalFds must be an array of fds', terminalFds);
    this.addon.engineWatchRoot(h, pid, terminalFds);
  }

  /** Continues what pause() stopped; a no-op once the engine stopped (it continued them then). */
  resume(): void {
    if (this.handle) this.addon.engineResume(this.handle);
  }

  /** Files the engine unlinks at the next denial, before answering it (the shells' fresh markers); fires once. */
  setNoticeFiles(paths: string[]): void {
    const w = 'Engine.setNoticeFiles';
    const h = this.live(w);
    if (!Array.isArray(paths)) fail(w, 'paths must be an array', paths);
    paths.forEach((p, i) => {
      if (typeof p !== 'string' || !p.startsWith('/')) fail(w, `paths[${i}] must be an absolute path`, p);
    });
    this.addon.engineSetNoticeFiles(h, paths);
  }

  /** Stops the threads; idempotent. The caller keeps its listener fd. */
  stop(): void {
    if (!this.handle) return;
    const h = this.handle;
    this.handle = undefined;
    // A supervisor's session ends on its listener's hang-up (the engine cleans up then), or is
    // handed to the next supervisor: never over here.
    this.addon.engineStop(h, false);
  }

  get stopped(): boolean {
    return this.handle === undefined;
  }
}

/**
 * The highest policy id a previous engine of the session tagged a process with, as its
 * keeper's memfd records it (-1: none). A resumed session hands out new ids above it.
 */
export function storedMaxPolicy(memfd: number): number {
  if (!Number.isInteger(memfd) || memfd < 0) fail('storedMaxPolicy', 'memfd must be a file descriptor', memfd);
  return loadNative().storedMaxPolicy(memfd);
}

/** The native decision for one path (for explanations and the TS/native table test). */
export function nativeDecidePath(section: PathSection, path: string): { effect: 'allow' | 'deny'; rule: number } {
  checkSection('nativeDecidePath section', section);
  if (typeof path !== 'string' || path.includes('\0')) fail('nativeDecidePath', 'path must be a string without NUL', path);
  return loadNative().decidePath(section, path);
}

/** The native rule for another process's /proc/<pid>/<below> (table-tested; see native.d.ts). */
export function nativeProcEntryAllowed(below: string, write: boolean, debuggable = false): boolean {
  if (typeof below !== 'string' || below.includes('\0')) fail('nativeProcEntryAllowed', 'below must be a string without NUL', below);
  return loadNative().procEntryAllowed(below, write, debuggable);
}

/**
 * Proxy admission through the engine (src/net ProxyAdmission): engines of this process let
 * a sandbox connect to its own sbx proxy only, and announce those connections with the
 * connecting program's policy id; the proxy serves nothing else (not another sandbox, not an
 * unsandboxed process), and decides each connection by that program's policy.
 */
export function proxyAdmission(addon: NativeAddon = loadNative()): {
  register(port: number, open: boolean): void;
  admits(proxyPort: number, clientAddress: string, clientPort: number): number | undefined;
  overrideServerAt(address: string, port: number): boolean;
  connectUnlessOverride(address: string, port: number): number;
} {
  return {
    register: (port, open) => addon.proxyRegister(port, open),
    admits: (proxyPort, clientAddress, clientPort) => {
      if (!(clientPort > 0 && clientPort <= 65535)) return undefined;
      const policy = addon.proxyAdmits(proxyPort, clientAddress, clientPort);
      return policy >= 0 ? policy : undefined;
    },
    // An address that is not an IP, or a port out of range, names no server here.
    overrideServerAt: (address, port) => isIP(address) !== 0 && Number.isInteger(port) && port > 0 && port <= 65535 && addon.overrideServerAt(address, port),
    // On this machine a handshake takes microseconds: a listener whose queue is full is not
    // waited for long (the supervisor's thread waits).
    connectUnlessOverride: (address, port) =>
      isIP(address) !== 0 && Number.isInteger(port) && port > 0 && port <= 65535 ? addon.connectUnlessOverride(address, port, 100) : -constants.errno.EINVAL,
  };
}
