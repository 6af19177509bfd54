/**
 * TOCTOU races against the engine (DESIGN invariant 1), 10 s each through
 * `./bin/sbx exec`: threads flip a path / sockaddr between an allowed and a denied
 * target while other threads use it. The denied target must never be reached; the
 * allowed one must be (so a sandbox that refuses everything fails too).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bannerServer, fixture, fixturesBin, raceCounts, run, sbxExec, tempWorld } from './exec-helpers.js';

const SECONDS = '10';
const THREADS = '4';
const world = tempWorld('sbx-race-');
const allowDir = join(world.dir, 'allow');
const denyDir = join(world.dir, 'deny_'); // same length as allowDir: every flip is a whole path
const exec = (args: string[]) => sbxExec(args, { env: world.env, cwd: world.dir });

beforeAll(() => {
  mkdirSync(allowDir);
  mkdirSync(denyDir);
  writeFileSync(join(allowDir, 'f'), 'ALLOWED\n');
  writeFileSync(join(denyDir, 'f'), 'SECRET\n');
  copyFileSync(fixture('exit_allowed'), join(allowDir, 'p'));
  copyFileSync(fixture('exit_denied'), join(denyDir, 'p'));
});
afterAll(() => world.cleanup());

describe('races (10 s each)', () => {
  it('open: flipping the path buffer never reads the denied file', { timeout: 60_000 }, async () => {
    const args = [join(allowDir, 'f'), join(denyDir, 'f'), SECONDS, THREADS];
    // Outside the sandbox the same program reads both (the fixture really races).
    const out = raceCounts((await run(fixture('race_open'), [args[0]!, args[1]!, '1', THREADS])).stdout);
    expect(out.leaked).toBeGreaterThan(0);
    const r = await exec(['--deny-read', `--allow-read=${allowDir},${fixturesBin}`, '--quiet', '--', fixture('race_open'), ...args]);
    const c = raceCounts(r.stdout);
    console.log(`race_open inside sbx: ${JSON.stringify(c)}`);
    expect(r.code).toBe(0);
    expect(c.leaked).toBe(0);
    expect(c.allowed).toBeGreaterThan(0);
    expect(c.refused).toBeGreaterThan(0);
  });

  it('connect: flipping the sockaddr never connects to the denied port', { timeout: 60_000 }, async () => {
    const allowed = await bannerServer('ALLOWED');
    const denied = await bannerServer('DENIED');
    try {
      const out = raceCounts((await run(fixture('race_connect'), [String(allowed.port), String(denied.port), '1', THREADS])).stdout);
      expect(out.leaked).toBeGreaterThan(0);
      const deniedBefore = denied.accepted();
      const r = await exec([`--allow-net=127.0.0.1:${allowed.port}`, '--quiet', '--', fixture('race_connect'), String(allowed.port), String(denied.port), SECONDS, THREADS]);
      const c = raceCounts(r.stdout);
      console.log(`race_connect inside sbx: ${JSON.stringify(c)}, accepted allowed=${allowed.accepted()} denied=${denied.accepted()}`);
      expect(r.code).toBe(0);
      expect(c.leaked).toBe(0);
      expect(denied.accepted()).toBe(deniedBefore);
      expect(c.allowed).toBeGreaterThan(0);
      expect(allowed.accepted()).toBeGreaterThan(0);
    } finally {
      await allowed.close();
      await denied.close();
    }
  });

  it('exec: flipping the execve path never runs the denied program', { timeout: 60_000 }, async () => {
    const out = raceCounts((await run(fixture('race_exec'), [join(allowDir, 'p'), join(denyDir, 'p'), '1'])).stdout);
    expect(out.leaked).toBeGreaterThan(0);
    const r = await exec(['--deny-read', `--allow-read=${allowDir},${fixturesBin}`, '--quiet', '--', fixture('race_exec'), join(allowDir, 'p'), join(denyDir, 'p'), SECONDS]);
    const c = raceCounts(r.stdout);
    console.log(`race_exec inside sbx: ${JSON.stringify(c)}`);
    expect(r.code).toBe(0);
    expect(c.leaked).toBe(0);
    expect(c.allowed).toBeGreaterThan(0);
  });
});
