/**
 * sbx starts Node for everything the native client does not serve (no supervisor yet, `sbx
 * trust`, `sbx policy` …). A `node` found on the caller's PATH could be one a sandbox wrote in
 * a project's bin/ that direnv put on PATH, and would run unsandboxed: sbx runs the node it
 * was built with, by its absolute path (helper-80 #08).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sbxBin } from './supervisor-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sbx-node-path-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the node sbx runs', () => {
  it('is never a `node` found first on PATH (twin: called by name, that node runs)', () => {
    const marker = join(dir, 'planted-ran');
    writeFileSync(join(dir, 'node'), `#!/bin/sh\ntouch ${marker}\nexec ${process.execPath} "$@"\n`);
    chmodSync(join(dir, 'node'), 0o755);
    const env = { ...process.env, PATH: `${dir}:${process.env.PATH ?? '/usr/bin:/bin'}` };
    const out = execFileSync(sbxBin, ['--version'], { env, encoding: 'utf8' });
    expect(out).toMatch(/^sbx \d/);
    expect(existsSync(marker)).toBe(false);
    execFileSync('sh', ['-c', 'node -e 0'], { env });
    expect(existsSync(marker)).toBe(true);
  });
});
