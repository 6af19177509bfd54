/**
 * Where git runs hooks from when a config moves them out of `.git/hooks`: `core.hooksPath`
 * (husky sets `.husky/_`, many teams `.githooks`). git runs what is there at the next commit,
 * outside the sandbox too, so those directories are floors like `.git/hooks` — and so are
 * the config files a config includes (they can set it, or anything else), and the template
 * directory (init.templateDir) git copies into every repository it clones or makes: a hook
 * there runs in the clone (post-checkout, during `git clone` itself). Read from the
 * project's repository (its config and config.worktree, a worktree's commondir followed) and
 * from the user's global configs, with their `include.path` / `includeIf.*.path` files.
 *
 * The result is a derived fact of the build (expand.ts derivedFact): an edit of any of those
 * files since is seen when a cached policy is checked, and the policy is built again.
 */
import { readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, posix, resolve } from 'node:path';
import { derivedFact } from './expand.js';
import { readRegularBounded } from './read-bounded.js';

export interface GitRunFloors {
  /** Hooks directories (core.hooksPath) of the project's repository and the global configs. */
  hooks: string[];
  /** Config files a config includes. */
  includes: string[];
  /** Glob patterns: a relative hooksPath in a global config names that directory in every repository. */
  globs: string[];
  /** init.templateDir of the global configs: copied into every repository cloned or made (its hooks run in the clone). */
  templates: string[];
}

const MAX_INCLUDES = 10;

/**
 * The floors for the project at `projectDir`, for a user whose home and git config dir are
 * given, and the files GIT_CONFIG_GLOBAL and GIT_CONFIG_SYSTEM name when set (`configs`).
 */
export function gitRunFloors(projectDir: string, home: string, gitConfigDir: string, configs: string[] = []): GitRunFloors {
  const text = derivedFact('git-hooks-path', JSON.stringify([projectDir, home, gitConfigDir, configs]), computeFloors);
  return JSON.parse(text) as GitRunFloors;
}

function computeFloors(input: string): string {
  const [projectDir, home, gitConfigDir, configs] = JSON.parse(input) as [string, string, string, string[]];
  const out: GitRunFloors = { hooks: [], includes: [], globs: [], templates: [] };
  for (const file of [join(home, '.gitconfig'), join(gitConfigDir, 'config'), ...configs]) {
    for (const c of readConfigs(file, home, out)) {
      if (!c) continue;
      if (isAbsolute(c) || c.startsWith('~/')) out.hooks.push(expandHome(c, home));
      else out.globs.push(...relativeEverywhere(c));
    }
  }
  // Every repository whose work tree holds the project (an empty one made inside the project
  // must not hide the one above it), and every work tree of each (a relative hooksPath is
  // resolved in the work tree git runs in).
  for (const repo of repositoriesAbove(projectDir)) {
    const linked = worktreeGitDirs(repo.common);
    const tops = [repo.worktree, ...worktreeTops(linked)];
    const files = [join(repo.common, 'config'), join(repo.gitDir, 'config.worktree'), ...linked.map((g) => join(g, 'config.worktree'))];
    for (const file of files)
      for (const c of readConfigs(file, home, out)) {
        if (!c) continue;
        if (isAbsolute(c) || c.startsWith('~/')) out.hooks.push(expandHome(c, home));
        else for (const top of tops) out.hooks.push(resolve(top, c));
      }
  }
  out.hooks = [...new Set(out.hooks)].sort();
  out.includes = [...new Set(out.includes)].sort();
  out.globs = [...new Set(out.globs)].sort();
  out.templates = [...new Set(out.templates)].sort();
  return JSON.stringify(out);
}

interface Repository {
  worktree: string;
  gitDir: string;
  common: string;
}

/**
 * A relative hooksPath from a global config names that directory in every repository: as
 * globs. Leading `..` steps leave the rest anywhere (`../shared-hooks`: every `shared-hooks`);
 * one that climbs out entirely (`..`) is floored by the hooks' names anywhere.
 */
function relativeEverywhere(value: string): string[] {
  let rest = posix.normalize(value);
  while (rest.startsWith('../')) rest = rest.slice(3);
  if (rest === '..' || rest === '.' || rest === '') return HOOK_NAMES.map((n) => `/**/${n}`);
  return [`/**/${rest.replace(/\/+$/, '')}`];
}

/** The repositories whose work trees hold `dir`, nearest first. */
function repositoriesAbove(dir: string): Repository[] {
  const out: Repository[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    const r = findRepository(d);
    if (!r) return out;
    out.push(r);
    if (r.worktree === '/') return out;
    d = r.worktree;
  }
}

