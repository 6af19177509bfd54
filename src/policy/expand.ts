/**
 * From what a person wrote (`~/.ssh`, `$PROJECT_DATA/cache/`, `../shared`, `**\/.env`) to
 * what the compiled policy holds: an absolute canonical path (subtree rule) or an
 * absolute glob whose literal prefix is canonical.
 *
 * Canonical = `..`/`.`/trailing slashes removed lexically, then every link followed as the
 * kernel follows it (symlinked dirs collapse to their target), the part that does not exist
 * appended as written — so a `dist/` that does not exist yet still gets a stable path.
 */
import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { dirname, isAbsolute, posix, resolve } from 'node:path';
import type { Env } from './paths.js';
import { escapeGlob } from './escape-glob.js';

/** A problem with one entry; the caller adds file:line:col and key path. */
export class EntryError extends Error {}

export interface ExpandContext {
  home: string;
  env: Env;
  /** Directory relative entries resolve against (the policy file's directory). */
  baseDir: string;
}

/** `~`, `~/x`, `$VAR`, `${VAR}`. An unknown variable is an error naming it. */
export function expandVars(text: string, ctx: Pick<ExpandContext, 'home' | 'env'>): string {
  let s = text;
  if (s === '~' || s.startsWith('~/')) s = ctx.home + s.slice(1);
  else if (s.startsWith('~')) throw new EntryError(`'~user' is not supported, write the path`);
  return s.replace(/\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare!;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new EntryError(`bad variable name '\${${name}}'`);
    const v = ctx.env[name];
    if (v === undefined) throw new EntryError(`unknown variable $${name}`);
    return v;
  });
}

/** True when the text has an unescaped `*` or `?`. */
export function isGlob(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?') return true;
  }
  return false;
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}


/**
 * What the kernel's realpath gives for the existing part of `path`, the rest as written.
 * Dangling links are followed (a `dist -> ../build` link made before the build still points
 * where writes will go). Existence is probed without exceptions (they dominate the cost).
 */
export function canonicalPath(path: string): string {
  // Outside a build, memoised for this one call (its parents are resolved once each).
  if (!buildFacts) return withBuildFactsSync(() => canonicalPath(path));
  return canonical(resolve(path));
}

const PROCESS_LINKS = /^\/(proc\/(self|thread-self)|dev\/(fd|stdin|stdout|stderr))(\/|$)/;

/** Links one resolution follows at most, as the kernel (then ELOOP; here: the rest taken as written). */
const MAX_FOLLOWS = 40;
/** Components one resolution steps through while following links (a bound on the work a planted tree can cost). */
const MAX_STEPS = 4096;

/** What resolving a path cost: links followed and components stepped (the kernel's budget is per resolution). */
interface Cost {
  follows: number;
  steps: number;
}
const NO_COST: Cost = { follows: 0, steps: 0 };

/** The cost of each memoised resolution (by the path as asked), beside buildFacts: derived, not a fact. */
let costs: Map<string, Cost> | undefined;

/**
 * A full resolution of a normalised absolute path, memoised while a build runs; every answer
 * is a function of the filesystem alone (buildFactsHold relies on that). Its parent is
 * resolved first (memoised), and its own name is looked at there: a link-free path, so the
 * kernel walks no link again for it. A link is followed with what the parent's resolution
 * left of one budget (MAX_FOLLOWS links, MAX_STEPS components), as the kernel counts links
 * per resolution: a planted loop costs a bounded walk, not an exponential one.
 */
function canonical(abs: string): string {
  // Links that name whoever follows them (the supervisor would resolve its own cwd, fds and
  // root): kept as written, in every process alike.
  if (PROCESS_LINKS.test(abs)) return abs;
  if (abs === '/') return '/';
  const key = `c${abs}`;
  const memo = buildFacts!.get(key);
  if (memo !== undefined) return memo;
  const parent = canonical(dirname(abs));
  const spent = costs!.get(dirname(abs)) ?? NO_COST;
  const here = under(parent, abs);
  const budget = { follows: spent.follows, steps: spent.steps };
  // Reached through another name (`p/self` with `p -> /proc`): kept as written all the same.
  const out = PROCESS_LINKS.test(here) || !isLink(here) ? here : followLink(here, parent, budget);
  buildFacts!.set(key, out);
  costs!.set(abs, budget);
  return out;
}

