/**
 * Where the links in protected places lead. A floor, a secret or a dot-entry of the home is a
 * rule on a place, and the engine decides an open on the place the kernel reaches. With
 * dotfiles linked in from a repository (GNU stow, rcm, by hand), `~/.ssh/config ->
 * ~/dotfiles/ssh/config` was written through either name and the next `ssh` outside ran what
 * the sandbox put there; a key linked into `~/.ssh` was read through either name. So the
 * targets of the links found in those places are protected as the places are. (A protected
 * path that is itself a link is covered at both places already: expand.ts expandRule.)
 *
 * A PATH directory's links lead to the program's code: npm's `bin/x ->
 * ../lib/node_modules/x/cli.js`, Linuxbrew's `bin/x -> ../Cellar/x/1.0/bin/x`. There the
 * package the target belongs to is protected: the nearest directory above it with a
 * package.json, else its directory (the one above when that is a `bin/`).
 *
 * A derived fact of the build (expand.ts derivedFact): a link made or changed since is seen
 * when a cached policy is checked. The walk is bounded (MAX_ENTRIES, depths below) and skips
 * caches and stores (SKIP): a link deeper than that, or past the bound, is not followed.
 */
import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { derivedFact } from './expand.js';

export interface LinkTargetInput {
  home: string;
  /** Write floors (files and directories): links at them and below them. */
  floors: string[];
  /** Read-and-write secrets: links at them and below them. */
  secrets: string[];
  /** PATH directories that are floors: each link's package. */
  pathDirs: string[];
}

export interface LinkTargets {
  floors: string[];
  secrets: string[];
  /** The walk hit MAX_ENTRIES: links past it were not looked at. */
  truncated: boolean;
}

const MAX_ENTRIES = 5000;
/** Below a floor or a secret: stow folds a tree into links as high as it can. */
const PROTECTED_DEPTH = 4;
/** The home's dot-entries: `~/.x` (1), `~/.config/nvim` (2), `~/.config/nvim/init.lua` (3). */
const HOME_DEPTH = 3;
/** Caches, stores and browser data: large, and not where dotfiles are linked from. */
const SKIP = new Set([
  '.cache', '.npm', '.yarn', '.pnpm-store', '.rustup', '.nvm', '.pyenv', '.rbenv', '.sdkman', '.m2', '.gradle', '.ivy2',
  '.vscode', '.vscode-server', '.cursor', '.mozilla', '.thunderbird', '.local/share/Trash', 'node_modules', '.git',
  'google-chrome', 'chromium', 'BraveSoftware', 'microsoft-edge', 'Code', 'Cache', 'registry', 'go', 'snap', '.docker',
]);
/** Targets there are the system's (root's floors already cover them; a user cannot write them). */
const SYSTEM = /^\/(usr|bin|sbin|lib|lib32|lib64|libx32|etc|boot|opt|var\/lib|var\/spool|proc|sys|dev|nix\/store|snap)(\/|$)/;

/** The targets of links in floors, secrets and PATH directories (see above). */
export function linkTargets(input: LinkTargetInput): LinkTargets {
  return JSON.parse(derivedFact('link-targets', JSON.stringify(input), linkTargetsOf)) as LinkTargets;
}

export interface HomeLinks {
  /** Where the links among and below the home's dot-entries lead, outside them. */
  targets: string[];
  /** Links met on the way there, outside the dot-entries: denied at their own place. */
  links: string[];
}

/** The targets of links among and below the home's dot-entries (home-config.ts denies them the same way). */
export function homeLinkTargets(home: string): HomeLinks {
  return JSON.parse(derivedFact('home-link-targets', home, homeLinkTargetsOf)) as HomeLinks;
}

/**
 * A derived fact is computed again whenever a cached policy is checked (every `cd`, every
 * `sbx exec`): the walk is redone only when a directory it read changed since (its inode and
 * mtime, one stat each), else the last answer stands. A link is made, removed or replaced by
 * a change to its directory's entries.
 */
