/**
 * Cached policies are shared between sessions (src/supervisor/shared-policy.ts): each session
 * gets its own ids and command targets, the rest is one frozen copy. Shown on the real caches
 * (PolicyCache for a directory, ExecPolicyCache for `sbx exec`) with the real renumbering a
 * session does (InstalledPolicies.setEntry).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExecPolicyCache } from '../../../src/supervisor/exec-policy-cache.js';
import { InstalledPolicies } from '../../../src/supervisor/installed.js';
import { PolicyCache } from '../../../src/supervisor/policy-cache.js';
import { freezeShared, sessionCopy } from '../../../src/supervisor/shared-policy.js';
import { tempWorld } from '../policy/helpers.js';

const settle = () => new Promise((r) => setTimeout(r, 1100));

describe('freezeShared', () => {
  it('freezes every plain object and array reachable, and leaves Maps and byte arrays usable', () => {
    const shared = freezeShared({ a: { b: [1, { c: 2 }] }, m: new Map([['k', 'v']]), bytes: new Uint8Array([1, 2]) });
    expect(Object.isFrozen(shared.a.b[1])).toBe(true);
    expect(() => {
      (shared.a.b[1] as { c: number }).c = 3;
    }).toThrow(TypeError);
    expect(() => (shared.a.b as unknown[]).push(4)).toThrow(TypeError);
    shared.bytes[0] = 9; // not frozen (cannot be), and not something a policy is written through
    expect(shared.m.get('k')).toBe('v');
  });
});

describe('a policy shared by the caches', () => {
  it('PolicyCache: two sessions renumbering their copies (as setEntry does) keep their own ids and command targets; the shared rules refuse writes', async () => {
    const w = tempWorld();
    w.write('home/.config/sbx/config.yaml', 'version: 1\ncommands:\n  make: { write: { deny: ["/tmp"] } }\n');
    const proj = join(w.root, 'p');
    w.write('p/.sbx.yaml', 'version: 1\nread:\n  deny: ["secret"]\n');
    await settle();
    const cache = new PolicyCache(w.env);
    const a = (await cache.get({ kind: 'dir', dir: proj })).resolved;
    const b = (await cache.get({ kind: 'dir', dir: proj })).resolved;
    expect(a.overrides.length).toBe(1);
    const built = { main: a.main.id, override: a.overrides[0]!.id, target: a.main.commands[0]!.policy };
    expect(built.target).toBe(built.override);

    const first = new InstalledPolicies();
    first.nextId = 100;
    first.setEntry('k', a, 1);
    const second = new InstalledPolicies();
    second.nextId = 200;
    second.setEntry('k', b, 1);
    expect([a.main.id, a.overrides[0]!.id, a.main.commands[0]!.policy]).toEqual([100, 101, 101]);
    expect([b.main.id, b.overrides[0]!.id, b.main.commands[0]!.policy]).toEqual([200, 201, 201]);
    // A third session still gets the ids as built.
    const c = (await cache.get({ kind: 'dir', dir: proj })).resolved;
    expect([c.main.id, c.overrides[0]!.id, c.main.commands[0]!.policy]).toEqual([built.main, built.override, built.target]);
    // Everything else is shared, and frozen: a write to it throws instead of reaching the next session.
    expect(c.main.read).toBe(a.main.read);
    expect(() => c.main.read.rules.push(c.main.read.rules[0]!)).toThrow(TypeError);
    expect(() => {
      (c.main as { mode: string }).mode = 'audit'; // the session's own object: allowed
    }).not.toThrow();
    expect(a.main.mode).toBe('enforce');
  });

  it('ExecPolicyCache: each hit is a session copy of one frozen build', async () => {
    const w = tempWorld();
    const proj = join(w.root, 'p');
    w.write('p/.sbx.yaml', 'version: 1\nread:\n  deny: ["secret"]\n');
    await settle();
    const cache = new ExecPolicyCache();
    const src = { kind: 'exec' as const, cwd: proj, args: ['--deny-net', '--', 'true'] };
    await cache.resolve(src, w.env);
    const a = await cache.resolve(src, w.env);
    const b = await cache.resolve(src, w.env);
    expect([cache.misses, cache.hits]).toEqual([1, 2]);
    a.main.id = 7;
    expect(b.main.id).not.toBe(7);
    expect(b.main.write).toBe(a.main.write);
    expect(() => b.main.write.rules.pop()).toThrow(TypeError);
  });

  it('sessionCopy copies the top level, each policy and its commands, nothing deeper', () => {
    const shared = freezeShared({ key: 'k', main: { id: 1, commands: [{ policy: 2 }], read: { rules: [] } }, overrides: [{ id: 2, commands: [], read: { rules: [] } }] });
    const copy = sessionCopy(shared as never) as unknown as typeof shared;
    copy.main.id = 5;
    copy.main.commands[0]!.policy = 6;
    copy.overrides[0]!.id = 6;
    expect([shared.main.id, shared.main.commands[0]!.policy, shared.overrides[0]!.id]).toEqual([1, 2, 2]);
    expect(copy.main.read).toBe(shared.main.read);
  });
});
