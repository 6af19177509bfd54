/**
 * TOCTOU races against the engine (DESIGN invariant 1), 10 s each through
 * `./bin/sbx exec`: threads flip a path / sockaddr between an allowed and a denied
 * target while other threads use it. The denied target must never be reached; the
 * allowed one must be (so a sandbox that refuses everything fails too).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
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
  // exec_probe: its first trapped syscall is an open creating <image>.opened; it exits 20
  // from a path containing "deny" (a leak: the denied image got that open answered), else 10.
  copyFileSync(fixture('exec_probe'), join(allowDir, 'p'));
  copyFileSync(fixture('exec_probe'), join(denyDir, 'p'));
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

  it('exec: flipping the execve path never gives the denied program a decided syscall', { timeout: 60_000 }, async () => {
    const out = raceCounts((await run(fixture('race_exec'), [join(allowDir, 'p'), join(denyDir, 'p'), '3'])).stdout);
    expect(out.leaked).toBeGreaterThan(0);
    expect(existsSync(join(denyDir, 'p.opened'))).toBe(true);
    for (const dir of [allowDir, denyDir]) rmSync(join(dir, 'p.opened'), { force: true });
    const r = await exec(['--deny-read', `--allow-read=${allowDir},${fixturesBin}`, '--quiet', '--', fixture('race_exec'), join(allowDir, 'p'), join(denyDir, 'p'), SECONDS]);
    const c = raceCounts(r.stdout);
    console.log(`race_exec inside sbx: ${JSON.stringify(c)}`);
    expect(r.code).toBe(0);
    expect(c.leaked).toBe(0);
    expect(existsSync(join(denyDir, 'p.opened'))).toBe(false); // its first open never happened
    expect(c.allowed).toBeGreaterThan(0);
    expect(existsSync(join(allowDir, 'p.opened'))).toBe(true);
  });
});
