/**
 * A reader and evaluator for the SBPL subset sbx emits, so profiles can be checked on
 * Linux: strings are read with SBPL/Scheme escapes (`\\`, `\"`), rules apply in order
 * and the last matching one wins. Deliberately strict: an unknown filter throws, so a
 * generator typo fails a test instead of silently matching nothing.
 */
export type Form = string | { str: string } | Form[];

export function parseSbpl(text: string): Form[] {
  let i = 0;
  const forms: Form[] = [];
  const stack: Form[][] = [forms];
  while (i < text.length) {
    const c = text[i]!;
    if (c === ';') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '(') {
      const list: Form[] = [];
      stack[stack.length - 1]!.push(list);
      stack.push(list);
      i++;
    } else if (c === ')') {
      if (stack.length === 1) throw new Error(`unbalanced ')' at ${i}`);
      stack.pop();
      i++;
    } else if (c === '"') {
      let s = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated string');
        const d = text[i]!;
        if (d === '\\') {
          s += text[i + 1];
          i += 2;
        } else if (d === '"') {
          i++;
          break;
        } else {
          s += d;
          i++;
        }
      }
      stack[stack.length - 1]!.push({ str: s });
    } else if (/\s/.test(c)) {
      i++;
    } else {
      let sym = '';
      while (i < text.length && !/[\s()";]/.test(text[i]!)) sym += text[i++];
      stack[stack.length - 1]!.push(sym);
    }
  }
  if (stack.length !== 1) throw new Error('unbalanced (');
  return forms;
}

/** Every string literal of a form tree, in order. */
export function strings(f: Form | Form[]): string[] {
  if (typeof f === 'string') return [];
  if (!Array.isArray(f)) return [f.str];
  return f.flatMap((x) => strings(x));
}

export type Request =
  | { op: string; path: string }
  | { op: 'network-outbound'; ip: { localhost: boolean; port: number } }
  | { op: 'network-outbound'; unix: string };

const str = (f: Form | undefined): string => {
  if (!f || typeof f === 'string' || Array.isArray(f)) throw new Error(`expected a string, got ${JSON.stringify(f)}`);
  return f.str;
};

function pathOf(r: Request): string | undefined {
  return 'path' in r ? r.path : undefined;
}

function filterMatches(f: Form, r: Request): boolean {
  if (!Array.isArray(f)) throw new Error(`not a filter: ${JSON.stringify(f)}`);
  const [head, ...args] = f;
  const path = pathOf(r);
  switch (head) {
    case 'subpath': {
      const p = str(args[0]);
      return path !== undefined && (p === '/' || path === p || path.startsWith(`${p}/`));
    }
    case 'literal':
      return path !== undefined && path === str(args[0]);
    case 'regex':
      return path !== undefined && new RegExp(str(args[0]), 'u').test(path);
    case 'require-any':
      return args.some((a) => filterMatches(a, r));
    case 'require-all':
      return args.every((a) => filterMatches(a, r));
    case 'require-not':
      if (args.length !== 1) throw new Error('require-not takes one filter');
      return !filterMatches(args[0]!, r);
    case 'remote': {
      const kind = args[0];
      if (kind === 'ip') {
        if (!('ip' in r)) return false;
        const [host, port] = str(args[1]).split(':');
        if (host !== '*' && host !== 'localhost') throw new Error(`Seatbelt refuses host ${host}`);
        if (port !== '*' && !/^\d+$/.test(port!)) throw new Error(`Seatbelt refuses port ${port}`);
        return (host === '*' || r.ip.localhost) && (port === '*' || Number(port) === r.ip.port);
      }
      if (kind === 'unix-socket') {
        if (!('unix' in r)) return false;
        if (args.length === 1) return true;
        const sub = args[1] as Form[];
        if (sub[0] === 'path-literal') return r.unix === str(sub[1]);
        if (sub[0] === 'path-regex') return new RegExp(str(sub[1]), 'u').test(r.unix);
        throw new Error(`unknown unix-socket filter ${JSON.stringify(sub)}`);
      }
      throw new Error(`unknown remote ${String(kind)}`);
    }
    default:
      throw new Error(`unknown filter ${JSON.stringify(head)}`);
  }
}

function opMatches(ruleOp: string, op: string): boolean {
  if (ruleOp === 'default') return true;
  if (ruleOp.endsWith('*')) return op.startsWith(ruleOp.slice(0, -1));
  return ruleOp === op;
}

/** The decision of a profile for one request: the last matching rule wins. */
export function evaluate(forms: Form[], r: Request): 'allow' | 'deny' {
  let decision: 'allow' | 'deny' | undefined;
  for (const form of forms) {
    if (!Array.isArray(form)) throw new Error(`stray top-level token ${JSON.stringify(form)}`);
    const [effect, ...rest] = form;
    if (effect === 'version') continue;
    if (effect !== 'allow' && effect !== 'deny') throw new Error(`unknown top-level form ${JSON.stringify(effect)}`);
    const ops = rest.filter((x): x is string => typeof x === 'string');
    const filters = rest.filter((x): x is Form[] => Array.isArray(x) && x[0] !== 'with');
    if (!ops.some((o) => opMatches(o, r.op))) continue;
    if (filters.length === 0 || filters.some((f) => filterMatches(f, r))) decision = effect;
  }
  if (!decision) throw new Error('no rule matched (a profile must start with a default)');
  return decision;
}
