/**
 * Policy files the user named (`sbx exec --policy FILE`, direnv's `use sandbox FILE`) are
 * recorded in the trust db (src/policy/trust.ts) and are then floors in every sandbox, as the
 * trusted ones are; `sbx untrust` forgets them.
 */
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolvePolicy } from '../../../src/policy/index.js';
import { decidePath } from '../../../src/policy/match.js';
import { isTrusted, recordNamedPolicyFiles, trustedPaths, untrust } from '../../../src/policy/trust.js';
import { tempWorld } from './helpers.js';

describe('named policy files', () => {
  it('a recorded file is a write floor for another directory\'s policy; untrust ends it; twin: a file beside it', async () => {
    const w = tempWorld();
    const named = w.write('policies/agent.yaml', 'version: 1\n');
    const beside = w.write('policies/notes.txt', 'x\n');
    const other = w.write('proj/README', 'x\n').replace(/\/README$/, '');
    const writable = async () => (await resolvePolicy({ dir: other }, { env: w.env })).policy.write;
    expect(decidePath(await writable(), named).effect).toBe('allow');
    recordNamedPolicyFiles([named], w.env);
    recordNamedPolicyFiles([named], w.env); // once
    expect(trustedPaths(w.env)).toEqual([named]);
    expect(isTrusted(named, 'x', w.env)).toBe(false); // named, not trusted by content
    expect(decidePath(await writable(), named).effect).toBe('deny');
    expect(decidePath(await writable(), beside).effect).toBe('allow');
    expect(untrust(named, w.env)).toBe(true);
    expect(decidePath(await writable(), named).effect).toBe('allow');
  });
});

describe('a `use` file the trust db cannot record', () => {
  it('is said as a warning of the build a session starts under (twin: recorded, no warning)', async () => {
    const { resolveSourceWithFacts } = await import('../../../src/supervisor/policies.js');
    const w = tempWorld();
    const file = w.write('proj/agent.yaml', 'version: 1\n');
    const dir = dirname(file);
    const ok = await resolveSourceWithFacts({ kind: 'use', dir, file: 'agent.yaml' }, w.env);
    expect(ok.resolved.warnings).toEqual([]);
    expect(trustedPaths(w.env)).toEqual([file]);
    // A state dir under a regular file: the db reads as empty and cannot be written.
    const blocked = { ...w.env, XDG_STATE_HOME: join(w.write('state-file', 'x\n'), 'state') };
    const bad = await resolveSourceWithFacts({ kind: 'use', dir, file: 'agent.yaml' }, blocked);
    expect(bad.resolved.warnings).toHaveLength(1);
    expect(bad.resolved.warnings[0]).toContain(`${file} is protected in this sandbox only: `);
  });
});
