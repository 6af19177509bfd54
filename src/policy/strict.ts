/**
 * The strictest policy of a session: what a process runs under when the engine cannot
 * place it (DESIGN invariant 4: never a default). In practice that is a process whose
 * policy tag was changed from outside the sandbox, or whose tag a restarted supervisor
 * could not read back; a process's policy is otherwise fixed when it is created
 * (native/unotify/src/addon/procs.h).
 *
 * Fixed and narrow:
 *   read   system paths only: /usr /bin /sbin /lib* /etc /opt /nix, and /proc and /dev
 *          (a process's own /proc entries; other processes' are refused by the engine)
 *   write  /dev/null only
 *   exec   programs under /usr /bin /sbin only
 *   — each of those only where every policy of the session allows it
 *   net    nothing; Unix sockets nothing
 *   no `commands:` overrides (an exec never leaves it), enforce mode even in an audit session
 * plus every read deny and every exec deny (paths and programs) of the policies the session
 * has, so a secret inside a system path that any of them denies stays denied here too.
 */
import type { CompiledPolicy, ExecImageId, PathRule, PathSection, ProgramRule, RuleOrigin } from './compiled.js';
import { decidePath } from './match.js';

export const STRICT_READ_PATHS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt', '/nix', '/proc', '/dev'];
export const STRICT_WRITE_PATHS = ['/dev/null'];
export const STRICT_EXEC_PATHS = ['/usr', '/bin', '/sbin'];

/** What `sbx log` and `sbx status` call it. */
export const STRICT_ORIGIN = 'strictest policy (a process sbx could not place)';

export function strictestPolicy(id: number, session: CompiledPolicy[]): CompiledPolicy {
  const origins: RuleOrigin[] = [
    { source: `built-in: ${STRICT_ORIGIN}`, text: 'system paths only', section: 'read' },
    { source: `built-in: ${STRICT_ORIGIN}`, text: '/dev/null only', section: 'write' },
    { source: `built-in: ${STRICT_ORIGIN}`, text: 'system programs only', section: 'exec' },
  ];
  const allow = (paths: string[], rule: number): PathRule[] => paths.map((pattern) => ({ rule, effect: 'allow', match: 'subtree', pattern, floor: false }));
  // A system path is in only where every policy of the session allows it (a user policy
  // that denies / and allows a list must not find /opt readable here).
  const others = session.filter((p) => p.id !== id);
  const everywhere = (paths: string[], section: (p: CompiledPolicy) => PathSection) =>
    paths.filter((path) => others.every((p) => decidePath(section(p), path).effect === 'allow'));
  const read = allow(everywhere(STRICT_READ_PATHS, (p) => p.read), 0);
  const write = allow(everywhere(STRICT_WRITE_PATHS, (p) => p.write), 1);
  const execPaths = allow(everywhere(STRICT_EXEC_PATHS, (p) => ({ default: p.exec.default, rules: p.exec.paths })), 2);
  const programs: ProgramRule[] = [];
  const seen = new Set<string>();
  const origin = (p: CompiledPolicy, rule: number): number => {
    const o = rule >= 0 ? p.origins[rule] : undefined;
    origins.push(o ?? { source: `built-in: ${STRICT_ORIGIN}`, text: '', section: 'read' });
    return origins.length - 1;
  };
  const loaders = new Map<string, ExecImageId>();
  for (const p of session) {
    if (p.id === id) continue;
    for (const l of p.exec.loaders ?? []) loaders.set(`${l.dev}:${l.ino}`, l);
    for (const r of p.read.rules) {
      const k = `read ${r.match} ${r.pattern} ${r.floor}`;
      if (r.effect !== 'deny' || seen.has(k)) continue;
      seen.add(k);
      read.push({ ...r, rule: origin(p, r.rule) });
    }
    for (const r of p.exec.paths) {
      const k = `exec ${r.match} ${r.pattern} ${r.floor}`;
      if (r.effect !== 'deny' || seen.has(k)) continue;
      seen.add(k);
      execPaths.push({ ...r, rule: origin(p, r.rule) });
    }
    for (const r of p.exec.programs) {
      const k = `program ${r.name} ${r.args.join('\0')}`;
      if (r.effect !== 'deny' || seen.has(k)) continue;
      seen.add(k);
      programs.push({ ...r, args: [...r.args], rule: origin(p, r.rule) }); // images and tool come along
    }
  }
  return {
    id,
    mode: 'enforce',
    read: { default: 'deny', rules: read },
    write: { default: 'deny', rules: write },
    exec: { default: 'deny', paths: execPaths, programs, ...(loaders.size > 0 ? { loaders: [...loaders.values()] } : {}) },
    net: { default: 'deny', rules: [] },
    unix: { default: 'deny', rules: [] },
    commands: [],
    origins,
    env: { deny: [], allow: [] },
  };
}
