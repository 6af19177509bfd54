/**
 * Reading policy files: YAML (keeping node positions) → zod. Every problem becomes one
 * line `file:line:col: key.path: message (got value)`; all of them are thrown together
 * in one PolicyError, so a user fixes a file in one pass.
 */
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type { Document, LineCounter } from 'yaml';
import type { z } from 'zod';
import { PolicyError } from '../errors.js';
import { readOwnFile, UnsafePathError } from './own-files.js';
import { readRegularBounded } from './read-bounded.js';
import { schemas, type ProjectFile, type UserFile } from './schema.js';

/** yaml is loaded on first use (see schemas()): no policy file, no parser to load. */
let yamlModule: typeof import('yaml') | undefined;
function yaml(): typeof import('yaml') {
  return (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));
}

export type KeyPath = (string | number)[];

export interface LoadedFile<T = ProjectFile | UserFile> {
  /** Absolute path as given (not canonicalised: this is what messages show). */
  file: string;
  /** Directory relative entries resolve against. */
  dir: string;
  kind: 'project' | 'user';
  sha256: string;
  data: T;
  /** `file:line:col` of the value at `path` (or of its nearest existing ancestor). */
  where(path: KeyPath): string;
}

/** `read.deny[1]`, `commands["my tool"].net`, `(top level)`. */
export function formatKeyPath(path: KeyPath): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** How a bad value is shown after "got". */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const s = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** One formatted issue line; `(got …)` only when a value is passed (even undefined/null). */
export function issueLine(where: string, path: KeyPath, message: string, ...value: [] | [unknown]): string {
  return `${where}: ${formatKeyPath(path)}: ${message}${value.length > 0 ? ` (got ${describeValue(value[0])})` : ''}`;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  number: 'a number',
  boolean: 'true or false',
};

function valueAt(data: unknown, path: KeyPath): { found: boolean; value: unknown } {
  let cur: unknown = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || !(seg in (cur as object))) return { found: false, value: undefined };
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return { found: true, value: cur };
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

/** Keys allowed at a (parent) key path, for "did you mean". */
function knownKeys(kind: 'project' | 'user', parent: KeyPath): string[] {
  const top = ['version', 'extends', 'read', 'write', 'exec', 'net', 'env', 'commands', 'mode', ...(kind === 'user' ? ['protect'] : [])];
  const inCommand = ['read', 'write', 'exec', 'net', 'env', 'mode'];
  const last = parent[parent.length - 1];
  if (parent.length === 0) return top;
  if (parent[0] === 'commands' && parent.length === 2) return inCommand;
  if (last === 'net') return ['allow', 'deny', 'unix'];
  return ['allow', 'deny'];
}

function unknownKeyMessage(kind: 'project' | 'user', parent: KeyPath, key: string): string {
  const known = knownKeys(kind, parent);
  const near = known.filter((k) => editDistance(k, key) <= 2).sort((a, b) => editDistance(a, key) - editDistance(b, key))[0];
  if (near) return `unknown key (did you mean '${near}'?)`;
  if (kind === 'project' && parent.length === 0 && key === 'protect') return 'unknown key (protect is only allowed in the user config)';
  return `unknown key (expected one of: ${known.join(', ')})`;
}

class Locator {
  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  private at(offset: number): string {
    const { line, col } = this.lines.linePos(offset);
    return `${this.file}:${line}:${col}`;
  }

  /** Position of the value at path, or of the nearest ancestor that exists. */
  value(path: KeyPath): string {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, n), true);
      if ((yaml().isScalar(node) || yaml().isCollection(node)) && node.range) return this.at(node.range[0]);
    }
    return this.at(0);
  }

  /** Position of the key `path[last]` inside its parent mapping. */
  key(path: KeyPath): string {
    const parentPath = path.slice(0, -1);
    const parent = parentPath.length === 0 ? this.doc.contents : this.doc.getIn(parentPath, true);
    if (yaml().isMap(parent)) {
      const pair = parent.items.find((p) => (yaml().isScalar(p.key) ? p.key.value : p.key) === path[path.length - 1]);
      if (pair && yaml().isScalar(pair.key) && pair.key.range) return this.at(pair.key.range[0]);
    }
    return this.value(parentPath);
  }
}

/** Turns one zod issue into formatted lines. */
function zodIssueLines(issue: z.core.$ZodIssue, data: unknown, loc: Locator, kind: 'project' | 'user'): string[] {
  const path = issue.path.filter((s): s is string | number => typeof s !== 'symbol');
  const { found, value } = valueAt(data, path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => issueLine(loc.key([...path, k]), [...path, k], unknownKeyMessage(kind, path, k)));
    case 'invalid_type': {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (!found) return [issueLine(loc.value(path), path, `missing (expected ${expected})`)];
      return [issueLine(loc.value(path), path, `expected ${expected}`, value)];
    }
    case 'invalid_value': {
      const values = issue.values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
      const expected = values.length === 1 ? values[0]! : `one of ${values.join(', ')}`;
      if (!found) return [issueLine(loc.value(path), path, `missing (expected ${expected})`)];
      return [issueLine(loc.value(path), path, `expected ${expected}`, value)];
    }
    case 'too_small':
      return [issueLine(loc.value(path), path, issue.message, value)];
    case 'invalid_key':
      return [issueLine(loc.key(path), path, 'expected a non-empty program name', path[path.length - 1])];
    default:
      return [found ? issueLine(loc.value(path), path, issue.message, value) : issueLine(loc.value(path), path, issue.message)];
  }
}

