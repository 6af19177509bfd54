/**
 * Exec decisions: pre-check on the resolved binary plus verification of the running image
 * before its first trapped syscall (exec.cc).
 * Each denial has its allowed twin.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imageIdentity } from '../../src/policy/exec-images.js';
import { fixtureBin, markerDirs, ops, policy, rule, run, tempDir } from './engine-harness.js';

const markers = () => markerDirs('bad', 'good').d;

describe('engine: exec', () => {
  it('a binary under a denied exec path is EACCES and never runs; the allowed one runs', async () => {
    const d = markers();
    const p = policy(1, { exec: { default: 'allow', paths: [rule(0, 'deny', join(d, 'bad'))], programs: [] } });
    const denied = await run({ policies: [p], argv: ops(['exec', join(d, 'bad/marker'), 'x']) });
    expect(denied.results.get(`exec ${join(d, 'bad/marker')}`)).toBe('EACCES');
    expect(denied.stdout).not.toContain('RAN');
    expect(denied.events.some((e) => e.op === 'exec' && e.target === join(d, 'bad/marker') && e.kind === 'deny')).toBe(true);
    const allowed = await run({ policies: [p], argv: ops(['exec', join(d, 'good/marker'), 'x']) });
    expect(allowed.stdout).toContain(`RAN ${join(d, 'good/marker')} x`);
  });

  it('program rules: most args wins; a symlinked alias is caught by the asked name; exec of an unreadable binary is refused', async () => {
    const d = markers();
    const { symlinkSync } = await import('node:fs');
    symlinkSync(join(d, 'good/marker'), join(d, 'good/curl'));
    const p = policy(1, {
      read: { default: 'allow', rules: [rule(9, 'deny', join(d, 'bad'))] },
      exec: {
        default: 'allow',
        paths: [],
        programs: [
          { rule: 0, effect: 'deny', name: 'marker', args: [] },
          { rule: 1, effect: 'allow', name: 'marker', args: ['status'] },
          { rule: 2, effect: 'deny', name: 'curl', args: [] },
        ],
      },
    });
    const r = await run({
      policies: [p],
      argv: ['/bin/sh', '-c', `${join(d, 'good/marker')} status; ${join(d, 'good/marker')} push; ${join(d, 'good/curl')} x; ${join(d, 'bad/marker')} status; true`],
    });
    expect(r.stdout).toContain(`RAN ${join(d, 'good/marker')} status`);
    expect(r.stdout).not.toContain('push');
    expect(r.stdout).not.toMatch(/RAN .* x/);
    expect(r.stdout).not.toContain(`RAN ${join(d, 'bad/marker')}`);
    expect(r.stderr).toMatch(/Permission denied/);
    // curl → marker matches rules 0 (binary name) and 2 (asked name): equal args, first deny reported.
    expect(r.events.filter((e) => e.op === 'exec').map((e) => e.rule)).toEqual([0, 0, 9]);
  });

  it('a commands override switches the process to its policy at exec; the shell keeps its own', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'f'), 'data\n');
    // An override applies to the program its name resolved to, by identity (finishPolicy does this).
    // Nothing writable: a program the sandbox could replace runs under the strictest policy.
    const outer = policy(1, { write: { default: 'deny', rules: [] }, commands: [{ rule: 0, name: 'engine_ops', policy: 2, images: [imageIdentity(fixtureBin('engine_ops'))!] }] });
    const inner = policy(2, { write: { default: 'deny', rules: [] }, read: { default: 'allow', rules: [rule(1, 'deny', join(d, 'f'))] } });
    const r = await run({
      policies: [outer, inner],
      argv: ['/bin/sh', '-c', `cat ${join(d, 'f')}; ${ops(['read', join(d, 'f')]).join(' ')}; cat ${join(d, 'f')}`],
    });
    expect(r.stdout).toBe(`data\nread ${join(d, 'f')}: EACCES\ndata\n`);
    expect(r.events.find((e) => e.target === join(d, 'f'))).toMatchObject({ policy: 2, rule: 1 });
  });

  it('scripts with a #! line run when allowed', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'script.sh'), '#!/bin/sh\necho script-ran "$1"\n', { mode: 0o755 });
    const r = await run({ policies: [policy(1)], argv: [join(d, 'script.sh'), 'arg'] });
    expect(r.stdout).toBe('script-ran arg\n');
    expect(r.code).toBe(0);
  });
});
