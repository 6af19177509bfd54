/**
 * Layers (built-in floors, presets, user file, project file, per-program overrides,
 * `sbx exec` flags) → one CompiledPolicy. Built once per change, never per syscall.
 *
 * Precedence (the README's text, kept here next to the code that implements it):
 *  1. Floors first: sbx's own config, state and runtime dirs, and the user's `protect`
 *     list, deny whatever else matches. Nothing lifts a floor.
 *  2. Otherwise the most specific rule wins, whichever layer wrote it: the rule naming
 *     the deepest path; at equal depth a literal path beats a glob; at equal rank deny
 *     beats allow. Hosts: exact name > longer `*.` wildcard > shorter; IPs: longest
 *     prefix; then the narrower port range; then deny. Programs: the rule with the most
 *     arguments (`kubectl delete` beats `kubectl`); deny on ties. Env: the pattern with
 *     the most literal characters; deny on ties.
 *  3. No rule matches: the section default. read/exec/unix/env default to allow. write
 *     and net default to allow until some layer writes a `write.allow` / `net.allow`
 *     list: then only what is listed is allowed (`net.allow: []` = no network).
 *  4. `write.allow` entries are readable too (an allow-read rule is added for each).
 *  5. An untrusted project file only takes rights away: its denies, allow-lists (which
 *     turn the default to deny) and `mode: enforce` count; each of its allow rules is
 *     kept only where the policy below it already allowed (glob allows always dropped;
 *     program/env allows when there is any program/env deny below), and its `mode: audit`
 *     is ignored.
 *  6. `mode`: the last trusted layer that sets it wins (enforce wins over an untrusted audit).
 *  7. `sbx exec --deny-X`/`--allow-X` flags are the top layer: they drop every allow of
 *     the lower layers for X and make X default to deny, then add their own allows
 *     (--deny-net also drops the lower layers' net.unix allows).
 *  8. Below every layer, the home's dot-entries are write-denied; at the end, its
 *     exceptions (histories, the sandbox's own cache) are kept writable where the rest of
 *     the policy allows writes there (home-config.ts).
 */
import type { CompiledPolicy, Effect, PathRule, PathSection, ProgramRule, RuleOrigin } from './compiled.js';
import { PolicyError } from '../errors.js';
import { canonicalPath, EntryError, expandPath, expandRule, expandVars, isGlob, placeOf, type RulePaths } from './expand.js';
import { formatKeyPath, issueLine, type KeyPath } from './load.js';
import { decidePath } from './match.js';
import { hostRule, ipRule, parseNetEntry } from './net-match.js';
import { replayNet, type NetPlanEntry, type NetStep } from './net-plan.js';
import type { Env } from './paths.js';
import { HOME_CONFIG_ORIGIN, homeCodeCaches, homeWritable, runtimeElsewhere, configElsewhere } from './home-config.js';
import { homeLinkTargets } from './link-targets.js';
import { WRITABLE_DEVICES } from './presets.js';
import type { PolicyBody } from './schema.js';
import { escapeGlob } from './escape-glob.js';

export type DenySection = 'read' | 'write' | 'net' | 'env' | 'unix';

export interface Layer {
  /** "preset secrets", "/p/.sbx.yaml", "--deny-net", "built-in: sbx state". */
  source: string;
  body: PolicyBody;
  /** Relative entries resolve against this directory. */
  baseDir: string;
  /** false: may only take rights away (an untrusted project file). */
  trusted: boolean;
  /** Every deny of this layer is a floor (protect list, sbx's own paths). */
  floor?: boolean;
  /** Entries are literal paths (no `~`/`$VAR` expansion). */
  literal?: boolean;
  /** file:line:col (or a flag) for an entry, by key path; default: `source`. */
  where?: (path: KeyPath) => string;
  /** Key path of `body` inside its file (e.g. ['commands', 'npm']) for messages. */
  keyPrefix?: KeyPath;
  /** `sbx exec --deny-X`: drop lower allows for these sections, default deny. */
  resetAllows?: DenySection[];
  /** Messages name this key path instead of the entry's own (a `protect` entry). */
  fixedKeyPath?: KeyPath;
  /** Problems found while building the layer, reported with the compiler's. */
  issues?: string[];
  /** A policy file's own layer: its `commands:` overrides are inserted right after it. */
  fileLayer?: boolean;
  /** Relative entries are probably a mistake here (the user config's directory): warn. */
  warnRelative?: boolean;
  /**
   * A built-in default (docker sockets denied): a trusted layer's allow of the same path
   * replaces it; an untrusted layer's allow is checked against it like any rule below.
   */
  builtinDefault?: boolean;
}

