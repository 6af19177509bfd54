/**
 * Glob matching exactly as documented in compiled.ts: `*` = any run of characters except
 * `/`, `?` = one character except `/`, `**` as a whole segment = zero or more segments,
 * `\` escapes. Patterns and paths are compared segment by segment.
 */

type Seg = { globstar: true } | { globstar: false; re: RegExp };

const cache = new Map<string, Seg[]>();

function segRegex(seg: string): RegExp {
  let re = '^';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '\\' && i + 1 < seg.length) re += escapeRe(seg[++i]!);
    else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += escapeRe(c);
  }
  return new RegExp(`${re}$`, 's');
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Segments of an absolute path or pattern ("/" → []); a leading "@name" counts as a segment. */
export function segments(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

function compile(pattern: string): Seg[] {
  let c = cache.get(pattern);
  if (!c) {
    c = segments(pattern).map((s) => (s === '**' ? { globstar: true as const } : { globstar: false as const, re: segRegex(s) }));
    if (cache.size > 10_000) cache.clear();
    cache.set(pattern, c);
  }
  return c;
}

function matchSegs(pat: Seg[], pi: number, path: string[], si: number, end: number): boolean {
  while (pi < pat.length) {
    const p = pat[pi]!;
    if (p.globstar) {
      for (let k = si; k <= end; k++) if (matchSegs(pat, pi + 1, path, k, end)) return true;
      return false;
    }
    if (si >= end || !p.re.test(path[si]!)) return false;
    pi++;
    si++;
  }
  return si === end;
}

/** Whether the glob matches the path exactly (all of it). */
export function globMatches(pattern: string, path: string): boolean {
  const segs = segments(path);
  return matchSegs(compile(pattern), 0, segs, 0, segs.length);
}

/**
 * Depth of the shortest ancestor-or-self of `path` the glob matches, or -1.
 * `pathSegs` are the path's segments (callers split once per decision).
 */
export function globMatchDepth(pattern: string, pathSegs: string[]): number {
  const pat = compile(pattern);
  for (let k = 0; k <= pathSegs.length; k++) if (matchSegs(pat, 0, pathSegs, 0, k)) return k;
  return -1;
}
