/**
 * Invariant 1 for opens: threads flip the path buffer between an allowed and a denied
 * file for 10 s while others open() it. The denied content must never be read, and the
 * allowed file must be read (so a sandbox that denies everything fails).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fixtureBin, policy, rule, run, tempDir } from './engine-harness.js';

it('open() racing a path flip never reads the denied file (10 s)', async () => {
  const d = tempDir();
  // Same-length names so the flip is a clean overwrite.
  writeFileSync(join(d, 'allow.txt'), 'harmless');
  writeFileSync(join(d, 'deny_.txt'), 'TOPSECRET');
  const r = await run({
    policies: [policy(1, { read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'deny_.txt'))] } })],
    argv: ['/usr/bin/env', 'SECRET=TOPSECRET', fixtureBin('engine_race_open'), join(d, 'allow.txt'), join(d, 'deny_.txt'), '10'],
  });
  const m = /ok=(\d+) denied=(\d+) leaks=(\d+)/.exec(r.stdout);
  expect(m, r.stdout + r.stderr).not.toBeNull();
  expect(Number(m![3])).toBe(0);
  expect(Number(m![1])).toBeGreaterThan(0);
  expect(Number(m![2])).toBeGreaterThan(0);
  expect(r.code).toBe(0);
}, 60_000);