export interface CompileContext {
  env: Env;
  home: string;
}

export interface CompileResult {
  policy: CompiledPolicy;
  /** Allows of untrusted layers that were dropped, for `sbx policy` to show. */
  dropped: string[];
  /** Non-fatal notes (a relative entry in the user config, an allow that a symlink narrowed, …). */
  warnings: string[];
}

type Section = RuleOrigin['section'];

function emptyPolicy(): CompiledPolicy {
  return {
    id: 0,
    mode: 'enforce',
    read: { default: 'allow', rules: [] },
    write: { default: 'allow', rules: [] },
    exec: { default: 'allow', paths: [], programs: [] },
    net: { default: 'allow', rules: [], hosts: [] },
    unix: { default: 'allow', rules: [] },
    commands: [],
    origins: [],
    env: { deny: [], allow: [] },
  };
}

/** What an untrusted layer is checked against: the sections as they are now (rules are never mutated in place). */
function snapshot(p: CompiledPolicy): CompiledPolicy {
  return {
    ...p,
    read: { default: p.read.default, rules: [...p.read.rules] },
    write: { default: p.write.default, rules: [...p.write.rules] },
    unix: { default: p.unix.default, rules: [...p.unix.rules] },
    exec: { default: p.exec.default, paths: [...p.exec.paths], programs: [...p.exec.programs] },
    net: { default: p.net.default, rules: [...p.net.rules], hosts: [...(p.net.hosts ?? [])] },
    env: { deny: [...p.env.deny], allow: [...p.env.allow] },
    commands: [],
    origins: [],
  };
}

class Builder {
  readonly p = emptyPolicy();
  readonly dropped: string[] = [];
  readonly warnings: string[] = [];
  readonly issues: string[] = [];
  /** Net entries by layer, replayed into rules (now without names, later with resolutions). */
  readonly netPlan: NetStep[] = [];
  /** Rules of builtinDefault layers (a trusted allow of the same path removes them). */
  private readonly defaults = new Set<PathRule>();

  constructor(private readonly ctx: CompileContext) {}

  private origin(source: string, text: string, section: Section): number {
    this.p.origins.push({ source, text, section });
    return this.p.origins.length - 1;
  }

