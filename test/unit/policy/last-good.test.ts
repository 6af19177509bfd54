/**
 * Broken policy files: the last good version of THAT file stays in force (parse errors and
 * entry errors alike); with none, the strict fallback — never the defaults. The store in
 * sbx's state survives a new process (a supervisor restart), and the CLI only reads it.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolvePolicyForDir } from '../../../src/policy/index.js';
import { memoryLastGood, stateLastGood } from '../../../src/policy/last-good.js';
import { decidePath } from '../../../src/policy/match.js';
import { decideNet } from '../../../src/policy/net-match.js';
import { tempWorld, tmpSample } from './helpers.js';

function world() {
  const w = tempWorld('/var/tmp');
  const proj = join(w.home, 'p');
  mkdirSync(proj, { recursive: true });
  const file = join(proj, '.sbx.yaml');
  return { w, proj, file };
}

describe('last good per file', () => {
  it('a YAML error keeps the last good version of that file; the user file is untouched', async () => {
    const { w, proj, file } = world();
    const store = memoryLastGood();
    const user = w.write('home/.config/sbx/config.yaml', 'version: 1\nread: { deny: ["~/private"] }\n');
    writeFileSync(file, 'version: 1\nread: { deny: ["secret"] }\n');
    const opts = { env: w.env, onBroken: 'keep' as const, lastGood: store };
    let r = await resolvePolicyForDir(proj, opts);
    expect(r.broken).toEqual([]);
    expect(store.versions.has(file)).toBe(true);
    expect(store.versions.has(user)).toBe(true);

    writeFileSync(file, 'version: 1\nread: { deny: [secret\n');
    r = await resolvePolicyForDir(proj, opts);
    expect(r.broken).toHaveLength(1);
    expect(r.broken[0]).toMatchObject({ file, kept: 'last good' });
    expect(r.broken[0]!.issues[0]).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: yaml`));
    expect(decidePath(r.policy.read, join(proj, 'secret')).effect).toBe('deny');
    expect(decidePath(r.policy.read, join(w.home, 'private')).effect).toBe('deny');
    expect(decidePath(r.policy.read, join(proj, 'other')).effect).toBe('allow'); // the twin
    // The file in force is still protected while broken.
    expect(decidePath(r.policy.write, file).effect).toBe('deny');
  });

  it('an entry error (found while compiling) keeps the last good version too', async () => {
    const { w, proj, file } = world();
    const store = memoryLastGood();
    const opts = { env: w.env, onBroken: 'keep' as const, lastGood: store };
    writeFileSync(file, 'version: 1\nnet: { allow: ["github.com"] }\n');
    await resolvePolicyForDir(proj, opts);
    writeFileSync(file, 'version: 1\nnet: { allow: ["https://github.com"] }\n');
    const r = await resolvePolicyForDir(proj, opts);
    expect(r.broken[0]).toMatchObject({ kept: 'last good' });
    expect(r.broken[0]!.issues[0]).toContain(`${file}:2:16: net.allow[0]: not a host`);
    expect(r.policy.net.default).toBe('deny');
    expect(r.policy.net.hosts?.map((h) => h.pattern)).toEqual(['github.com']);
  });

  it('no good version known: the strict fallback (project and temp dirs only, no network), never the defaults', async () => {
    const { w, proj, file } = world();
    writeFileSync(file, 'version: 1\nraed: {}\n');
    const r = await resolvePolicyForDir(proj, { env: w.env, onBroken: 'keep', lastGood: memoryLastGood() });
    expect(r.broken[0]).toMatchObject({ file, kept: 'strict fallback' });
    expect(r.origin).toContain('broken: strict fallback');
    const elsewhere = join('/srv', 'x');
    expect(decidePath(r.policy.read, join(proj, 'src/a.ts')).effect).toBe('allow');
    expect(decidePath(r.policy.write, join(proj, 'out.js')).effect).toBe('allow');
    expect(decidePath(r.policy.write, tmpSample()).effect).toBe('allow');
    expect(decidePath(r.policy.read, '/usr/bin/env').effect).toBe('allow');
    expect(decidePath(r.policy.read, elsewhere).effect).toBe('deny');
    expect(decidePath(r.policy.write, elsewhere).effect).toBe('deny');
    expect(decideNet(r.policy.net, '93.184.215.14', 443).effect).toBe('deny');
    expect(decidePath(r.policy.unix, '/run/x.sock').effect).toBe('deny');
    // Its twin, the defaults (no file): all of it allowed.
    const { w: w2, proj: p2 } = world();
    const d = await resolvePolicyForDir(p2, { env: w2.env, onBroken: 'keep' });
    expect(decidePath(d.policy.read, elsewhere).effect).toBe('allow');
    expect(decideNet(d.policy.net, '93.184.215.14', 443).effect).toBe('allow');
  });

  it('the strict fallback never widens the user policy', async () => {
    const { w, proj, file } = world();
    w.write('home/.config/sbx/config.yaml', 'version: 1\nwrite: { allow: ["~/work"] }\n');
    writeFileSync(file, 'version: 1\nraed: {}\n');
    const r = await resolvePolicyForDir(proj, { env: w.env, onBroken: 'keep' });
    expect(decidePath(r.policy.write, join(proj, 'x')).effect).toBe('deny'); // the user did not allow the project
    expect(r.dropped.some((d) => d.includes('strict fallback'))).toBe(true);
  });

  it("a last good version that no longer compiles gives way to the fallback; onBroken 'throw' throws", async () => {
    const { w, proj, file } = world();
    const store = memoryLastGood();
    store.put(file, 'version: 1\nread: { deny: ["$GONE/x"] }\n', 'x'.repeat(64));
    writeFileSync(file, 'version: 1\nraed: {}\n');
    const r = await resolvePolicyForDir(proj, { env: w.env, onBroken: 'keep', lastGood: store });
    expect(r.broken[0]).toMatchObject({ kept: 'strict fallback' });
    await expect(resolvePolicyForDir(proj, { env: w.env })).rejects.toMatchObject({ issues: [expect.stringContaining(`${file}:2:1: raed: unknown key`)] });
  });

  it("sbx's state keeps it across processes; a read-only store (the CLI) reads but never writes", async () => {
    const { w, proj, file } = world();
    writeFileSync(file, 'version: 1\nread: { deny: ["secret"] }\n');
    await resolvePolicyForDir(proj, { env: w.env, onBroken: 'keep', lastGood: stateLastGood(w.env, false) });
    expect(stateLastGood(w.env, false).get(file)).toBeUndefined();
    await resolvePolicyForDir(proj, { env: w.env, onBroken: 'keep', lastGood: stateLastGood(w.env, true) });
    writeFileSync(file, 'version: 1\nread: { deny: [secret\n');
    const r = await resolvePolicyForDir(proj, { env: w.env, onBroken: 'keep', lastGood: stateLastGood(w.env, false) });
    expect(r.broken[0]).toMatchObject({ kept: 'last good' });
    expect(decidePath(r.policy.read, join(proj, 'secret')).effect).toBe('deny');
  });

  it('a last good version holds only in the same directory: another repository cloned where the project was, with a broken file, gets the strict fallback (twin: the same directory with the file fixed and broken again keeps it)', async () => {
    const { w, proj, file } = world();
    writeFileSync(file, 'version: 1\nread: { allow: ["~/private/token"] }\n');
    await resolvePolicyForDir(proj, { env: w.env, onBroken: 'keep', lastGood: stateLastGood(w.env, true) });
    // The twin: broken in place, the last good version stays.
    writeFileSync(file, 'version: 1\nread: { deny: [oops\n');
    let r = await resolvePolicyForDir(proj, { env: w.env, onBroken: 'keep', lastGood: stateLastGood(w.env, true) });
    expect(r.broken[0]).toMatchObject({ kept: 'last good' });
    // The project moved away; another one cloned at the same path, its file broken on purpose.
    renameSync(proj, `${proj}-old`);
    mkdirSync(proj);
    writeFileSync(file, 'version: 1\nread: { deny: [oops\n');
    for (const writable of [true, false]) {
      r = await resolvePolicyForDir(proj, { env: w.env, onBroken: 'keep', lastGood: stateLastGood(w.env, writable) });
      expect(r.broken[0]).toMatchObject({ kept: 'strict fallback' });
    }
    // Removed and made again at once: ext4 gives the new directory the freed inode number.
    rmSync(proj, { recursive: true });
    renameSync(`${proj}-old`, proj);
    writeFileSync(file, 'version: 1\nread: { allow: ["~/private/token"] }\n');
    await resolvePolicyForDir(proj, { env: w.env, onBroken: 'keep', lastGood: stateLastGood(w.env, true) });
    rmSync(proj, { recursive: true });
    mkdirSync(proj);
    writeFileSync(file, 'version: 1\nread: { deny: [oops\n');
    r = await resolvePolicyForDir(proj, { env: w.env, onBroken: 'keep', lastGood: stateLastGood(w.env, false) });
    expect(r.broken[0]).toMatchObject({ kept: 'strict fallback' });
  });
});