/** Is `abs` a link itself? (Not there, ENOTDIR, ENAMETOOLONG: no. See README: limits.) */
function isLink(abs: string): boolean {
  return pathKind(abs, false) === SYMLINK;
}

/**
 * Where the link `link` (a link-free path: canonical directory `dir` + its name) leads, walked
 * as the kernel walks it: from `dir` (or `/`), one component at a time, each made canonical
 * before the next (a link met on the way is followed first), so a `..` goes up from where the
 * walk really is — `sync/../keys` with `sync -> vault/inner` is `vault/keys`, not `keys`.
 * Followed by hand, not by realpath: a link to /proc/self (or /dev/fd/N) stays as written like
 * the name itself, and a dangling link leads where a write through it would create. `budget`
 * is the whole resolution's; past it the link is taken as written.
 */
function followLink(link: string, dir: string, budget: Cost): string {
  if (budget.follows >= MAX_FOLLOWS || budget.steps >= MAX_STEPS) return link;
  budget.follows++;
  let target: string;
  try {
    target = readlinkSync(link);
  } catch {
    return link; // gone meanwhile
  }
  let at = isAbsolute(target) ? '/' : dir;
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    if (++budget.steps > MAX_STEPS || PROCESS_LINKS.test(at)) {
      at = `${at}/${c}`; // out of budget, or below /proc/self: as written
      continue;
    }
    // `at` is canonical (no link in it): its parent by text is its real parent.
    if (c === '..') {
      at = dirname(at);
      continue;
    }
    const next = at === '/' ? `/${c}` : `${at}/${c}`;
    at = PROCESS_LINKS.test(next) || !isLink(next) ? next : followLink(next, at, budget);
  }
  return at;
}

/** A name's place: its directory made canonical, the name itself not followed (a link stays itself). */
export function placeOf(path: string): string {
  const abs = resolve(path);
  return under(canonicalPath(dirname(abs)), abs);
}

function under(parent: string, abs: string): string {
  return parent === '/' ? `/${posix.basename(abs)}` : `${parent}/${posix.basename(abs)}`;
}

/** Does `path` exist (following links)? Recorded, like canonicalPath, while a build runs. */
export function pathExists(path: string): boolean {
  return probe('e', path, () => (statSync(path, { throwIfNoEntry: false }) ? '1' : '0')) === '1';
}

/** Is `path` a regular file (following links)? Recorded while a build runs. */
export function isRegularFile(path: string): boolean {
  return probe('f', path, () => (statSync(path, { throwIfNoEntry: false })?.isFile() ? '1' : '0')) === '1';
}

/**
 * What a build derives from files' contents (a git config's hooksPath): `compute(input)` is
 * recorded like the path facts (key `d<name>\0<input>`) and computed again when a cached
 * build is checked, so an edit made since moves the result and the build is redone. `name`
 * must be registered (registerDerivation) wherever builds are checked; an unknown one makes
 * every cached build that used it stale.
 */
export function derivedFact(name: string, input: string, compute: (input: string) => string): string {
  derivations.set(name, compute);
  return probe('d', `${name}\0${input}`, () => compute(input));
}

const derivations = new Map<string, (input: string) => string>();

function recompute(key: string): string | undefined {
  const cut = key.indexOf('\0');
  const compute = cut < 0 ? undefined : derivations.get(key.slice(0, cut));
  if (!compute) return undefined;
  try {
    return compute(key.slice(cut + 1));
  } catch {
    return undefined;
  }
}

function probe(kind: string, path: string, look: () => string): string {
  const key = `${kind}${path}`;
  const known = buildFacts?.get(key);
  if (known !== undefined) return known;
  let out;
  try {
    out = look();
  } catch {
    out = '0'; // ENOTDIR, EACCES: not there as far as we can tell
  }
  buildFacts?.set(key, out);
  return out;
}