  add(layer: Layer): void {
    const before = layer.trusted ? undefined : snapshot(this.p);
    if (layer.resetAllows) this.reset(layer.resetAllows);
    const b = layer.body;
    const prefix = layer.keyPrefix ?? [];
    const where = (path: KeyPath) => (layer.where ? layer.where([...prefix, ...path]) : layer.source);
    this.issues.push(...(layer.issues ?? []));
    const fail = (path: KeyPath, err: unknown, text: string) => {
      if (!(err instanceof EntryError)) throw err;
      const line = issueLine(where(path), layer.fixedKeyPath ?? [...prefix, ...path], err.message, text);
      if (!this.issues.includes(line)) this.issues.push(line);
    };
    const ctx = { home: this.ctx.home, env: this.ctx.env, baseDir: layer.baseDir };
    const expand = (text: string) => expandPath(text, ctx, layer.literal);
    const section = layer.floor ? 'protect' : undefined;

    // Defaults: an allow-list anywhere turns the default to deny (also for untrusted layers: it only narrows).
    if (b.write?.allow !== undefined) this.p.write.default = 'deny';

    const pathRules = (key: 'read' | 'write', effect: Effect) => {
      for (const [i, text] of (b[key]?.[effect] ?? []).entries()) {
        let expanded: RulePaths;
        try {
          expanded = expandRule(text, ctx, effect, layer.literal);
        } catch (err) {
          fail([key, effect, i], err, text);
          continue;
        }
        const src = where([key, effect, i]);
        if (layer.warnRelative && !/^[/~$]/.test(text)) {
          this.warnings.push(`${src}: ${JSON.stringify(text)} is relative to ${layer.baseDir}; write "~/${text}" or "/${text.startsWith('**/') ? text : `**/${text}`}" if you meant your home or anywhere`);
        }
        if (expanded.warning) this.warnings.push(`${src}: ${expanded.warning}`);
        let idx: number | undefined;
        for (const e of expanded.paths) {
          const rule = { effect, match: e.match, pattern: e.pattern, floor: !!layer.floor && effect === 'deny' } as const;
          const o = () => this.origin(src, text, section ?? key);
          if (effect === 'allow' && before) {
            if (!this.safeAllow(before[key], rule)) {
              this.dropped.push(`${src}: ${key}.allow ${JSON.stringify(text)} (untrusted: the policy below does not allow it)`);
              continue;
            }
            if (key === 'write' && !this.safeAllow(before.read, rule)) {
              this.dropped.push(`${src}: write.allow ${JSON.stringify(text)} (untrusted: not readable below, so not writable)`);
              continue;
            }
          }
          const alsoRead = key === 'write' && effect === 'allow';
          if (this.has(this.p[key], rule) && (!alsoRead || this.has(this.p.read, rule))) continue;
          idx ??= o();
          this.pushPath(this.p[key], { ...rule, rule: idx });
          // Allowed-write paths are readable.
          if (alsoRead) this.pushPath(this.p.read, { ...rule, rule: idx });
        }
      }
    };
    pathRules('read', 'deny');
    pathRules('read', 'allow');
    pathRules('write', 'deny');
    pathRules('write', 'allow');

    // Unix sockets: paths/globs, or "@abstract" names kept as written.
    for (const effect of ['deny', 'allow'] as const) {
      for (const [i, text] of (b.net?.unix?.[effect] ?? []).entries()) {
        const path: KeyPath = ['net', 'unix', effect, i];
        let r: RulePaths;
        try {
          r = text.startsWith('@') ? { paths: [{ match: isGlob(text) ? 'glob' : 'subtree', pattern: text }] } : expandRule(text, ctx, effect, layer.literal);
        } catch (err) {
          fail(path, err, text);
          continue;
        }
        if (r.warning) this.warnings.push(`${where(path)}: ${r.warning}`);
        let idx: number | undefined;
        for (const e of r.paths) {
          const rule = { effect, match: e.match, pattern: e.pattern, floor: !!layer.floor && effect === 'deny' };
          // A named socket is reachable even when its server runs outside the session (the
          // engine's deputy rule), so an untrusted file's unix allow can only widen: dropped.
          if (effect === 'allow' && before) {
            this.dropped.push(`${where(path)}: net.unix.allow ${JSON.stringify(text)} (untrusted: naming a socket reaches a server outside the sandbox)`);
            continue;
          }
          if (effect === 'allow' && layer.trusted) {
            this.p.unix.rules = this.p.unix.rules.filter((x) => !(this.defaults.has(x) && x.pattern === rule.pattern && x.match === rule.match));
          }
          if (this.has(this.p.unix, rule)) continue;
          idx ??= this.origin(where(path), text, section ?? 'unix');
          const pushed: PathRule = { ...rule, rule: idx };
          if (this.pushPath(this.p.unix, pushed) && layer.builtinDefault) this.defaults.add(pushed);
        }
      }
    }

    this.addExec(b, where, fail, expand, before, section);
    this.addNet(layer, where, fail);

    // Env patterns.
    // (Never in a command override: the schema refuses env there.)
    const envSection = b.env as { deny?: string[]; allow?: string[] } | undefined;
    for (const effect of ['deny', 'allow'] as const) {
      for (const [i, text] of (envSection?.[effect] ?? []).entries()) {
        if (!/^[A-Za-z0-9_*]+$/.test(text)) {
          this.issues.push(issueLine(where(['env', effect, i]), [...prefix, 'env', effect, i], 'expected a variable name or pattern of letters, digits, _ and *', text));
          continue;
        }
        if (effect === 'allow' && before && before.env.deny.length > 0) {
          this.dropped.push(`${where(['env', effect, i])}: env.allow ${JSON.stringify(text)} (untrusted)`);
          continue;
        }
        if (!this.p.env[effect].includes(text)) this.p.env[effect].push(text);
      }
    }

    if (b.mode) {
      if (layer.trusted) {
        this.p.mode = b.mode;
      } else if (b.mode === 'enforce') this.p.mode = 'enforce';
      else this.dropped.push(`${where(['mode'])}: mode audit (untrusted: would loosen enforcement)`);
    }
  }

