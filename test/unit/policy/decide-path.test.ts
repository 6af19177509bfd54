import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PathSection } from '../../../src/policy/compiled.js';
import { decidePath } from '../../../src/policy/match.js';
import { loadNative } from '../../../src/native/load.js';

interface Case {
  name: string;
  section: PathSection;
  path: string;
  expect: { effect: 'allow' | 'deny'; rule: number };
}

const table = JSON.parse(readFileSync(join(import.meta.dirname, '../../fixtures/decide-path-cases.json'), 'utf8')) as { cases: Case[] };

describe('decidePath (shared table with the native engine)', () => {
  it('has both verdicts in the table', () => {
    expect(table.cases.some((c) => c.expect.effect === 'allow')).toBe(true);
    expect(table.cases.some((c) => c.expect.effect === 'deny')).toBe(true);
    expect(table.cases.length).toBeGreaterThanOrEqual(50);
  });
  it.each(table.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(decidePath(c.section, c.path)).toEqual(c.expect);
  });
});

describe('native decide_path agrees on the same table', () => {
  it.each(table.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(loadNative().decidePath(c.section, c.path)).toEqual(c.expect);
  });
});