/**
 * What a build learned from the filesystem besides the policy files' contents: every path it
 * canonicalised (key `c…`) and what that came to, every existence it probed (`e…`, `f…`).
 * One compile asks about the same paths many times (main policy, each override), so they are
 * memoised while it runs, and never kept across calls (the tree changes): a cache of a build's
 * result keeps them and re-checks each (buildFactsHold) before using it.
 */
let buildFacts: Map<string, string> | undefined;

/**
 * Runs a build (synchronous, so no other build can interleave with it) with its facts
 * memoised, and returns them with its result. Within an enclosing build, the facts are that
 * build's (they all go to the outermost).
 */
export function recordBuildFacts<T>(fn: () => T): { out: T; facts: ReadonlyMap<string, string> } {
  const outer = buildFacts;
  if (!outer) [buildFacts, costs] = [new Map(), new Map()];
  const mine = buildFacts!;
  try {
    return { out: fn(), facts: mine };
  } finally {
    if (!outer) [buildFacts, costs] = [undefined, undefined];
  }
}

/** recordBuildFacts in a memo of its own, whatever runs around it: the facts of `fn` alone (for a cache of just its answer). */
export function recordOwnFacts<T>(fn: () => T): { out: T; facts: ReadonlyMap<string, string> } {
  const outer = [buildFacts, costs] as const;
  const mine = new Map<string, string>();
  [buildFacts, costs] = [mine, new Map()];
  try {
    return { out: fn(), facts: mine };
  } finally {
    [buildFacts, costs] = outer;
  }
}

/** The memo alone, for synchronous work (finishing a policy resolves many paths under a few directories). */
export function withBuildFactsSync<T>(fn: () => T): T {
  if (buildFacts) return fn();
  [buildFacts, costs] = [new Map(), new Map()];
  try {
    return fn();
  } finally {
    [buildFacts, costs] = [undefined, undefined];
  }
}

/**
 * What lstat (follow false) or stat says of each path: 0 absent or unreadable, 1 regular file,
 * 2 directory, 3 symlink, 4 anything else. The supervisor passes the native batch (one call for
 * a few hundred paths); elsewhere Node's fs answers, one call each.
 */
export type PathKinds = (paths: string[], follow: boolean) => Uint8Array;

const ABSENT = 0;
const REGULAR = 1;
const SYMLINK = 3;

/** One path's kind (PathKinds), through Node's fs: any error is ABSENT. */
function pathKind(p: string, follow: boolean): number {
  try {
    const st = follow ? statSync(p, { throwIfNoEntry: false }) : lstatSync(p, { throwIfNoEntry: false });
    return !st ? ABSENT : st.isFile() ? REGULAR : st.isDirectory() ? 2 : st.isSymbolicLink() ? SYMLINK : 4;
  } catch {
    return ABSENT;
  }
}

export const nodePathKinds: PathKinds = (paths, follow) => Uint8Array.from(paths, (p) => pathKind(p, follow));

/**
 * Directory stamps (the supervisor's native batches; elsewhere none: every name is lstat'ed).
 * `of`: per path its identity and last change (lstat: dev, ino, mtime and ctime), or '' for
 * anything else (absent, unreadable, not a directory, a filesystem not trusted for this) and
 * for a directory changed within the last second. Adding, removing or renaming an entry moves
 * a directory's mtime and ctime, and ctime cannot be set back from userspace, so an unchanged
 * stamp says none of its names changed kind (a symlink cannot become something else in
 * place). A change within the same clock tick as the stamp could hide behind it: hence
 * settled ones only. `mounts`: a number that changes with the mount table — a mount over a
 * name changes what lstat gives there without touching its directory.
 */
export interface PathStamps {
  of(paths: string[]): string[];
  mounts(): number;
}

/** How old a file's or directory's last change must be before a stamp of it is trusted (a change within the same clock tick could hide behind it). */
export const SETTLED_NS = 1_000_000_000n;