  private reset(sections: DenySection[]): void {
    const dropAllows = (s: PathSection) => {
      s.rules = s.rules.filter((r) => r.effect === 'deny');
      s.default = 'deny';
    };
    for (const s of sections) {
      if (s === 'read') dropAllows(this.p.read);
      if (s === 'write') dropAllows(this.p.write);
      // Unix sockets named by lower layers (an ssh-agent in the user file) are network too:
      // with the network reset, only what the flags name stays reachable outside the session.
      // The default stays: `allow` there means "only servers this session started" to the
      // engine (decide_unix_name), which is what --deny-net keeps. A unix reset (the strict
      // fallback) denies every socket.
      if (s === 'net') this.p.unix.rules = this.p.unix.rules.filter((r) => r.effect === 'deny');
      if (s === 'unix') dropAllows(this.p.unix);
      // net: replayed from the plan (the step carries `reset`).
      if (s === 'env') {
        this.p.env.allow = [];
        if (!this.p.env.deny.includes('*')) this.p.env.deny.push('*');
      }
    }
  }

  /** Adds a rule unless an equal one (or an equal floor) is there already. */
  private pushPath(s: PathSection, r: PathRule): boolean {
    if (s.rules.some((x) => x.effect === r.effect && x.match === r.match && x.pattern === r.pattern && (x.floor || !r.floor))) return false;
    s.rules.push(r);
    return true;
  }

  private has(s: PathSection, r: Omit<PathRule, 'rule'>): boolean {
    return s.rules.some((x) => x.effect === r.effect && x.match === r.match && x.pattern === r.pattern && (x.floor || !r.floor));
  }

  /**
   * An allow from an untrusted layer is safe when the policy below already allows its
   * pattern: every rule that would rank below it there also matches the pattern itself
   * (see compiled.ts), so the decision under it cannot change from deny to allow.
   * Globs cannot be checked that way and are dropped.
   */
  private safeAllow(below: PathSection, r: { match: string; pattern: string }): boolean {
    if (r.match !== 'subtree') return false;
    return decidePath(below, r.pattern).effect === 'allow';
  }

  private addExec(
    b: PolicyBody,
    where: (p: KeyPath) => string,
    fail: (p: KeyPath, err: unknown, text: string) => void,
    expand: (t: string) => { match: 'subtree' | 'glob'; pattern: string },
    before: CompiledPolicy | undefined,
    section: Section | undefined,
  ): void {
    for (const effect of ['deny', 'allow'] as const) {
      for (const [i, text] of (b.exec?.[effect] ?? []).entries()) {
        const path: KeyPath = ['exec', effect, i];
        const [first, ...args] = text.trim().split(/\s+/);
        const isPath = first!.includes('/') || first!.startsWith('~') || first!.startsWith('$') || first === '.' || first === '..';
        try {
          if (isPath && args.length === 0) {
            const e = expand(first!);
            const rule = { effect, match: e.match, pattern: e.pattern, floor: false };
            if (effect === 'allow' && before && !this.safeAllow({ default: before.exec.default, rules: before.exec.paths }, rule)) {
              this.dropped.push(`${where(path)}: exec.allow ${JSON.stringify(text)} (untrusted)`);
              continue;
            }
            this.pushPath({ default: this.p.exec.default, rules: this.p.exec.paths }, { ...rule, rule: this.origin(where(path), text, section ?? 'exec') });
            continue;
          }
          let name = first!;
          if (isGlob(name)) throw new EntryError('a program is a name, a path, or a name/path followed by arguments; wildcards only in paths without arguments');
          if (isPath) {
            const e = expand(name);
            name = e.pattern;
          }
          // Any program deny below could be lifted by an allow with more arguments (names, paths and
          // aliases can all meet on one exec), so an untrusted program allow only stands when there is none.
          if (effect === 'allow' && before && before.exec.programs.some((r) => r.effect === 'deny')) {
            this.dropped.push(`${where(path)}: exec.allow ${JSON.stringify(text)} (untrusted)`);
            continue;
          }
          const rule: ProgramRule = { rule: this.origin(where(path), text, section ?? 'exec'), effect, name, args };
          this.p.exec.programs.push(rule);
        } catch (err) {
          fail(path, err, text);
        }
      }
    }
  }

