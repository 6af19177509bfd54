/**
 * compiled.ts's path decision ("most specific wins") as a Seatbelt rule order.
 *
 * Seatbelt evaluates the rules for an operation in order and the LAST matching rule
 * decides. compiled.ts gives every matching rule a score (2 × depth of the matched prefix,
 * +1 for a subtree rule); the highest wins and deny wins ties; floors win always. So we
 * emit the section default first, then one "piece" per rule sorted by score ascending
 * with allow before deny at equal score, then floors last: the last piece that matches a
 * path is then exactly the rule compiled.ts picks.
 *
 * Subtree rules and globs without an interior `**` have one score for every path they
 * match. A glob with an interior `**` (e.g. `/p/**\/.env`) matches at a depth that varies,
 * and its score is set by the SHORTEST matching ancestor; it becomes one piece per depth
 * d ("matches at depth d and at no shallower depth", written with require-all /
 * require-not), placed at score 2d, up to `cap` = one more than the deepest fixed-score
 * rule of the section. Everything deeper is one "tail" piece at score 2·cap, above every
 * fixed rule. Exact except in one case: two interior-`**` globs that BOTH first match
 * a path deeper than `cap` tie in the tail band, where deny wins (compiled.ts would let
 * the deeper one win). That approximation can only deny more, never allow more.
 */
import type { Effect, PathRule } from '../../policy/compiled.js';
import { anyDepth, exactDepth, parseGlob } from './glob.js';
import { pathForms, regexEscape, str } from './sbpl.js';

/** How one kind of operation names paths: files use subpath/regex, sockets path-literal/path-regex. */
export interface Matcher {
  subtree(path: string): string[];
  regex(re: string): string;
}

export const fileMatcher: Matcher = {
  subtree: (p) => [`(subpath ${str(p)})`],
  regex: (re) => `(regex ${str(re, 'a path pattern')})`,
};

/** Sockets have no `subpath`: the path itself, or anything below it. */
export const socketMatcher: Matcher = {
  subtree: (p) => [
    `(remote unix-socket (path-literal ${str(p)}))`,
    `(remote unix-socket (path-regex ${str(`^${[...(p === '/' ? '' : p)].map(regexEscape).join('')}/`, 'a path pattern')}))`,
  ],
  regex: (re) => `(remote unix-socket (path-regex ${str(re, 'a path pattern')}))`,
};

export interface Piece {
  effect: Effect;
  score: number;
  /** SBPL filters; the piece matches when any of them does. */
  filters: string[];
  rule: number;
  floor: boolean;
  /** Written by sbx itself (PathRule.builtin): an audit-mode profile keeps its deny. */
  builtin?: boolean;
}

export function depth(path: string): number {
  return path.split('/').filter((s) => s !== '').length;
}

const any = (fs: string[]) => (fs.length === 1 ? fs[0]! : `(require-any ${fs.join(' ')})`);

/** Pieces for one section, in emission order (floors last). */
export function orderPieces(all: PathRule[], m: Matcher): Piece[] {
  // Exact rules (ancestors of floors, on Linux) have no Seatbelt form here: a profile is
  // fixed for the shell's life and Seatbelt decides on the path as the kernel resolves it.
  const rules = all.filter((r) => r.match !== 'exact');
  const globs = new Map<PathRule, ReturnType<typeof parseGlob>>();
  let deepest = 0;
  for (const r of rules) {
    if (r.match === 'subtree') deepest = Math.max(deepest, depth(r.pattern));
    else {
      const g = parseGlob(r.pattern);
      globs.set(r, g);
      if (g.globstars === 0) deepest = Math.max(deepest, g.minDepth);
    }
  }
  const cap = deepest + 1;
  const pieces: Piece[] = [];
  const floors: Piece[] = [];
  for (const r of rules) {
    const base = { effect: r.effect, rule: r.rule, floor: r.floor, ...(r.builtin ? { builtin: true } : {}) };
    if (r.floor && r.effect === 'deny') {
      // A floor wins whatever else matches: no ordering needed, it goes last.
      const filters =
        r.match === 'subtree'
          ? pathForms(r.pattern).flatMap(m.subtree)
          : pathForms(r.pattern).map((f) => m.regex(anyDepth(parseGlob(f))));
      floors.push({ ...base, score: Infinity, filters });
      continue;
    }
    if (r.match === 'subtree') {
      pieces.push({ ...base, score: 2 * depth(r.pattern) + 1, filters: pathForms(r.pattern).flatMap(m.subtree) });
      continue;
    }
    const g = globs.get(r)!;
    const forms = pathForms(r.pattern).map((f) => {
      const pg = parseGlob(f);
      return { g: pg, offset: pg.minDepth - g.minDepth };
    });
    if (g.globstars === 0) {
      pieces.push({ ...base, score: 2 * g.minDepth, filters: forms.map((f) => m.regex(anyDepth(f.g))) });
      continue;
    }
    const exact = (f: (typeof forms)[number], d: number) => exactDepth(f.g, d + f.offset).map(m.regex);
    const shallower = (f: (typeof forms)[number], d: number) => {
      const out: string[] = [];
      for (let k = g.minDepth; k < d; k++) out.push(...exact(f, k));
      return out;
    };
    const only = (f: (typeof forms)[number], hit: string, d: number) => {
      const not = shallower(f, d);
      return not.length === 0 ? hit : `(require-all ${hit} (require-not ${any(not)}))`;
    };
    for (let d = g.minDepth; d < cap; d++) {
      pieces.push({ ...base, score: 2 * d, filters: forms.map((f) => only(f, any(exact(f, d)), d)) });
    }
    pieces.push({
      ...base,
      score: 2 * Math.max(cap, g.minDepth),
      filters: forms.map((f) => only(f, m.regex(anyDepth(f.g)), Math.max(cap, g.minDepth))),
    });
  }
  pieces.sort((a, b) => a.score - b.score || (a.effect === b.effect ? 0 : a.effect === 'allow' ? -1 : 1));
  return [...pieces, ...floors];
}

/**
 * One filter expression true exactly when the section DENIES the path: the decision list
 * folded from the first piece to the last (a later match overrides). Used where Seatbelt
 * needs another section's answer as a condition (a program runs only if it can be read).
 * `true`/`false` when the answer does not depend on the path.
 */
export function deniedExpr(def: Effect, pieces: Piece[]): string | boolean {
  type Node = boolean | string | { op: 'require-any' | 'require-all'; kids: Node[] };
  const join = (op: 'require-any' | 'require-all', a: Node, b: Node): Node => {
    const kids = (n: Node) => (typeof n === 'object' && n.op === op ? n.kids : [n]);
    return { op, kids: [...kids(a), ...kids(b)] };
  };
  let e: Node = def === 'deny';
  for (const p of pieces) {
    const hit = any(p.filters);
    if (p.effect === 'deny') e = e === true ? true : e === false ? hit : join('require-any', hit, e);
    else e = e === false ? false : e === true ? `(require-not ${hit})` : join('require-all', `(require-not ${hit})`, e);
  }
  const show = (n: Node): string => (typeof n === 'string' ? n : typeof n === 'boolean' ? String(n) : `(${n.op} ${n.kids.map(show).join(' ')})`);
  return typeof e === 'boolean' ? e : show(e);
}
