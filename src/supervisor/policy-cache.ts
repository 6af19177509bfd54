/**
 * Resolved policies shared by every session, so a `cd` does not recompile. A directory's
 * policy depends only on the files in force (user config, the project file found above it,
 * the trust db) — not on the directory itself once a project file is found — so entries are
 * keyed by that *effective* identity: two directories under one .sbx.yaml share one entry.
 *
 * Each entry carries a stamp of every path that could change it (ResolvedPolicy.watch: the
 * files in force, the user config path, the trust db, the project dir) as ino+size+mtime, and
 * the build's facts (every path it canonicalised, every existence it probed: a link a rule goes
 * through, a walk-up file's marker); a hit re-checks both, so an edit or a repointed link is
 * seen even before (or without) a chokidar event. The watcher also drops entries (invalidate)
 * so a reload never reads a stale one.
 *
 * A policy also depends on the variables its build read (PATH, ZDOTDIR, …: each session's own,
 * caller-env.ts): an entry holds for a session only when every one of them has the same value
 * there; a few variants per identity are kept (sessions started from different terminals).
 */
import { statSync } from 'node:fs';
import { findProjectFile } from '../policy/discover.js';
import { sourceWithFloorsOf } from '../policy/floors-of.js';
import { recordReads } from '../policy/env-reads.js';
import { canonicalPath, nodePathKinds, planFactsCheck, SETTLED_NS, type FactsCheck, type PathKinds, type PathStamps } from '../policy/expand.js';
import { stateLastGood, type LastGoodStore } from '../policy/last-good.js';
import type { Env } from '../policy/paths.js';
import { resolveServedExec, resolveSourceWithFacts, sourceKey, type PolicySource, type ResolvedSource } from './policies.js';
import { freezeShared, sessionCopy } from './shared-policy.js';

/** Policies kept in all (identities × variants); each is ~40 KB. */
const MAX_ENTRIES = 256;

/** Variants kept per identity (sessions whose variables differ). */
const MAX_VARIANTS = 4;

interface CacheEntry {
  /** The variables the build read, with their values then. */
  reads: Array<[string, string | undefined]>;
  /** Frozen (shared-policy.ts): each get hands out a session copy. */
  resolved: ResolvedSource;
  paths: string[];
  stamp: string;
  /** No file it read changed within SETTLED_NS: it may be kept. */
  settled: boolean;
  facts: FactsCheck;
  /** Changes whenever the entry is re-resolved: same generation = same compiled policy. */
  generation: number;
}

/** `settled`: no file changed within SETTLED_NS, so none changed between our read and our stat (exec-policy-cache.ts too). */
export function stampOf(paths: string[]): { stamp: string; settled: boolean } {
  const now = BigInt(Date.now()) * 1_000_000n;
  let settled = true;
  const stamp = paths
    .map((p) => {
      try {
        const s = statSync(p, { bigint: true });
        if (now - s.mtimeNs < SETTLED_NS || now - s.ctimeNs < SETTLED_NS) settled = false;
        return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
      } catch {
        return '-';
      }
    })
    .join('|');
  return { stamp, settled };
}

/**
 * Drops the least recently used keys (first in the map) until at most `max` variants remain
 * in all; `keep` (the one just used) stays. Shared with exec-policy-cache.ts.
 */
export function evictLeastRecent<T>(entries: Map<string, T[]>, max: number, keep: string): void {
  let total = 0;
  for (const v of entries.values()) total += v.length;
  for (const [k, v] of entries) {
    if (total <= max || k === keep) break;
    entries.delete(k);
    total -= v.length;
  }
}

export interface CachedSource {
  resolved: ResolvedSource;
  /** The effective identity (what sessions key their entries by). */
  effectiveKey: string;
  generation: number;
}

export class PolicyCache {
  /** By effective identity, most recently used last; the variants differ in the variables read. */
  private readonly entries = new Map<string, CacheEntry[]>();
  private nextGeneration = 1;
  /** The last good version of every policy file, kept in sbx's state (this supervisor records). */
  private readonly lastGood: LastGoodStore;

  /** `kinds`, `stamps`: how the facts and their directories are stat'ed (the supervisor passes the native batches; see PathKinds). */
  constructor(
    private readonly env: Env,
    say?: (line: string) => void,
    private readonly kinds: PathKinds = nodePathKinds,
    private readonly stamps?: PathStamps,
  ) {
    this.lastGood = stateLastGood(env, true, say);
  }