  /** Records the layer's net entries as one plan step (parsed; names not resolved here). */
  private addNet(layer: Layer, where: (p: KeyPath) => string, fail: (p: KeyPath, err: unknown, text: string) => void): void {
    const b = layer.body;
    const entries: NetPlanEntry[] = [];
    for (const effect of ['deny', 'allow'] as const) {
      for (const [i, text] of (b.net?.[effect] ?? []).entries()) {
        const path: KeyPath = ['net', effect, i];
        let parsed;
        try {
          parsed = parseNetEntry(expandVars(text, { home: this.ctx.home, env: this.ctx.env }));
        } catch (err) {
          fail(path, err, text);
          continue;
        }
        const idx = this.origin(where(path), text, 'net');
        const entry: NetPlanEntry = { effect, rule: idx, where: where(path), text, ips: [], hosts: [] };
        for (const e of parsed) {
          if (e.kind === 'ip') entry.ips.push(ipRule(e, idx, effect));
          else entry.hosts.push(hostRule(e, idx, effect));
        }
        entries.push(entry);
      }
    }
    const reset = layer.resetAllows?.includes('net') ?? false;
    const allowList = b.net?.allow !== undefined;
    if (entries.length > 0 || reset || allowList) this.netPlan.push({ trusted: layer.trusted, reset, allowList, entries });
  }

  /**
   * Nothing may be created, renamed, linked or symlinked in the place of an ancestor of a
   * floor path: a missing `~/.config` made a symlink to a directory a sandboxed program
   * controls would hand it `~/.config/sbx/config.yaml`. Each ancestor of a floor (and of a
   * floor glob's literal-ending prefix, e.g. `**\/.git` for `**\/.git/config`) becomes an
   * exact write floor: the path itself, not what is below it.
   */
  private floorAncestors(): void {
    const byFloor = new Map<number, number>();
    const seen = new Set(this.p.write.rules.filter((r) => r.match === 'exact').map((r) => r.pattern));
    for (const s of [this.p.write, this.p.read]) {
      for (const r of [...s.rules]) {
        if (!r.floor || r.effect !== 'deny' || r.match === 'exact' || r.pattern.startsWith('@')) continue;
        for (const a of ancestorPatterns(r)) {
          if (seen.has(a)) continue;
          seen.add(a);
          let idx = byFloor.get(r.rule);
          if (idx === undefined) {
            const o = this.p.origins[r.rule];
            idx = this.origin(`built-in: ancestor of a floor (${o?.source ?? 'floor'}): not replaceable`, o?.text ?? r.pattern, 'protect');
            byFloor.set(r.rule, idx);
          }
          this.p.write.rules.push({ rule: idx, effect: 'deny', match: 'exact', pattern: a, floor: true });
        }
      }
    }
  }

  /** The home configuration deny's rules (homeConfigDeny), left out when its exceptions are decided. */
  private readonly homeDeny = new Set<PathRule>();

