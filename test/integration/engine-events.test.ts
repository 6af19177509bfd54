/**
 * Denial events on their way to JS: the engine folds identical ones into one event with a
 * count and caps how many distinct ones wait, so a denial storm stays cheap for the
 * supervisor. Nothing may be lost: the counts add up to every denial the program saw.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureBin, files, policy, rule, run, start, tempDir } from './engine-harness.js';

const total = (evs: { count: number }[]) => evs.reduce((n, e) => n + e.count, 0);

describe('engine: event folding', () => {
  it('the same denial repeated: few events whose counts add up to every refusal; the allowed twin has none', async () => {
    const d = tempDir();
    files(d, { 'secret0': 'S\n', 'ok.txt': 'fine\n' });
    const r = await run({
      policies: [policy(1, { read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'secret*'), 'glob')] } })],
      argv: [fixtureBin('open_many'), join(d, 'secret'), '1', '3000', join(d, 'ok.txt')],
    });
    expect(r.stdout).toBe('denied=3000 other=0 allowed=ok\n');
    const denials = r.events.filter((e) => e.kind === 'deny' && e.target === join(d, 'secret0'));
    expect(total(denials)).toBe(3000);
    expect(denials.length).toBeLessThan(100); // folded: one per flush, not one per open
    expect(r.events.some((e) => e.target === join(d, 'ok.txt'))).toBe(false);
  });

  it('distinct denials while JS is busy: past the cap they are counted in one summary event, none lost', async () => {
    const d = tempDir();
    files(d, { 'ok.txt': 'fine\n', ...Object.fromEntries(Array.from({ length: 6000 }, (_, i) => [`secret-${i}`, 'S\n'])) });
    const s = await start({
      policies: [policy(1, { read: { default: 'allow', rules: [rule(0, 'deny', join(d, 'secret-*'), 'glob')] } })],
      argv: [fixtureBin('open_many'), join(d, 'secret-'), '6000', '1', join(d, 'ok.txt')],
    });
    s.child.stdin!.end();
    // Hold the JS thread while the program runs: batches cannot be delivered, so the
    // engine must fold, cap, and summarise the rest.
    const until = Date.now() + 60_000;
    const exited = () => !existsSync(`/proc/${s.child.pid}`) || readFileSync(`/proc/${s.child.pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
    while (!exited() && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    await s.done;
    expect(s.stdout()).toBe('denied=6000 other=0 allowed=ok\n');
    const itemised = s.events.filter((e) => e.kind === 'deny' && e.target.startsWith(join(d, 'secret-')));
    const summaries = s.events.filter((e) => e.target.startsWith('(not itemised'));
    expect(summaries.length).toBeGreaterThan(0);
    expect(summaries.every((e) => e.kind === 'deny' && e.count > 0)).toBe(true);
    expect(total(itemised) + total(summaries)).toBe(6000);
    expect(new Set(itemised.map((e) => e.target)).size).toBe(itemised.length); // each path once
    expect(s.events.some((e) => e.target === join(d, 'ok.txt'))).toBe(false);
  });
});
