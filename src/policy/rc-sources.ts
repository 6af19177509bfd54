/**
 * Files that floored files load. `~/.bashrc` is a floor, but a `. ~/dotfiles/shellrc.sh` in it
 * runs that file in every shell outside, and `Include ~/dotfiles/ssh/*.conf` in `~/.ssh/config`
 * can set a ProxyCommand for every `ssh`: what they name is as much code run outside later as
 * the file itself (helper-61's F2b). So the files the shell start-up files source (`.` and
 * `source`, followed into what those source, a few levels deep) and the files ssh's config
 * includes are floors too; the keys it names (IdentityFile, CertificateFile) are secrets.
 *
 * Only names a reader can resolve without running anything: `~`, `$HOME`, `${HOME}` and
 * `$ZDOTDIR` expanded, anything else with `$` or a command substitution skipped (a limit the
 * README states). A derived fact of the build (expand.ts): an edit is seen when a cached
 * policy is checked.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { derivedFact } from './expand.js';
import { readRegularBounded } from './read-bounded.js';

export interface RcSources {
  /** Files the shell start-up files (and ssh's config) load: write floors. */
  code: string[];
  /** Keys ssh's config names: secrets. */
  keys: string[];
}

const MAX_DEPTH = 3;
const MAX_FILES = 64;
const MAX_BYTES = 1024 * 1024;

/** `rcFiles`: the shell start-up files (absolute); `sshConfig`: ~/.ssh/config. */
export function rcSources(home: string, zdotdir: string | undefined, rcFiles: string[], sshConfig: string): RcSources {
  return JSON.parse(derivedFact('rc-sources', JSON.stringify([home, zdotdir ?? '', rcFiles, sshConfig]), compute)) as RcSources;
}

function compute(input: string): string {
  const [home, zdotdir, rcFiles, sshConfig] = JSON.parse(input) as [string, string, string[], string];
  const out: RcSources = { code: [], keys: [] };
  const seen = new Set<string>(rcFiles);
  const queue = rcFiles.map((f) => ({ file: f, depth: 0 }));
  while (queue.length > 0 && seen.size <= MAX_FILES) {
    const { file, depth } = queue.shift()!;
    const text = readText(file);
    if (text === undefined) continue;
    for (const name of sourcedNames(text)) {
      const path = expand(name, home, zdotdir, home);
      if (!path || seen.has(path)) continue;
      seen.add(path);
      out.code.push(path);
      if (depth + 1 < MAX_DEPTH) queue.push({ file: path, depth: depth + 1 });
    }
  }
  const ssh = readText(sshConfig);
  if (ssh !== undefined) {
    for (const { key, value } of sshDirectives(ssh)) {
      // ssh reads a relative Include in ~/.ssh.
      const path = expand(value, home, zdotdir, dirname(sshConfig), true);
      if (!path) continue;
      (key === 'include' ? out.code : out.keys).push(globPrefix(path));
    }
  }
  out.code = [...new Set(out.code)].sort();
  out.keys = [...new Set(out.keys)].sort();
  return JSON.stringify(out);
}

function readText(file: string): string | undefined {
  try {
    return readRegularBounded(file, MAX_BYTES);
  } catch {
    return undefined;
  }
}

/** The names `.`/`source` (also as `builtin source`, `command .`) load: at a line's start or after `;`, `&&`, `||`, `(`, `)` (a case pattern), `{`, `then`, `do`, `else`. */
export function sourcedNames(text: string): string[] {
  const out: string[] = [];
  const re = /(?:^\s*|[;&|{()]\s*|\b(?:then|do|else)\s+)(?:(?:builtin|command)\s+)?(?:source|\.)\s+("[^"\n]*"|'[^'\n]*'|[^\s;&|)}]+)/gm;
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue;
    for (const m of line.matchAll(re)) out.push(m[1]!.replace(/^(["'])(.*)\1$/, '$2'));
  }
  return out;
}

/**
 * ssh_config's Include (code: a config), the programs and libraries it runs (ProxyCommand,
 * LocalCommand, KnownHostsCommand, `Match exec`: the command's first word; PKCS11Provider,
 * SecurityKeyProvider: a library), and IdentityFile / CertificateFile (keys).
 */
export function sshDirectives(text: string): { key: 'include' | 'key'; value: string }[] {
  const out: { key: 'include' | 'key'; value: string }[] = [];
  const words = (v: string) => (v.match(/"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^"(.*)"$/, '$1'));
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z0-9]+)\s*(?:=\s*|\s+)(.+?)\s*$/.exec(line);
    if (!m) continue;
    const k = m[1]!.toLowerCase();
    if (k === 'include') for (const v of words(m[2]!)) out.push({ key: 'include', value: v });
    else if (k === 'identityfile' || k === 'certificatefile') for (const v of words(m[2]!)) out.push({ key: 'key', value: v });
    else if (k === 'proxycommand' || k === 'localcommand' || k === 'knownhostscommand' || k === 'pkcs11provider' || k === 'securitykeyprovider') {
      const first = words(m[2]!.replace(/^exec\s+/, ''))[0];
      if (first) out.push({ key: 'include', value: first });
    } else if (k === 'match') {
      for (const e of m[2]!.matchAll(/\bexec\s+("[^"]*"|\S+)/gi)) {
        const first = words(e[1]!.replace(/^"(.*)"$/, '$1'))[0];
        if (first) out.push({ key: 'include', value: first });
      }
    }
  }
  return out;
}

/** `~`, `$HOME`, `${HOME}`, `$ZDOTDIR`, ssh's `%d` (the home) and `%%`, other `%` tokens as a wildcard; undefined for anything that needs a shell to know. */
function expand(name: string, home: string, zdotdir: string, base: string, ssh = false): string | undefined {
  let p = ssh ? name.replace(/%%/g, '\0').replace(/%d/g, home).replace(/%[a-zA-Z]/g, '*').replace(/\0/g, '%') : name;
  if (p === '~' || p.startsWith('~/')) p = home + p.slice(1);
  p = p.replace(/\$\{HOME\}|\$HOME\b/g, home);
  if (zdotdir) p = p.replace(/\$\{ZDOTDIR\}|\$ZDOTDIR\b/g, zdotdir);
  if (/[$`]/.test(p) || p.startsWith('~') || p === '') return undefined;
  return isAbsolute(p) ? resolve(p) : resolve(base, p);
}

/** A path with a wildcard: the directory before the first one (every file it could name). */
function globPrefix(path: string): string {
  const i = path.search(/[*?[]/);
  return i < 0 ? path : dirname(path.slice(0, i) + 'x');
}