  /**
   * The home's dot-entries are write-denied (home-config.ts). Put in before any layer, so an
   * untrusted layer's allow there is checked against it (and dropped) like any rule below.
   */
  homeConfigDeny(): void {
    const home = canonicalPath(this.ctx.home);
    if (home === '/') return; // a home of / would take every dot-entry of the tree
    const idx = this.origin(HOME_CONFIG_ORIGIN, 'dot-entries of the home', 'write');
    const links = homeLinkTargets(home);
    const rules: PathRule[] = [
      { rule: idx, effect: 'deny', match: 'glob', pattern: `${escapeGlob(home)}/.*`, floor: false },
      // ... and where links among them lead (a stow-linked ~/.tmux.conf -> ~/dotfiles/tmux.conf),
      ...[...configElsewhere(home, this.ctx.env), ...runtimeElsewhere(home, this.ctx.env), ...homeCodeCaches(home, this.ctx.env), ...links.targets].map((p): PathRule => ({ rule: idx, effect: 'deny', match: 'subtree', pattern: escapeGlob(canonicalPath(p)), floor: false })),
      // ... and the links on the way there, where they are (another target would be the sandbox's choice).
      ...links.links.map((p): PathRule => ({ rule: idx, effect: 'deny', match: 'subtree', pattern: escapeGlob(placeOf(p)), floor: false })),
    ];
    for (const r of rules) if (this.pushPath(this.p.write, r)) this.homeDeny.add(r);
  }

  /**
   * What programs inside must write and nothing runs (caches, histories) stays writable
   * under that deny — an exception to it, never a grant: each stays writable only where the
   * policy without the deny allows it (not under `--deny-write`, nor under a `write.allow`
   * list that does not name it), and never over a rule a layer wrote for the same path.
   */
  private homeConfigExceptions(): void {
    if (this.homeDeny.size === 0) return;
    const home = canonicalPath(this.ctx.home);
    const without: PathSection = { default: this.p.write.default, rules: this.p.write.rules.filter((r) => !this.homeDeny.has(r)) };
    let idx: number | undefined;
    for (const path of homeWritable(home, this.ctx.env).map((p) => canonicalPath(p))) {
      const pattern = escapeGlob(path);
      if (decidePath(without, path).effect !== 'allow') continue;
      if (this.p.write.rules.some((r) => r.pattern === pattern && r.match === 'subtree')) continue;
      idx ??= this.origin(HOME_CONFIG_ORIGIN, 'caches and histories (written inside, run by nothing)', 'write');
      this.pushPath(this.p.write, { rule: idx, effect: 'allow', match: 'subtree', pattern, floor: false });
    }
  }

  /**
   * Closing touches: device writes when writes default to deny (only filling in for the
   * default — never over a rule some layer wrote), and the net plan replayed without
   * names. DNS, resolved names, the proxy port and unix defaults: finish.ts.
   */
  finish(): void {
    if (this.p.write.default === 'deny') {
      for (const d of WRITABLE_DEVICES) {
        const rule: PathRule = { rule: 0, effect: 'allow', match: 'subtree', pattern: canonicalPath(d), floor: false };
        if (this.has(this.p.write, rule) || decidePath(this.p.write, rule.pattern).rule !== -1) continue;
        const readToo = decidePath(this.p.read, rule.pattern).rule === -1;
        rule.rule = this.origin('built-in: devices every program writes', d, 'write');
        this.pushPath(this.p.write, rule);
        if (readToo) this.pushPath(this.p.read, rule);
      }
    }
    this.homeConfigExceptions();
    this.floorAncestors();
    // The net section without any name resolved: what explanations and the Seatbelt
    // profile use; finishPolicy replays the same plan with resolutions for an engine.
    const r = replayNet(this.netPlan, new Map(), false);
    this.p.net = { ...r.net, plan: this.netPlan };
    for (const d of r.dropped) if (!this.dropped.includes(d)) this.dropped.push(d);
  }
}


/**
 * The strict ancestors of what a floor names (not "/"), as exact patterns: a subtree's
 * parents; for a glob, each prefix that ends in a segment without `**` (`/**\/.git` for
 * `/**\/.git/config`; nothing for `/**\/.env`).
 */
export function ancestorPatterns(r: Pick<PathRule, 'match' | 'pattern'>): string[] {
  const out: string[] = [];
  if (r.match === 'subtree') {
    let p = r.pattern;
    while (p.lastIndexOf('/') > 0) {
      p = p.slice(0, p.lastIndexOf('/'));
      out.push(escapeGlob(p));
    }
    return out;
  }
  const segs = r.pattern.split('/').filter((s) => s.length > 0);
  for (let n = segs.length - 1; n >= 1; n--) {
    if (segs[n - 1] === '**') continue;
    if (segs.slice(0, n).every((s) => s === '**')) continue;
    out.push(`/${segs.slice(0, n).join('/')}`);
  }
  return out;
}

