/**
 * Invariant 1 for exec: a thread flips the execve path between an allowed and a denied
 * program for 10 s. The denied program must never run its own code (verified at the
 * exec stop, SIGKILL before its first instruction); the allowed one must run.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fixtureBin, policy, rule, run, tempDir } from './engine-harness.js';

it('execve racing a path flip never runs the denied program (10 s)', async () => {
  const d = tempDir();
  mkdirSync(join(d, 'ok'));
  mkdirSync(join(d, 'no'));
  copyFileSync(fixtureBin('engine_marker'), join(d, 'ok/marker'));
  copyFileSync(fixtureBin('engine_marker'), join(d, 'no/marker'));
  const r = await run({
    policies: [policy(1, { exec: { default: 'allow', paths: [rule(0, 'deny', join(d, 'no'))], programs: [] } })],
    argv: [fixtureBin('engine_race_exec'), join(d, 'ok/marker'), join(d, 'no/marker'), '10'],
  });
  const m = /ran=(\d+) refused=(\d+) killed=(\d+) other=(\d+)/.exec(r.stderr);
  expect(m, r.stdout + r.stderr).not.toBeNull();
  expect(r.stdout).not.toContain(`RAN ${join(d, 'no/marker')}`);
  expect(r.stdout).toContain(`RAN ${join(d, 'ok/marker')}`);
  expect(Number(m![1])).toBeGreaterThan(0);
  expect(Number(m![2]) + Number(m![3])).toBeGreaterThan(0);
  // Log the split between pre-check refusals and post-exec kills for the report.
  console.log(`exec race: ${m![0]}`);
}, 60_000);
