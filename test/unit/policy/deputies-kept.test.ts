/**
 * currentDeputyPatterns (src/policy/deputies.ts): every session start finishes its policy
 * with the deputies' socket patterns, so the last answer is kept — but only while each
 * variable it read and each path it made canonical are what they were.
 */
import { mkdirSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentDeputyPatterns, deputyPatterns } from '../../../src/policy/deputies.js';
import { tempWorld } from './helpers.js';

const patterns = (ps: readonly { pattern: string }[]) => ps.map((p) => p.pattern);

describe('currentDeputyPatterns', () => {
  it('answers as deputyPatterns; kept while nothing changed; new after a repointed directory or a changed variable', () => {
    const w = tempWorld();
    const run = join(w.root, 'run');
    mkdirSync(join(run, 'gnupg'), { recursive: true });
    mkdirSync(join(w.root, 'elsewhere'));
    const env = { ...w.env, SSH_AUTH_SOCK: join(run, 'agent.sock') };

    const first = currentDeputyPatterns(env);
    expect(first).toEqual(deputyPatterns(env));
    expect(currentDeputyPatterns({ ...env })).toBe(first); // same values: the kept answer

    // The runtime dir's gnupg becomes a link elsewhere: its sockets are matched there now.
    renameSync(join(run, 'gnupg'), join(run, 'gnupg.old'));
    symlinkSync(join(w.root, 'elsewhere'), join(run, 'gnupg'));
    const relinked = currentDeputyPatterns(env);
    expect(relinked).not.toBe(first);
    expect(relinked).toEqual(deputyPatterns(env));
    expect(patterns(relinked)).toContain(`${join(w.root, 'elsewhere')}/**`);
    expect(patterns(first)).not.toContain(`${join(w.root, 'elsewhere')}/**`);

    // Another agent socket: a new answer naming it.
    const moved = { ...env, SSH_AUTH_SOCK: join(w.root, 'other.sock') };
    const again = currentDeputyPatterns(moved);
    expect(again).toEqual(deputyPatterns(moved));
    expect(again.some((p) => p.literal === join(w.root, 'other.sock'))).toBe(true);
    expect(relinked.some((p) => p.literal === join(w.root, 'other.sock'))).toBe(false);
  });
});