/** One PolicyError for many issues, in file/line/column order, naming the file when there is one. */
export function policyError(issues: string[]): PolicyError {
  const parse = (l: string) => /^(.*?):(\d+):(\d+): /.exec(l);
  const sorted = [...issues].sort((a, b) => {
    const x = parse(a);
    const y = parse(b);
    if (!x || !y) return x ? -1 : y ? 1 : 0;
    return x[1]! < y[1]! ? -1 : x[1]! > y[1]! ? 1 : Number(x[2]) - Number(y[2]) || Number(x[3]) - Number(y[3]);
  });
  const files = new Set(sorted.map((l) => parse(l)?.[1]));
  const n = `${sorted.length} problem${sorted.length === 1 ? '' : 's'}`;
  const only = files.size === 1 ? [...files][0] : undefined;
  return new PolicyError(only ? `${only}: invalid policy file (${n})` : `invalid policy (${n})`, sorted);
}

/** Layers → the compiled policy (names not resolved: see finish.ts). Pure but for path canonicalisation. */
export function compileLayers(layers: Layer[], ctx: CompileContext): CompileResult {
  const b = new Builder(ctx);
  b.homeConfigDeny();
  for (const l of layers) b.add(l);
  if (b.issues.length > 0) throw policyError(b.issues);
  b.finish();
  return { policy: b.p, dropped: b.dropped, warnings: b.warnings };
}

export interface CommandLayers {
  /** Program name (basename, or a path when it contains "/"), as written. */
  name: string;
  /** Where the override was first written (for the commands origin). */
  source: string;
  layers: Layer[];
  baseDir: string;
  literal?: boolean;
}

/**
 * The main policy plus one policy per `commands:` entry (the same layers with each file's
 * override for that program right after the file's own layer), referenced from policy.commands by local id (main = 0,
 * overrides 1..n; a session gives them its own ids: src/supervisor/installed.ts). A program running
 * under an override keeps it for its descendants (overrides have no commands table).
 */
export function compileWithCommands(
  base: Layer[],
  commands: CommandLayers[],
  top: Layer[],
  ctx: CompileContext,
): { main: CompileResult; overrides: CompiledPolicy[] } {
  const main = compileLayers([...base, ...top], ctx);
  const overrides: CompiledPolicy[] = [];
  const issues: string[] = [];
  for (const [i, c] of commands.entries()) {
    let name = c.name;
    if (name.includes('/') || name.startsWith('~')) {
      try {
        name = expandPath(name, { home: ctx.home, env: ctx.env, baseDir: c.baseDir }).pattern;
      } catch (err) {
        if (!(err instanceof EntryError)) throw err;
        issues.push(`${c.source}: ${formatKeyPath(['commands', c.name])}: ${err.message}`);
        continue;
      }
    }
    // Each file's override goes right after that file, so an untrusted project's rules are
    // checked against the user's policy *for this program*, not the user's main policy.
    const layers: Layer[] = [];
    const placed = new Set<Layer>();
    for (const l of [...base, ...top]) {
      layers.push(l);
      if (!l.fileLayer) continue;
      for (const o of c.layers) {
        if (o.source === l.source && !placed.has(o)) {
          layers.push(o);
          placed.add(o);
        }
      }
    }
    const unplaced = c.layers.filter((o) => !placed.has(o));
    try {
      const r = compileLayers([...layers, ...unplaced], ctx);
      r.policy.id = i + 1;
      overrides.push(r.policy);
      main.policy.origins.push({ source: c.source, text: c.name, section: 'commands' });
      main.policy.commands.push({ rule: main.policy.origins.length - 1, name, policy: i + 1 });
      main.dropped.push(...r.dropped.filter((d) => !main.dropped.includes(d)));
    } catch (err) {
      if (err instanceof PolicyError) issues.push(...err.issues.filter((x) => !issues.includes(x)));
      else throw err;
    }
  }
  if (issues.length > 0) throw policyError(issues);
  return { main, overrides };
}