export function settledStamp(dev: bigint, ino: bigint, mtimeNs: bigint, ctimeNs: bigint): string {
  const now = BigInt(Date.now()) * 1_000_000n;
  if (ino === 0n || now - mtimeNs < SETTLED_NS || now - ctimeNs < SETTLED_NS) return '';
  return `${dev}:${ino}:${mtimeNs}:${ctimeNs}`;
}

/** PathStamps from the native batch's numbers (pathStamps: dev, ino, mtime, ctime per path; zeros for no directory). */
export function stampsFromNumbers(n: BigUint64Array): string[] {
  const out: string[] = [];
  for (let i = 0; i + 3 < n.length; i += 4) out.push(settledStamp(n[i]!, n[i + 1]!, n[i + 2]!, n[i + 3]!));
  return out;
}

/**
 * True when every fact a build recorded is still what the filesystem says now.
 *
 * Exactly what a fresh canonicalPath / pathExists / isRegularFile would answer, with one
 * lstat or stat per fact: a name that is no symlink where canonical() looks at it (in its
 * parent's canonical path) canonicalises to that place, and its parent is itself a recorded
 * fact checked in the same pass, so the recorded parent value stands for the fresh one. Only
 * a symlink (or a name whose parent was not recorded) is resolved again the slow way.
 */
export function buildFactsHold(facts: ReadonlyMap<string, string>, kinds: PathKinds = nodePathKinds): boolean {
  return planFactsCheck(facts).holds(kinds);
}

/** buildFactsHold split in two: what to look at is worked out once per build (caches keep it), the looking done each time. */
export interface FactsCheck {
  holds(kinds?: PathKinds): boolean;
}

/**
 * `stamps` (optional): names many of which live in one directory are then vouched for by the
 * directory's stamp (PathStamps) instead of one lstat each, once the plan has seen each of
 * them as recorded and the directory settled. Only a name that is no symlink can be: a
 * symlink's facts depend on where it leads, which its directory does not stamp.
 */
export function planFactsCheck(facts: ReadonlyMap<string, string>, stamps?: PathStamps, kinds: PathKinds = nodePathKinds): FactsCheck {
  // Existence probes ('e': exists, 'f': a regular file), stat'ed with links followed.
  const probedPaths: string[] = [];
  const probedIsExists: boolean[] = [];
  const probedWas: boolean[] = [];
  // Canonical paths ('c'), each lstat'ed where canonical() looks at it: in its parent's
  // recorded canonical path (`at`), or as written when the parent was not recorded.
  const canonPaths: string[] = [];
  const canonWas: string[] = [];
  const canonAt: string[] = [];
  const slowAlways: boolean[] = []; // no parent recorded: always resolved again
  const slowIfLink: boolean[] = []; // a symlink there now: resolved again
  const matches: boolean[] = []; // otherwise the recorded value must be that place
  let broken = false; // a fact no fresh answer can equal (an unknown kind or value)
  const derived: [string, string][] = []; // derivedFact: computed again, compared
  for (const [key, was] of facts) {
    const path = key.slice(1);
    if (key[0] === 'd') derived.push([path, was]);
    else if (key[0] === 'e' || key[0] === 'f') {
      if (was !== '0' && was !== '1') broken = true;
      probedPaths.push(path);
      probedIsExists.push(key[0] === 'e');
      probedWas.push(was === '1');
    } else if (key[0] === 'c') {
      if (path === '/') {
        if (was !== '/') broken = true;
        continue;
      }
      const up = dirname(path);
      const parent = up === '/' ? '/' : facts.get(`c${up}`);
      const here = parent === undefined ? undefined : under(parent, path);
      canonPaths.push(path);
      canonWas.push(was);
      canonAt.push(here ?? path);
      slowAlways.push(here === undefined);
      slowIfLink.push(here !== undefined && !PROCESS_LINKS.test(here));
      matches.push(here !== undefined && was === here);
    } else broken = true;
  }
  const stamped = broken || !stamps ? undefined : stampDirectories(canonAt, (i) => !slowAlways[i] && matches[i]!, stamps, kinds);
  return {
    holds(kinds: PathKinds = nodePathKinds): boolean {
      if (broken) return false;
      if (!derived.every(([key, was]) => recompute(key) === was)) return false;
      const now = kinds(probedPaths, true);
      for (let i = 0; i < probedPaths.length; i++) {
        const holds = probedIsExists[i] ? now[i] !== ABSENT : now[i] === REGULAR;
        if (holds !== probedWas[i]) return false;
      }
      // Names whose directory's stamp is unchanged hold; the others are lstat'ed.
      const vouched = stamped?.vouched() ?? NONE_VOUCHED;
      const look = vouched.size === 0 ? canonAt.map((_, i) => i) : canonAt.map((_, i) => i).filter((i) => !vouched.has(i));
      const seen = kinds(look.map((i) => canonAt[i]!), false);
      const links = new Uint8Array(canonAt.length);
      look.forEach((i, k) => (links[i] = seen[k]!));
      const slow: number[] = [];
      for (let i = 0; i < canonPaths.length; i++) {
        if (vouched.has(i)) continue;
        if (slowAlways[i] || (slowIfLink[i] && links[i] === SYMLINK)) slow.push(i);
        else if (!matches[i]) return false;
      }
      if (slow.length > 0) {
        const outer = [buildFacts, costs] as const;
        [buildFacts, costs] = [new Map(), new Map()];
        try {
          if (!slow.every((i) => canonicalPath(canonPaths[i]!) === canonWas[i])) return false;
        } finally {
          [buildFacts, costs] = outer;
        }
      }
      stamped?.settle(links);
      return true;
    },
  };
}