const lastWalks = new Map<string, { stamp: string[]; dirs: string[]; out: string }>();

function unlessUnchanged(compute: (input: string) => { out: string; dirs: string[] }): (input: string) => string {
  return (input) => {
    const last = lastWalks.get(input);
    if (last && stampOf(last.dirs).every((s, i) => s === last.stamp[i])) return last.out;
    const { out, dirs } = compute(input);
    if (lastWalks.size >= 64) lastWalks.delete(lastWalks.keys().next().value!);
    lastWalks.set(input, { stamp: stampOf(dirs), dirs, out });
    return out;
  };
}

const linkTargetsOf = unlessUnchanged((input) => computeLinkTargets(input));
const homeLinkTargetsOf = unlessUnchanged((input) => computeHomeLinkTargets(input));

function stampOf(dirs: string[]): string[] {
  return dirs.map((d) => {
    try {
      const st = statSync(d, { bigint: true, throwIfNoEntry: false });
      return st ? `${st.ino}:${st.mtimeNs}` : '-';
    } catch {
      return '?';
    }
  });
}

/** A bounded walk that calls onLink for every link it meets, and the filter for what it finds. */
class Walker {
  private budget = MAX_ENTRIES;
  truncated = false;
  /** Every directory whose entries the result depends on: a change there shows in its mtime. */
  readonly dirs = new Set<string>();
  constructor(private readonly keep: (p: string) => boolean) {}

  add(list: string[], target: string | undefined): void {
    if (target && this.keep(target) && !SYSTEM.test(target) && !list.includes(target)) list.push(target);
  }

  /**
   * Where `link` leads, and every link met on the way there: `~/.tmux.conf ->
   * cfg/tmux/.tmux.conf` with `~/cfg` a link to a repository led to a file the sandbox
   * could not write — but it could point `~/cfg` at a tree of its own (helper-62 F1). The
   * links go to `links` (protected at their own place), the target to `list`.
   */
  addLink(list: string[], links: string[], link: string): void {
    const f = follow(link);
    if (!f) return;
    this.add(list, f.target);
    for (const v of f.via) this.add(links, v);
  }

  walk(root: string, depth: number, onLink: (link: string) => void, rel = ''): void {
    this.dirs.add(root);
    let entries: Dirent[];
    try {
      entries = readdirSync(root, { withFileTypes: true });
    } catch {
      return; // not a directory, gone, unreadable
    }
    for (const e of entries) {
      if (--this.budget < 0) {
        this.truncated = true;
        return;
      }
      const path = join(root, e.name);
      if (e.isSymbolicLink()) onLink(path);
      else if (e.isDirectory() && depth > 1 && !SKIP.has(e.name) && !SKIP.has(`${rel}${e.name}`)) this.walk(path, depth - 1, onLink, `${rel}${e.name}/`);
    }
  }

  /** Each root that is a link, and the links below each that is a directory: their targets into `list`, links on the way into `links`. */
  protect(roots: string[], list: string[], links: string[]): void {
    for (const root of roots) {
      if (SYSTEM.test(root) || SKIP.has(basename(root))) continue;
      this.dirs.add(dirname(root)); // where it appears, or is made a link
      const kind = lstatKind(root);
      if (kind === 'link') this.addLink(list, links, root);
      else if (kind === 'dir') this.walk(root, PROTECTED_DEPTH, (l) => this.addLink(list, links, l));
    }
  }
}

/** Never a target that would take the home or the project, or everything above them. */
function notCovering(...dirs: string[]): (p: string) => boolean {
  return (p) => p !== '/' && !dirs.some((d) => d === p || d.startsWith(`${p}/`));
}

