/**
 * Compiled-policy globs → anchored Seatbelt regexes.
 *
 * Glob syntax (src/policy/compiled.ts): `*` = any run of characters except `/`, `?` = one
 * character except `/`, `**` as a whole segment = zero or more whole segments, `\` escapes
 * the next character; nothing else is special. Every other character is a literal and is
 * regex-escaped here.
 *
 * A glob rule matches a path when it matches the path or one of its ancestors, and its
 * score uses the depth of the *shortest* such ancestor. With an interior `**` that depth
 * varies from path to path, so the profile needs regexes for "matches at exactly depth d"
 * (`exactDepth`) and "matches at any depth" (`anyDepth`), both allowing anything below.
 */

export type Segment = { kind: 'globstar' } | { kind: 'part'; regex: string };

export interface ParsedGlob {
  segments: Segment[];
  /** Segments that are not `**`: the smallest depth at which the glob can match. */
  minDepth: number;
  /** Number of `**` segments left after dropping trailing ones. */
  globstars: number;
}

import { regexEscape } from './sbpl.js';

/** Splits an absolute glob into segments (escapes respected). Trailing `**` segments are
 * dropped: `X/**` matches exactly the paths at or below a match of X, at X's depth. */
export function parseGlob(glob: string): ParsedGlob {
  const raw: { text: string; regex: string }[] = [];
  let text = '';
  let regex = '';
  const flush = () => {
    raw.push({ text, regex });
    text = '';
    regex = '';
  };
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    // Like src/policy/glob.ts: "/" always separates segments, even after "\\".
    if (c === '\\' && i + 1 < glob.length && glob[i + 1] !== '/') {
      const n = glob[++i]!;
      text += `\\${n}`;
      regex += regexEscape(n);
    } else if (c === '/') {
      flush();
    } else if (c === '*') {
      text += '*';
      regex += '[^/]*';
    } else if (c === '?') {
      text += '?';
      regex += '[^/]';
    } else {
      text += c;
      regex += regexEscape(c);
    }
  }
  flush();
  // raw[0] is the empty text before the leading "/"; "/" alone gives ['', ''].
  const segments: Segment[] = raw
    .slice(1)
    .filter((s) => s.text !== '')
    .map((s) => (s.text === '**' ? { kind: 'globstar' } : { kind: 'part', regex: s.regex }));
  while (segments.length > 0 && segments[segments.length - 1]!.kind === 'globstar') segments.pop();
  const globstars = segments.filter((s) => s.kind === 'globstar').length;
  return { segments, minDepth: segments.length - globstars, globstars };
}

const SEG = '/[^/]+';
const BELOW = '(/.*)?$';

/** Matches the path or anything below, when the glob matches at any depth. */
export function anyDepth(g: ParsedGlob): string {
  if (g.segments.length === 0) return '^/';
  const body = g.segments.map((s) => (s.kind === 'globstar' ? `(${SEG})*` : `/${s.regex}`)).join('');
  return `^${body}${BELOW}`;
}

/** Regexes (any one suffices) for "the ancestor-or-self at depth `depth` matches". */
export function exactDepth(g: ParsedGlob, depth: number): string[] {
  const extra = depth - g.minDepth;
  if (extra < 0 || (g.globstars === 0 && extra !== 0)) return [];
  if (g.segments.length === 0) return ['^/'];
  const out: string[] = [];
  // Every way to share `extra` whole segments among the `**`s.
  const place = (k: number, left: number, acc: number[]) => {
    if (k === g.globstars - 1 || g.globstars === 0) {
      const counts = g.globstars === 0 ? [] : [...acc, left];
      let star = 0;
      const body = g.segments
        .map((s) => (s.kind === 'globstar' ? SEG.repeat(counts[star++]!) : `/${s.regex}`))
        .join('');
      out.push(`^${body}${BELOW}`);
      return;
    }
    for (let n = 0; n <= left; n++) place(k + 1, left - n, [...acc, n]);
  };
  place(0, extra, []);
  return out;
}

/**
 * The leading segments of a glob that contain no wildcard, unescaped ("/" when none);
 * `whole` when the glob has no wildcard at all (it names one path).
 */
export function literalPrefix(glob: string): { prefix: string; whole: boolean } {
  const out: string[] = [];
  for (const seg of glob.split('/').filter((s) => s !== '')) {
    let lit = '';
    for (let i = 0; i < seg.length; i++) {
      const c = seg[i]!;
      if (c === '\\' && i + 1 < seg.length) lit += seg[++i];
      else if (c === '*' || c === '?') return { prefix: `/${out.join('/')}`, whole: false };
      else lit += c;
    }
    out.push(lit);
  }
  return { prefix: `/${out.join('/')}`, whole: true };
}