/** The git directories of a repository's linked work trees (`<common>/worktrees/<name>`). */
function worktreeGitDirs(common: string): string[] {
  try {
    return readdirSync(join(common, 'worktrees'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(common, 'worktrees', e.name));
  } catch {
    return [];
  }
}

/** The tops of linked work trees, as their git directories' `gitdir` files name them. */
function worktreeTops(gitDirs: string[]): string[] {
  return gitDirs.flatMap((g) => {
    const line = readText(join(g, 'gitdir'))?.trim();
    return line && isAbsolute(line) ? [dirname(line)] : [];
  });
}

/** The repository whose worktree holds `dir`: `.git` a directory, or a file naming one (worktrees, submodules). */
function findRepository(dir: string): Repository | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const dotGit = join(d, '.git');
    let gitDir: string | undefined;
    const pointer = readText(dotGit);
    if (pointer !== undefined) {
      const m = /^gitdir:\s*(.+?)\s*$/m.exec(pointer);
      if (m) gitDir = resolve(d, m[1]!);
    } else if (isFile(join(dotGit, 'HEAD'))) gitDir = dotGit;
    if (gitDir) {
      const commondir = readText(join(gitDir, 'commondir'))?.trim();
      return { worktree: d, gitDir, common: commondir ? resolve(gitDir, commondir) : gitDir };
    }
    if (d === '/') return undefined;
  }
}

/** core.hooksPath values of a config file and of the files it includes (each added to out.includes); init.templateDir into out.templates. */
function readConfigs(file: string, home: string, out: GitRunFloors, depth = 0): string[] {
  const text = readText(file);
  if (text === undefined) return [];
  const hooks: string[] = [];
  for (const { section, key, value } of parseGitConfig(text)) {
    if (section === 'core' && key === 'hookspath') hooks.push(value);
    if (section === 'init' && key === 'templatedir' && value) out.templates.push(isAbsolute(value) || value.startsWith('~/') ? expandHome(value, home) : resolve(dirname(file), value));
    if ((section === 'include' || section.startsWith('includeif.')) && key === 'path' && value && depth < MAX_INCLUDES) {
      const included = isAbsolute(value) || value.startsWith('~/') ? expandHome(value, home) : resolve(dirname(file), value);
      out.includes.push(included);
      hooks.push(...readConfigs(included, home, out, depth + 1));
    }
  }
  return hooks;
}

/** The hooks git runs (githooks(5)): a hooks directory too wide to floor whole is floored by these names. */
export const HOOK_NAMES = [
  'applypatch-msg', 'pre-applypatch', 'post-applypatch', 'pre-commit', 'pre-merge-commit', 'prepare-commit-msg', 'commit-msg',
  'post-commit', 'pre-rebase', 'post-checkout', 'post-merge', 'pre-push', 'pre-receive', 'update', 'proc-receive', 'post-receive',
  'post-update', 'reference-transaction', 'push-to-checkout', 'pre-auto-gc', 'post-rewrite', 'sendemail-validate',
  'fsmonitor-watchman', 'p4-changelist', 'p4-prepare-changelist', 'p4-post-changelist', 'p4-pre-submit', 'post-index-change',
];

function expandHome(p: string, home: string): string {
  return p.startsWith('~/') ? join(home, p.slice(2)) : p;
}

/** Past this a file is not read (read-bounded.ts): a repository's files are the project's, writable inside. */
const MAX_CONFIG_BYTES = 1024 * 1024;

function readText(file: string): string | undefined {
  try {
    return readRegularBounded(file, MAX_CONFIG_BYTES);
  } catch {
    return undefined; // absent, a directory, unreadable: git would not read it either
  }
}

function isFile(file: string): boolean {
  try {
    return statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false; // ENOTDIR, EACCES
  }
}

/**
 * git's config syntax, as much as finding keys needs: `[section]`, `[section "sub"]` (kept
 * as `section.sub`, the subsection as written), `[section.sub]`; `key = value` with quotes,
 * backslash escapes, `#`/`;` comments and continued lines; a key alone is `true`. Section and
 * key names are case-insensitive (lower-cased here).
 */
export function parseGitConfig(text: string): { section: string; key: string; value: string }[] {
  const out: { section: string; key: string; value: string }[] = [];
  let section = '';
  const lines = text.replace(/^\uFEFF/, '').split('\n'); // git skips a byte-order mark
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    const head = /^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\](.*)$/.exec(line);
    if (head) {
      section = head[1]!.toLowerCase() + (head[2] !== undefined ? `.${head[2].replace(/\\(.)/g, '$1')}` : '');
      line = head[3]!;
    }
    const kv = /^\s*([A-Za-z][A-Za-z0-9-]*)\s*(=?)(.*)$/.exec(line);
    if (!kv) continue;
    if (!kv[2]) {
      out.push({ section, key: kv[1]!.toLowerCase(), value: 'true' });
      continue;
    }
    let raw = kv[3]!;
    // A value continues on the next line after a backslash at its end (outside a comment).
    while (/(^|[^\\])(\\\\)*\\\r?$/.test(raw) && i + 1 < lines.length) raw = raw.replace(/\\\r?$/, '') + lines[++i]!;
    out.push({ section, key: kv[1]!.toLowerCase(), value: unquote(raw) });
  }
  return out;
}

function unquote(raw: string): string {
  let value = '';
  let quoted = false;
  let pendingSpace = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\' && i + 1 < raw.length) {
      const e = raw[++i]!;
      value += pendingSpace + ({ n: '\n', t: '\t', b: '\b' }[e] ?? e);
      pendingSpace = '';
    } else if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '#' || c === ';')) break;
    else if (!quoted && /\s/.test(c)) {
      if (value) pendingSpace += c; // inner spaces kept, leading and trailing dropped
    } else {
      value += pendingSpace + c;
      pendingSpace = '';
    }
  }
  return value;
}