/** Issues in file order (line, then column). */
function sortByPosition(lines: string[]): string[] {
  const key = (l: string) => {
    const m = /:(\d+):(\d+): /.exec(l);
    return m ? Number(m[1]) * 100000 + Number(m[2]) : 0;
  };
  return [...lines].sort((a, b) => key(a) - key(b));
}

export interface ParseResult<T> {
  data: T;
  where: (path: KeyPath) => string;
}

/** Parses and validates text; throws PolicyError listing every issue. */
export function parsePolicyText<K extends 'project' | 'user'>(
  text: string,
  file: string,
  kind: K,
): ParseResult<K extends 'user' ? UserFile : ProjectFile> {
  const lines = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const loc = new Locator(file, doc, lines);
  const where = (p: KeyPath) => loc.value(p);
  const fail = (issues: string[]) =>
    new PolicyError(`${file}: invalid policy file (${issues.length} problem${issues.length === 1 ? '' : 's'})`, issues);

  if (doc.errors.length > 0) {
    throw fail(
      doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        const msg = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        return `${file}:${line}:${col}: yaml: ${msg}`;
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw fail([`${file}:1:1: yaml: ${(err as Error).message}`]);
  }
  if (data === null || data === undefined) {
    throw fail([`${file}:1:1: (top level): empty file (expected a mapping starting with 'version: 1')`]);
  }
  const schema = kind === 'user' ? schemas().userFileSchema : schemas().projectFileSchema;
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw fail(sortByPosition(parsed.error.issues.flatMap((i) => zodIssueLines(i, data, loc, kind))));
  }
  const total = countEntries(parsed.data);
  if (total > MAX_TOTAL_ENTRIES) throw fail([`${file}:1:1: (top level): ${total} entries in all; a policy file holds at most ${MAX_TOTAL_ENTRIES}`]);
  return { data: parsed.data as K extends 'user' ? UserFile : ProjectFile, where };
}

/** Entries (strings in lists) a policy file may hold in all, its `commands:` included (see schema.ts MAX_COMMANDS). */
export const MAX_TOTAL_ENTRIES = 5000;

function countEntries(v: unknown): number {
  if (Array.isArray(v)) return v.length;
  if (v && typeof v === 'object') return Object.values(v).reduce<number>((n, x) => n + countEntries(x), 0);
  return 0;
}

const parseCache = new Map<string, ParseResult<unknown>>();

/** The most a policy file may hold (the largest real ones are a few KiB): see read-bounded.ts. */
export const MAX_POLICY_BYTES = 64 * 1024;

/** A file's text, as a PolicyError naming it when it cannot be read. `own`: sbx's own file (see own-files.ts). */
export function readPolicyText(file: string, own = false): string {
  const abs = resolve(file);
  try {
    if (own) {
      const text = readOwnFile(abs);
      if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${abs}'`), { code: 'ENOENT' });
      return text;
    }
    return readRegularBounded(abs, MAX_POLICY_BYTES);
  } catch (err) {
    if (err instanceof UnsafePathError) throw new PolicyError(`${abs}: refusing to read policy file`, [`${abs}:1:1: (top level): ${err.message}`], err);
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new PolicyError(`${abs}: cannot read policy file (${code})`, [`${abs}:1:1: (top level): ${(err as Error).message}`], err);
  }
}

export function sha256Of(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Validates a policy file's text (read by the caller, or a last good version). */
export function loadPolicyText<K extends 'project' | 'user'>(
  file: string,
  text: string,
  kind: K,
): LoadedFile<K extends 'user' ? UserFile : ProjectFile> {
  const abs = resolve(file);
  const sha256 = sha256Of(text);
  // Same file, same bytes: reuse the parse (the supervisor re-resolves on every cd).
  const key = `${kind}\0${abs}\0${sha256}`;
  let parsed = parseCache.get(key) as ParseResult<K extends 'user' ? UserFile : ProjectFile> | undefined;
  if (!parsed) {
    parsed = parsePolicyText(text, abs, kind);
    if (parseCache.size >= 64) parseCache.delete(parseCache.keys().next().value!);
    parseCache.set(key, parsed);
  }
  return { file: abs, dir: dirname(abs), kind, sha256, data: structuredClone(parsed.data), where: parsed.where };
}

/** Reads and validates one policy file (the user config through readOwnFile). */
export function loadPolicyFile<K extends 'project' | 'user'>(
  file: string,
  kind: K,
): LoadedFile<K extends 'user' ? UserFile : ProjectFile> {
  return loadPolicyText(file, readPolicyText(file, kind === 'user'), kind);
}

/**
 * `file:line:col: not a valid sbx policy file`: a policy problem with nothing quoted from
 * the file. For files named by `use`, which may be any file the shell can read: a reply,
 * notice or log line never carries their content (a key, a value, a source line).
 */
export function withoutContent(issue: string, file: string): string {
  const at = /^(.*?:\d+:\d+)(?::|$)/.exec(issue)?.[1];
  return `${at && at.startsWith(file) ? at : file}: not a valid sbx policy file`;
}