const NONE_VOUCHED: ReadonlySet<number> = new Set();
/** A directory holding at least this many names is stamped rather than its names lstat'ed. */
const STAMP_FROM = 3;

/**
 * The directories holding at least STAMP_FROM of the eligible names (`at`: where each name is
 * lstat'ed). A directory vouches for its names while its stamp and the mount table are what
 * they were when the names were last all seen as recorded (no symlink where none was) — seen
 * after the stamp was taken, so any later change moves it. `vouched` takes the stamps (and
 * keeps them); `settle`, once every fact held, adopts them for the directories whose names
 * were all looked at and found so (`links`: the kinds seen this pass), so a directory that
 * merely changed (a new file in /tmp) vouches again from the next check on.
 */
function stampDirectories(at: readonly string[], eligible: (i: number) => boolean, stamps: PathStamps, kinds: PathKinds) {
  const byDir = new Map<string, number[]>();
  at.forEach((p, i) => {
    if (!eligible(i)) return;
    const d = dirname(p);
    const list = byDir.get(d);
    if (list) list.push(i);
    else byDir.set(d, [i]);
  });
  const dirs = [...byDir].filter(([, names]) => names.length >= STAMP_FROM).map(([d]) => d);
  if (dirs.length === 0) return undefined;
  const names = dirs.map((d) => byDir.get(d)!);
  const noLink = (g: number, kindOf: (i: number) => number) => names[g]!.every((i) => kindOf(i) !== SYMLINK);
  // Planned: the stamps first, then the names looked at.
  let mounts = stamps.mounts();
  let planned = stamps.of(dirs);
  const all = names.flat();
  const seen = kinds(
    all.map((i) => at[i]!),
    false,
  );
  const kindAt = new Map(all.map((i, k) => [i, seen[k]!]));
  let trusted = dirs.map((_, g) => planned[g] !== '' && noLink(g, (i) => kindAt.get(i)!));
  let taken: { mounts: number; stamps: string[] } | undefined;
  return {
    vouched(): ReadonlySet<number> {
      taken = { mounts: stamps.mounts(), stamps: stamps.of(dirs) };
      const out = new Set<number>();
      if (taken.mounts !== mounts) return out;
      taken.stamps.forEach((stamp, g) => {
        if (trusted[g] && stamp === planned[g]) for (const i of names[g]!) out.add(i);
      });
      return out;
    },
    settle(links: Uint8Array): void {
      if (!taken) return;
      const now = taken;
      const kept = now.mounts === mounts;
      trusted = dirs.map((_, g) => (kept && trusted[g] && now.stamps[g] === planned[g]) || (now.stamps[g] !== '' && noLink(g, (i) => links[i]!)));
      // A vouched directory's names were not looked at this pass: it keeps its stamp, which is the one taken now.
      planned = now.stamps;
      mounts = now.mounts;
      taken = undefined;
    },
  };
}

