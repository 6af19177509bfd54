/**
 * The native decidePath against the algorithm documented in src/policy/compiled.ts:
 * floors, score = 2*depth + subtree bonus, deny wins ties, glob syntax and ancestors.
 * The rows are plain data so the TS twin can be checked against the same table.
 */
import { describe, expect, it } from 'vitest';
import type { PathRule, PathSection } from '../../src/policy/compiled.js';
import { nativeDecidePath } from '../../src/native/engine.js';

const sub = (rule: number, effect: 'allow' | 'deny', pattern: string, floor = false): PathRule => ({
  rule,
  effect,
  match: 'subtree',
  pattern,
  floor,
});
const glob = (rule: number, effect: 'allow' | 'deny', pattern: string, floor = false): PathRule => ({
  rule,
  effect,
  match: 'glob',
  pattern,
  floor,
});

const exact = (rule: number, pattern: string): PathRule => ({ rule, effect: 'deny', match: 'exact', pattern, floor: true });

type Row = [name: string, section: PathSection, path: string, effect: 'allow' | 'deny', rule: number];

export const decidePathTable: Row[] = [
  ['no rules: default allow', { default: 'allow', rules: [] }, '/a/b', 'allow', -1],
  ['no rules: default deny', { default: 'deny', rules: [] }, '/a/b', 'deny', -1],
  ['subtree matches itself', { default: 'allow', rules: [sub(0, 'deny', '/a')] }, '/a', 'deny', 0],
  ['subtree matches below', { default: 'allow', rules: [sub(0, 'deny', '/a')] }, '/a/b/c', 'deny', 0],
  ['subtree is not a string prefix', { default: 'allow', rules: [sub(0, 'deny', '/a')] }, '/ab', 'allow', -1],
  ['root subtree matches everything', { default: 'deny', rules: [sub(0, 'allow', '/')] }, '/x/y', 'allow', 0],
  ['deeper rule wins (allow inside deny)', { default: 'allow', rules: [sub(0, 'deny', '/h/.ssh'), sub(1, 'allow', '/h/.ssh/known_hosts')] }, '/h/.ssh/known_hosts', 'allow', 1],
  ['deeper rule wins (deny inside allow)', { default: 'deny', rules: [sub(0, 'allow', '/p'), sub(1, 'deny', '/p/.git/hooks')] }, '/p/.git/hooks/pre-commit', 'deny', 1],
  ['sibling of the deeper rule keeps the outer', { default: 'deny', rules: [sub(0, 'allow', '/p'), sub(1, 'deny', '/p/.git/hooks')] }, '/p/.git/config', 'allow', 0],
  ['equal subtree: deny beats allow', { default: 'allow', rules: [sub(0, 'allow', '/a'), sub(1, 'deny', '/a')] }, '/a/x', 'deny', 1],
  ['equal subtree, deny first', { default: 'allow', rules: [sub(0, 'deny', '/a'), sub(1, 'allow', '/a')] }, '/a/x', 'deny', 0],
  ['literal beats glob at equal depth', { default: 'allow', rules: [glob(0, 'deny', '/a/*'), sub(1, 'allow', '/a/b')] }, '/a/b', 'allow', 1],
  ['glob at greater depth beats subtree', { default: 'allow', rules: [sub(0, 'allow', '/a'), glob(1, 'deny', '/a/*.env')] }, '/a/x.env', 'deny', 1],
  ['glob matches an ancestor: below it too', { default: 'allow', rules: [glob(0, 'deny', '/p/**/.env')] }, '/p/a/b/.env/inner', 'deny', 0],
  ['** matches zero segments', { default: 'allow', rules: [glob(0, 'deny', '/p/**/.env')] }, '/p/.env', 'deny', 0],
  ['** matches many segments', { default: 'allow', rules: [glob(0, 'deny', '/p/**/.env')] }, '/p/a/b/c/.env', 'deny', 0],
  ['* does not cross /', { default: 'allow', rules: [glob(0, 'deny', '/p/*/x')] }, '/p/a/b/x', 'allow', -1],
  ['* matches dotfiles', { default: 'allow', rules: [glob(0, 'deny', '/h/*')] }, '/h/.bashrc', 'deny', 0],
  ['? is one character', { default: 'allow', rules: [glob(0, 'deny', '/a/?.txt')] }, '/a/b.txt', 'deny', 0],
  ['? is exactly one character', { default: 'allow', rules: [glob(0, 'deny', '/a/?.txt')] }, '/a/bb.txt', 'allow', -1],
  ['escaped * is literal', { default: 'allow', rules: [glob(0, 'deny', '/a/\\*')] }, '/a/*', 'deny', 0],
  ['escaped * does not match others', { default: 'allow', rules: [glob(0, 'deny', '/a/\\*')] }, '/a/b', 'allow', -1],
  ['a** inside a segment is just *', { default: 'allow', rules: [glob(0, 'deny', '/a/x**')] }, '/a/x/y', 'deny', 0],
  ['glob depth is the shortest matching ancestor', { default: 'allow', rules: [glob(0, 'deny', '/a/**'), sub(1, 'allow', '/a/b')] }, '/a/b/c', 'allow', 1],
  ['floor deny beats a deeper allow', { default: 'allow', rules: [sub(0, 'deny', '/h/.ssh', true), sub(1, 'allow', '/h/.ssh/known_hosts')] }, '/h/.ssh/known_hosts', 'deny', 0],
  ['floor allow is not special', { default: 'deny', rules: [sub(0, 'allow', '/a', true), sub(1, 'deny', '/a/b')] }, '/a/b', 'deny', 1],
  ['first matching floor is reported', { default: 'allow', rules: [sub(0, 'deny', '/a', true), sub(1, 'deny', '/a/b', true)] }, '/a/b', 'deny', 0],
  ['abstract unix name with @*', { default: 'deny', rules: [glob(0, 'allow', '@*')] }, '@dbus-xyz', 'allow', 0],
  ['abstract subtree', { default: 'allow', rules: [sub(0, 'deny', '@docker')] }, '@docker', 'deny', 0],
  ['exact: the path itself', { default: 'allow', rules: [exact(0, '/h/.config')] }, '/h/.config', 'deny', 0],
  ['exact: nothing below', { default: 'allow', rules: [exact(0, '/h/.config')] }, '/h/.config/sbx/config.yaml', 'allow', -1],
  ['exact glob: any .git itself', { default: 'allow', rules: [exact(0, '/**/.git')] }, '/a/b/.git', 'deny', 0],
  ['exact glob: not inside .git', { default: 'allow', rules: [exact(0, '/**/.git')] }, '/a/b/.git/index', 'allow', -1],
];

describe('native decidePath (compiled.ts algorithm)', () => {
  it.each(decidePathTable)('%s', (_name, section, path, effect, rule) => {
    expect(nativeDecidePath(section, path)).toEqual({ effect, rule });
  });

  it('rejects malformed sections with a clear error naming the field', () => {
    expect(() => nativeDecidePath({ default: 'maybe' } as never, '/a')).toThrow(/section.default: must be 'allow' or 'deny'/);
    expect(() =>
      nativeDecidePath({ default: 'allow', rules: [{ rule: 0, effect: 'deny', match: 'prefix', pattern: '/a', floor: false } as never] }, '/a'),
    ).toThrow(/section.rules\[0\].match/);
  });
});
