/**
 * The installed-policy bookkeeping of one session: which policy sources it has resolved
 * (entries), the engine ids their policies got (local to the session's engine), the policy
 * and origin behind every id, the strictest policy, and which entry the shell runs under.
 * From this the state the keeper keeps for a restarted supervisor is made.
 *
 * Which process runs under which id is not here: the engine's process tags say that.
 */
import type { Engine } from '../native/engine.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { STRICT_ORIGIN, strictestPolicy } from '../policy/strict.js';
import type { NestedState, SessionState } from '../protocol/keeper.js';
import type { ResolvedSource } from './policies.js';

/**
 * Entries are keyed by the cache's effective key: every directory under one project file
 * shares one entry (one set of ids), so a cd between them is only an engineAssign.
 */
export interface Entry {
  resolved: ResolvedSource;
  /** The cache generation installed: the same one again needs no setPolicy. */
  generation: number;
  mainId: number;
  overrideIds: number[];
  /** What the engine gets: the policies after src/net (resolved names, DNS, proxy port, unix defaults). */
  netMain?: CompiledPolicy;
  netOverrides?: CompiledPolicy[];
}

type PolicySink = Pick<Engine, 'setPolicy'>;

/** An engine id's policy as the engine has it, its origin line, and the source it was resolved from (none for the strict one). */
export interface InstalledPolicy {
  policy: CompiledPolicy;
  origin: string;
  resolved?: ResolvedSource;
}

/** The policy everything falls back to when a resumed session's files cannot be read: deny, loudly. */
export function lockdown(id: number): CompiledPolicy {
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

export class InstalledPolicies {
  readonly entries = new Map<string, Entry>();
  private readonly byId = new Map<number, InstalledPolicy>();
  /** Nested policies by id: what built each (narrow.ts). */
  private readonly nested = new Map<number, NestedState>();
  /** The entry the session's shell runs under (what the proxy decides on). */
  rootKey = '';
  nextId = 1;
  strictId = 0;

  /** Takes the ids a resumed session's state names. */
  resume(state: SessionState): void {
    this.nextId = Math.max(1, state.nextId);
    this.strictId = state.strict;
  }

  /**
   * New ids above `id` (the highest one the session's processes may carry, from the tags the
   * keeper's memfd recorded): whatever the kept state said, an id a previous supervisor
   * handed out after its last state reached the keeper is never given to another policy.
   */
  keepAbove(id: number): void {
    this.nextId = Math.max(this.nextId, id + 1);
  }

  /**
   * Ids from a random base far above any a session hands out (they count up from 1): for a
   * resume without state, whose processes carry ids of policies we no longer know.
   */
  freshIds(): void {
    this.nextId = (1 << 24) + Math.floor(Math.random() * (1 << 28));
  }

  /** A new session: the strictest policy gets the next id. */
  allocateStrict(): void {
    this.strictId = this.nextId++;
  }

  /** The policy (as the engine has it) and its origin for an engine id. */
  byPolicyId(id: number): InstalledPolicy | undefined {
    return this.byId.get(id);
  }

  /** The entry the shell runs under. */
  root(): Entry | undefined {
    return this.entries.get(this.rootKey);
  }

  /** Records a source's resolution (allocating ids once per key, or taking `ids`) and gives its policies those ids. */
  setEntry(key: string, resolved: ResolvedSource, generation: number, ids?: { main: number; overrides: number[] }): Entry {
    let e = this.entries.get(key);
    if (!e) {
      e = { resolved, generation, mainId: ids?.main ?? this.nextId++, overrideIds: [...(ids?.overrides ?? [])] };
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

  /** Sets an entry's policies in the engine. */
  install(engine: PolicySink, e: Entry): void {
    (e.netOverrides ?? e.resolved.overrides).forEach((o) => {
      engine.setPolicy(o);
      this.byId.set(o.id, { policy: o, origin: `${e.resolved.origin} (command override)`, resolved: e.resolved });
    });
    const main = e.netMain ?? e.resolved.main;
    engine.setPolicy(main);
    this.byId.set(main.id, { policy: main, origin: e.resolved.origin, resolved: e.resolved });
  }

  /**
   * A nested policy (`sbx exec` inside): a new id, the policy in the engine, known by id for
   * the log, and what built it, for the keeper's state (a restarted supervisor builds it
   * again under the same id: narrow.ts buildNested).
   */
  addNested(engine: PolicySink, p: CompiledPolicy, origin: string, built: NestedState): void {
    this.addPolicy(engine, p, origin);
    this.nested.set(p.id, built);
  }

  /**
   * A policy in the engine, known by id for the log: a nested one (addNested), or a nested
   * policy's twin for one of its outer policy's command overrides (narrow.ts), rebuilt with
   * its nested policy (its id is in the nested policy's state).
   */
  addPolicy(engine: PolicySink, p: CompiledPolicy, origin: string): void {
    engine.setPolicy(p);
    this.byId.set(p.id, { policy: p, origin });
  }

  /** What built nested policy `id` (undefined: not a nested policy of this session). */
  nestedState(id: number): NestedState | undefined {
    return this.nested.get(id);
  }

  /** A fresh engine id. */
  allocateId(): number {
    return this.nextId++;
  }

  /** The strictest policy, over every policy the session has now (policy/strict.ts). */
  installStrict(engine: PolicySink): void {
    const p = strictestPolicy(
      this.strictId,
      [...this.byId.values()].map((b) => b.policy).filter((b) => b.id !== this.strictId),
    );
    engine.setPolicy(p);
    this.byId.set(p.id, { policy: p, origin: STRICT_ORIGIN });
  }

  /** A refreshed snapshot of an installed policy (names re-resolved): same id, new addresses. False if the id is unknown. */
  refresh(engine: PolicySink, p: CompiledPolicy): boolean {
    const known = this.byId.get(p.id);
    if (!known) return false;
    engine.setPolicy(p);
    this.byId.set(p.id, { ...known, policy: p });
    return true;
  }

  /** The entry whose main policy or one of whose overrides has this id. */
  keyOfId(id: number): string | undefined {
    for (const [key, e] of this.entries) if (e.mainId === id || e.overrideIds.includes(id)) return key;
    return undefined;
  }

  /** The files these policies read (for the watcher). */
  files(): string[] {
    return [...new Set([...this.entries.values()].flatMap((e) => e.resolved.files))];
  }

  usesFile(file: string): boolean {
    for (const e of this.entries.values()) if (e.resolved.files.includes(file)) return true;
    return false;
  }

  /** What the keeper keeps for a next supervisor to resume the session. */
  state(proxyPort: number | undefined, upstream?: { url: string; noProxy: string[] }, env?: Record<string, string>): SessionState {
    const keys = [...this.entries.keys()];
    const nested = [...this.nested.values()].sort((a, b) => a.id - b.id);
    return {
      v: 2,
      sources: keys.map((k) => {
        const e = this.entries.get(k)!;
        return { source: e.resolved.source, main: e.mainId, overrides: [...e.overrideIds] };
      }),
      root: Math.max(0, keys.indexOf(this.rootKey)),
      strict: this.strictId,
      nextId: this.nextId,
      ...(proxyPort !== undefined ? { proxyPort } : {}),
      ...(upstream ? { upstream: { url: upstream.url, noProxy: [...upstream.noProxy] } } : {}),
      ...(env !== undefined ? { env } : {}),
      ...(nested.length > 0 ? { nested } : {}),
    };
  }
}
