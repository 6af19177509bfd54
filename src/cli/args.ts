/**
 * A small strict flag parser shared by the subcommands: every flag must be declared,
 * an unknown one is a UsageError (exit 2) naming it. `--` ends flags.
 */
import { UsageError } from '../errors.js';

export interface FlagSpec {
  /** Takes a value (`--flag=V` or `--flag V`). */
  value?: boolean;
  /** May be given more than once; values accumulate (comma lists are split when `list`). */
  repeat?: boolean;
  /** Split each value on commas. */
  list?: boolean;
  /** Short alias, e.g. "q". */
  short?: string;
}

export interface ParsedArgs {
  flags: Map<string, string[]>;
  positionals: string[];
  /** Everything after `--` (or after the first positional when stopAtPositional). */
  rest: string[];
}

export function parseArgs(
  argv: string[],
  spec: Record<string, FlagSpec>,
  usage: string,
  options: { stopAtPositional?: boolean } = {},
): ParsedArgs {
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  const shortToLong = new Map<string, string>();
  for (const [name, s] of Object.entries(spec)) if (s.short) shortToLong.set(s.short, name);

  const add = (name: string, value: string) => {
    const s = spec[name]!;
    const values = s.list ? value.split(',').filter((v) => v.length > 0) : [value];
    // `--allow-net="$HOSTS"` with HOSTS unset: an empty list would restrict nothing at all.
    if (s.list && s.value && values.length === 0) throw new UsageError(`--${name} names nothing (got '${value}'); an empty list would change nothing`, usage);
    const prev = flags.get(name);
    if (prev && !s.repeat) throw new UsageError(`--${name} given more than once`, usage);
    flags.set(name, [...(prev ?? []), ...values]);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return { flags, positionals, rest: argv.slice(i + 1) };
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const s = spec[name];
      if (!s) throw new UsageError(`unknown flag '--${name}'`, usage);
      if (s.value) {
        let value: string | undefined = eq === -1 ? argv[++i] : arg.slice(eq + 1);
        if (value === undefined) throw new UsageError(`--${name} needs a value`, usage);
        add(name, value);
      } else {
        if (eq !== -1) throw new UsageError(`--${name} takes no value (got '${arg.slice(eq + 1)}')`, usage);
        add(name, '');
      }
    } else if (arg.startsWith('-') && arg.length > 1) {
      const name = shortToLong.get(arg.slice(1));
      if (!name) throw new UsageError(`unknown flag '${arg}'`, usage);
      const s = spec[name]!;
      if (s.value) {
        const value = argv[++i];
        if (value === undefined) throw new UsageError(`${arg} needs a value`, usage);
        add(name, value);
      } else add(name, '');
    } else {
      positionals.push(arg);
      if (options.stopAtPositional) return { flags, positionals, rest: argv.slice(i + 1) };
    }
  }
  return { flags, positionals, rest: [] };
}

export function flag(parsed: ParsedArgs, name: string): boolean {
  return parsed.flags.has(name);
}

export function flagValue(parsed: ParsedArgs, name: string): string | undefined {
  const v = parsed.flags.get(name);
  return v === undefined ? undefined : v[v.length - 1];
}

export function flagValues(parsed: ParsedArgs, name: string): string[] {
  return parsed.flags.get(name) ?? [];
}
