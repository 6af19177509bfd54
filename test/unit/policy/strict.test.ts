/**
 * The strictest policy (src/policy/strict.ts): what a process sbx cannot place runs under.
 * Narrow on its own, and every read/exec deny of the session's policies folded in.
 */
import { describe, expect, it } from 'vitest';
import type { CompiledPolicy } from '../../../src/policy/compiled.js';
import { decideExec, decidePath } from '../../../src/policy/match.js';
import { strictestPolicy } from '../../../src/policy/strict.js';

function lax(id: number, p: Partial<CompiledPolicy> = {}): CompiledPolicy {
  return {
    id,
    mode: 'audit',
    read: { default: 'allow', rules: [] },
    write: { default: 'allow', rules: [] },
    exec: { default: 'allow', paths: [], programs: [] },
    net: { default: 'allow', rules: [] },
    unix: { default: 'allow', rules: [] },
    commands: [{ rule: 0, name: 'npm', policy: 9 }],
    origins: [{ source: '/p/.sbx.yaml', text: 'x', section: 'read' }],
    env: { deny: [], allow: [] },
    ...p,
  };
}

describe('strictestPolicy', () => {
  const session = [
    lax(1, {
      read: { default: 'allow', rules: [{ rule: 0, effect: 'deny', match: 'subtree', pattern: '/etc/secret-conf', floor: true }] },
      exec: { default: 'allow', paths: [{ rule: 0, effect: 'deny', match: 'subtree', pattern: '/usr/local/bin/tool', floor: false }], programs: [{ rule: 0, effect: 'deny', name: 'curl', args: [] }] },
    }),
    lax(2),
  ];
  const s = strictestPolicy(7, session);

  it('reads system paths only, and keeps every read deny of the session', () => {
    expect(decidePath(s.read, '/usr/lib/libc.so.6').effect).toBe('allow');
    expect(decidePath(s.read, '/etc/passwd').effect).toBe('allow');
    expect(decidePath(s.read, '/home/u/project/file').effect).toBe('deny');
    expect(decidePath(s.read, '/tmp/x').effect).toBe('deny');
    expect(decidePath(s.read, '/run/user/1000/bus').effect).toBe('deny');
    expect(decidePath(s.read, '/etc/secret-conf/key').effect).toBe('deny');
  });

  it('writes /dev/null only; no network, no Unix sockets, no overrides, enforce mode', () => {
    expect(decidePath(s.write, '/dev/null').effect).toBe('allow');
    expect(decidePath(s.write, '/tmp/x').effect).toBe('deny');
    expect(decidePath(s.write, '/dev/tty').effect).toBe('deny');
    expect(s.net).toEqual({ default: 'deny', rules: [] });
    expect(s.unix).toEqual({ default: 'deny', rules: [] });
    expect(s.commands).toEqual([]);
    expect(s.mode).toBe('enforce');
    expect(s.id).toBe(7);
  });

  it('runs system programs only, and keeps every exec deny of the session', () => {
    expect(decideExec(s.read, s.exec, '/usr/bin/ls', 'ls', ['ls']).effect).toBe('allow');
    expect(decideExec(s.read, s.exec, '/home/u/bin/tool', 'tool', ['tool']).effect).toBe('deny');
    expect(decideExec(s.read, s.exec, '/usr/bin/curl', 'curl', ['curl']).effect).toBe('deny');
    expect(decideExec(s.read, s.exec, '/usr/local/bin/tool', 'tool', ['tool']).effect).toBe('deny');
    // Folded rules say where they came from.
    const d = decidePath(s.read, '/etc/secret-conf/key');
    expect(s.origins[d.rule]?.source).toBe('/p/.sbx.yaml');
  });

  it('a system path is readable only where every policy of the session allows it: a user policy that denies / and allows a list does not find /opt readable (twin: /usr, which it allows)', () => {
    const listOnly = lax(3, {
      read: {
        default: 'deny',
        rules: [
          { rule: 0, effect: 'deny', match: 'subtree', pattern: '/', floor: false },
          { rule: 0, effect: 'allow', match: 'subtree', pattern: '/usr', floor: false },
          { rule: 0, effect: 'allow', match: 'subtree', pattern: '/home/u/project', floor: false },
        ],
      },
    });
    const t = strictestPolicy(8, [lax(1), listOnly]);
    expect(decidePath(t.read, '/opt/vendor/secret.txt').effect).toBe('deny');
    expect(decidePath(t.read, '/etc/passwd').effect).toBe('deny');
    expect(decidePath(t.read, '/usr/lib/libc.so.6').effect).toBe('allow');
    expect(decidePath(t.read, '/home/u/project/file').effect).toBe('deny'); // never wider than strict
  });
});
