/**
 * What would allow a denied operation, in words a person can act on: the exact edit (which
 * file, which section, which entry) or command. One owner for the suggestion shown at the
 * shell's next prompt, by `sbx why` and `sbx log`, and for the line a set-id program gets.
 *
 * A floor (protect list, sbx's own files, policy files in force) is never lifted by a policy
 * edit in a project: the suggestion says so and names the ways that need a person.
 */
import { HOME_CONFIG_ORIGIN } from './home-config.js';
import { GIT_DIR_RULE, OUTER_RULE, type CompiledPolicy, type PathSection } from './compiled.js';
import { ruleOrigin } from './describe-rule.js';

export interface DenialFacts {
  op: string;
  /** As logged: a path, "addr:port", "name (addr:port)", a pid. */
  target: string;
  /** Engine rule index: -2 built-in, -1 section default, else an origin index. */
  rule: number;
  policy: CompiledPolicy | undefined;
  /** The project (or `use`) file in force, if any: where an allow would go. */
  projectFile?: string;
  /** Whether that file is trusted (an untrusted file cannot widen). */
  trusted: boolean;
  /** The user's own policy file ($XDG_CONFIG_HOME/sbx/config.yaml). */
  userFile: string;
}

const OUTSIDE = 'run it from a terminal outside the sandbox';

function section(p: CompiledPolicy | undefined, op: string): PathSection | undefined {
  if (!p) return undefined;
  if (op === 'read') return p.read;
  if (op === 'write') return p.write;
  if (op === 'unix') return p.unix;
  return undefined;
}

function isFloor(p: CompiledPolicy | undefined, op: string, rule: number): boolean {
  const o = ruleOrigin(p, rule);
  if (o && o !== 'built-in' && (o.section === 'protect' || o.source.startsWith('built-in'))) return true;
  return section(p, op)?.rules.some((r) => r.rule === rule && r.floor) ?? false;
}

/** "name" from "name (1.2.3.4:443)", else the address without its port when it has one. */
function netEntry(target: string): string {
  const named = /^(\S+) \(/.exec(target);
  if (named) return named[1]!;
  return target;
}

/** Where an allow goes: the project file when one is in force, else the user's file. */
function home(f: DenialFacts): string {
  return f.projectFile ?? f.userFile;
}

function allowEdit(f: DenialFacts, op: string, entry: string): string {
  const key = op === 'unix' ? 'net.unix' : op;
  const edit = `add ${JSON.stringify(entry)} to ${key}.allow in ${home(f)}`;
  // An untrusted project file only narrows: the allow takes effect once the user trusts it.
  return f.projectFile && !f.trusted ? `${edit}, then \`sbx trust\` it (outside the sandbox)` : edit;
}

/** One clause: what would allow it. */
export function suggestFix(f: DenialFacts): string {
  if (f.rule === OUTER_RULE) return 'the enclosing session denies it: a nested `sbx exec` can only narrow, never widen; allow it in the session\'s policy first';
  if (f.rule === GIT_DIR_RULE)
    return `nothing to allow: a directory with a HEAD is a git repository to git run outside later, so its config may hold only the keys git init/clone write (${OUTSIDE} to configure it)`;
  if (f.rule === -2) return `nothing to allow: sbx refuses this for every sandboxed program (${OUTSIDE})`;
  const o = ruleOrigin(f.policy, f.rule);
  if (o && o !== 'built-in' && o.source === HOME_CONFIG_ORIGIN)
    return `tools load the home's dot-files outside later: ${OUTSIDE}; if nothing runs this one, add ${JSON.stringify(f.target)} to write.allow in ${f.userFile}`;
  if (isFloor(f.policy, f.op, f.rule)) {
    const where = o && o !== 'built-in' ? o.source : 'a floor';
    const user = o && o !== 'built-in' && o.source.startsWith(f.userFile) ? `; or remove it from protect in ${f.userFile}` : '';
    return `protected (${where}): no project policy lifts it; ${OUTSIDE}${user}`;
  }
  const byRule = o && o !== 'built-in' ? `remove ${JSON.stringify(o.text)} from ${o.section}.deny at ${o.source}` : undefined;
  switch (f.op) {
    // A deny rule: removing it is the edit (it also needs no trust: it only gives back the user's policy).
    case 'read':
    case 'write':
    case 'unix':
      return byRule ?? allowEdit(f, f.op, f.target);
    case 'net':
      return byRule ?? allowEdit(f, 'net', netEntry(f.target));
    case 'exec':
      return byRule ?? `add ${JSON.stringify(f.target)} to exec.allow in ${home(f)}`;
    default:
      return byRule ?? OUTSIDE;
  }
}

/** The line a set-id / file-capability program gets: why it cannot gain privileges, what to do instead. */
export function privilegedLine(program: string): string {
  const name = program.split('/').pop() ?? program;
  return (
    `sbx: ${name} (${program}) is set-id or has file capabilities: inside the sandbox it runs without them ` +
    `(no_new_privs), so it cannot gain privileges; ${OUTSIDE}`
  );
}