export interface ExpandedPath {
  match: 'subtree' | 'glob';
  /** Absolute; canonical (subtree) or canonical literal prefix + glob rest. */
  pattern: string;
}

/** Expands, resolves against baseDir, canonicalises. `literal`: no `~`/`$VAR` expansion. */
export function expandPath(text: string, ctx: ExpandContext, literal: boolean | undefined = false): ExpandedPath {
  const expanded = literal ? text : expandVars(text, ctx);
  if (expanded.length === 0) throw new EntryError('empty path after expansion');
  if (expanded.includes('\0')) throw new EntryError('path contains a NUL byte');
  const absolute = posix.normalize(isAbsolute(expanded) ? expanded : `${ctx.baseDir}/${expanded}`);
  if (!isGlob(absolute)) {
    return { match: 'subtree', pattern: canonicalPath(unescape(absolute)) };
  }
  const segs = absolute.split('/').filter((s) => s.length > 0);
  const firstGlob = segs.findIndex((s) => isGlob(s));
  const literalPrefix = `/${segs.slice(0, firstGlob).map(unescape).join('/')}`;
  const prefix = canonicalPath(literalPrefix);
  const rest = segs.slice(firstGlob).join('/');
  return { match: 'glob', pattern: `${prefix === '/' ? '' : escapeGlob(prefix)}/${rest}` };
}

export interface RulePaths {
  /** One pattern, or two for a deny that a symlink redirected (its own place and the target). */
  paths: ExpandedPath[];
  /** Set when an allow was not allowed to follow a symlink (see below). */
  warning?: string;
}

/**
 * Like expandPath, for a rule: a symlink *inside* the file's directory that points
 * *outside* it is not followed by an allow — the sandbox may be able to write that
 * directory, and a link it planted must not turn "allow ./dist" into "allow ~/.bashrc"
 * at the next compile. Such an allow covers the link's own place only (writes through
 * the link are then refused: fail closed) and a warning says so. A deny that a symlink
 * redirects covers both places.
 */
export function expandRule(text: string, ctx: ExpandContext, effect: 'allow' | 'deny', literal = false): RulePaths {
  const e = expandPath(text, ctx, literal);
  const expanded = literal ? text : expandVars(text, ctx);
  const absolute = posix.normalize(isAbsolute(expanded) ? expanded : `${ctx.baseDir}/${expanded}`).replace(/(.)\/+$/, '$1');
  const base = posix.normalize(ctx.baseDir).replace(/(.)\/+$/, '$1');
  const glob = e.match === 'glob';
  const baseCanon = canonicalPath(base);
  const under = (x: string, dir: string) => dir === '/' || x === dir || x.startsWith(`${dir}/`);
  const lexicalAbs = glob ? absolute : unescape(absolute);
  if (!under(lexicalAbs, glob ? escapeGlob(base) : base)) return { paths: [e] };
  const rest = lexicalAbs.slice(base === '/' ? 0 : base.length);
  const prefix = glob ? escapeGlob(baseCanon) : baseCanon;
  const lexical = baseCanon === '/' ? rest || '/' : `${prefix}${rest}`;
  if (lexical === e.pattern) return { paths: [e] };
  if (effect === 'deny') return { paths: [e, { match: e.match, pattern: lexical }] };
  if (under(e.pattern, prefix)) return { paths: [e] };
  return {
    paths: [{ match: e.match, pattern: lexical }],
    warning: `${JSON.stringify(text)} leads through a symlink to ${e.pattern}, outside ${baseCanon}: the allow covers ${lexical} only (name the target to allow it)`,
  };
}

/** For `sbx check`: a target path as the kernel would see it (relative to cwd). */
export function canonicalTarget(text: string, cwd: string): string {
  return canonicalPath(resolve(cwd, text));
}