  /** What decides a source's policy, besides the stamped files. */
  effectiveKey(source: PolicySource): string {
    if (source.kind === 'exec') return sourceKey(source);
    const project = findProjectFile(source.dir);
    let where: string;
    try {
      where = project ? `project:${project}` : `dir:${canonicalPath(source.dir)}`;
    } catch {
      where = `dir:${source.dir}`;
    }
    return source.kind === 'use' ? `use:${source.file}|${where}` : where;
  }

  /**
   * A private copy of the source's policy (sessions renumber ids in place), built from `env`
   * (the session's variables: caller-env.ts; default the supervisor's), with the deny floors of
   * its build from `floors` when given (the caller's own HOME and XDG_*). Throws PolicyError
   * like resolveSource; a failure is not cached.
   */
  async get(source: PolicySource, env: Env = this.env, floors?: Env): Promise<CachedSource> {
    const effectiveKey = this.effectiveKey(source);
    // An exec source (a served one resumed after a restart) is built once per command from the
    // variables kept with it, with the same floors as at its start: never cached.
    if (source.kind === 'exec') {
      const vars = source.env ?? env;
      return { resolved: await resolveServedExec(source, vars, vars, this.env, floors), effectiveKey, generation: this.nextGeneration++ };
    }
    const e = await this.entryFor(source, effectiveKey, env);
    // `floors`: the caller's own places (caller-env.ts): their floors are added to this copy.
    const theirs = floors ? await this.entryFor(source, effectiveKey, floors) : undefined;
    const copy = sessionCopy(theirs ? sourceWithFloorsOf(e.resolved, theirs.resolved.main, "the terminal's own HOME and XDG_*") : e.resolved);
    copy.source = source;
    return { resolved: copy, effectiveKey, generation: e.generation };
  }

  /** The cached variant for `env`, built (and kept, once its files settled) when there is none. */
  private async entryFor(source: PolicySource, effectiveKey: string, env: Env): Promise<CacheEntry> {
    const holds = (v: CacheEntry) => stampOf(v.paths).stamp === v.stamp && v.facts.holds(this.kinds);
    let e = (this.entries.get(effectiveKey) ?? []).filter(holds).find((v) => v.reads.every(([name, value]) => env[name] === value));
    if (!e) e = await this.build(source, env);
    // Most recently used last, both among the variants and among the identities (a build
    // for the supervisor's variables, below, may have changed the list meanwhile).
    const fresh = (this.entries.get(effectiveKey) ?? []).filter((v) => v !== e && holds(v));
    if (e.settled) fresh.push(e);
    this.entries.delete(effectiveKey);
    if (fresh.length > 0) this.entries.set(effectiveKey, fresh.slice(-MAX_VARIANTS));
    evictLeastRecent(this.entries, MAX_ENTRIES, effectiveKey);
    return e;
  }

  private async build(source: PolicySource, env: Env): Promise<CacheEntry> {
    const reads = recordReads(env);
    const built = await resolveSourceWithFacts(source, reads.view, this.lastGood);
    const readValues = reads.names().map((n): [string, string | undefined] => [n, env[n]]);
    let resolved = built.resolved;
    let paths = [...new Set([...resolved.watch, ...resolved.files])];
    let ownFacts: FactsCheck | undefined;
    // Built from other variables than the supervisor's: the floors the supervisor's own make
    // are added (src/policy/floors-of.ts), so the variant stays valid only while theirs does.
    if (readValues.some(([n, v]) => this.env[n] !== v)) {
      const own = await this.entryFor(source, this.effectiveKey(source), this.env);
      resolved = sourceWithFloorsOf(resolved, own.resolved.main);
      paths = [...new Set([...paths, ...own.paths])];
      ownFacts = own.facts;
    }
    const { stamp, settled } = stampOf(paths);
    const planned = [planFactsCheck(built.facts, settled ? this.stamps : undefined, this.kinds), ...(ownFacts ? [ownFacts] : [])];
    return {
      reads: readValues,
      // A copy is frozen: the build may share objects with what built it.
      resolved: freezeShared(structuredClone(resolved)),
      paths,
      stamp,
      // An edit between our read and our stat would hide behind the stamp: only what has not
      // changed for a while is kept (a fresh edit is simply resolved again next time).
      settled,
      facts: { holds: (kinds) => planned.every((f) => f.holds(kinds)) },
      generation: this.nextGeneration++,
    };
  }

  /** The watcher saw `file` change: forget everything it is part of. */
  invalidate(file: string): void {
    for (const [k, variants] of this.entries) if (variants.some((e) => e.paths.includes(file))) this.entries.delete(k);
  }
}