function computeLinkTargets(text: string): { out: string; dirs: string[] } {
  const input = JSON.parse(text) as LinkTargetInput;
  const w = new Walker(notCovering(input.home));
  const out: LinkTargets = { floors: [], secrets: [], truncated: false };
  // Secrets first: the smallest places, and the worst to miss. The links on the way to a
  // secret or a floor are floors (protected where they are: expandRule covers a deny's link
  // place and its target).
  w.protect(input.secrets, out.secrets, out.floors);
  w.protect(input.floors, out.floors, out.floors);
  for (const dir of input.pathDirs)
    if (!SYSTEM.test(dir))
      w.walk(dir, 1, (l) => {
        const f = follow(l);
        w.add(out.floors, packageOf(f?.target));
        for (const v of f?.via ?? []) w.add(out.floors, v);
      });
  out.truncated = w.truncated;
  return { out: JSON.stringify({ ...out, floors: out.floors.sort(), secrets: out.secrets.sort() }), dirs: [...w.dirs] };
}

function computeHomeLinkTargets(home: string): { out: string; dirs: string[] } {
  const w = new Walker(notCovering(home));
  const out: string[] = [];
  const links: string[] = [];
  let top: Dirent[] = [];
  try {
    top = readdirSync(home, { withFileTypes: true }).filter((e) => e.name.startsWith('.') && e.name !== '.' && e.name !== '..');
  } catch {
    // no home to look at
  }
  const onLink = (l: string) => w.addLink(out, links, l);
  for (const e of top) {
    const path = join(home, e.name);
    if (e.isSymbolicLink()) onLink(path);
    else if (e.isDirectory() && !SKIP.has(e.name)) w.walk(path, HOME_DEPTH - 1, onLink, `${e.name}/`);
  }
  w.dirs.add(home);
  // Dot-entries are denied already (targets there need nothing more).
  const result: HomeLinks = { targets: out.filter((t) => !t.startsWith(`${home}/.`)).sort(), links: links.filter((l) => !l.startsWith(`${home}/.`)).sort() };
  return { out: JSON.stringify(result), dirs: [...w.dirs] };
}

function lstatKind(path: string): 'link' | 'dir' | 'other' | undefined {
  try {
    const st = lstatSync(path);
    return st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'other';
  } catch {
    return undefined;
  }
}

/**
 * Where a link leads, as the kernel would follow it (a missing rest as written: a dangling
 * link's target can be made), and the links met on the way after the first.
 */
function follow(link: string): { target: string; via: string[] } | undefined {
  const via: string[] = [];
  // Components are taken one by one, `..` after the link before it is followed, as the
  // kernel does (path.resolve would fold `a/link/..` to `a` first).
  const parts = (p: string) => p.split('/').filter(Boolean);
  let at: string;
  let rest: string[];
  try {
    const to = readlinkSync(link);
    at = to.startsWith('/') ? '/' : realpathSync(dirname(link));
    rest = parts(to);
  } catch {
    return undefined;
  }
  for (let hops = 0; rest.length > 0; ) {
    const name = rest.shift()!;
    const next = name === '..' ? dirname(at) : name === '.' ? at : join(at, name);
    const kind = lstatKind(next);
    if (kind === undefined) return { target: join(next, ...rest), via }; // missing: the rest as written
    if (kind !== 'link') {
      at = next;
      continue;
    }
    if (++hops > 40) return undefined; // ELOOP
    via.push(next);
    let to: string;
    try {
      to = readlinkSync(next);
    } catch {
      return undefined;
    }
    if (to.startsWith('/')) at = '/';
    rest = [...parts(to), ...rest];
  }
  return { target: at, via };
}

/** The package a program link's target belongs to: the nearest package.json above it, else its directory (or the one above a bin/). */
function packageOf(target: string | undefined): string | undefined {
  if (!target) return undefined;
  const dir = dirname(target);
  for (let d = dir, n = 0; d !== '/' && n < 6; d = dirname(d), n++) if (lstatKind(join(d, 'package.json')) === 'other') return d;
  return basename(dir) === 'bin' ? dirname(dir) : dir;
}
