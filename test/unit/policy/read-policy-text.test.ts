/** A policy file is read only when it is a regular file: a FIFO or a device would block or never end. */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyError } from '../../../src/errors.js';
import { MAX_POLICY_BYTES, readPolicyText } from '../../../src/policy/load.js';
import { readFdBounded } from '../../../src/policy/read-bounded.js';
import { closeSync, openSync } from 'node:fs';

describe('readPolicyText', () => {
  it('refuses a FIFO at once, without waiting for a writer, and a device; reads a regular file (the twin)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sbx-readpol-'));
    try {
      const fifo = join(dir, 'fifo.yaml');
      execFileSync('mkfifo', [fifo]);
      const started = Date.now();
      expect(() => readPolicyText(fifo)).toThrow(PolicyError);
      expect(() => readPolicyText(fifo)).toThrow(/cannot read policy file \(ENOTREG\)/);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(() => readPolicyText('/dev/zero')).toThrow(/ENOTREG/);
      const file = join(dir, 'ok.yaml');
      writeFileSync(file, 'version: 1\n');
      expect(readPolicyText(file)).toBe('version: 1\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a file past MAX_POLICY_BYTES with one line naming it (a sandbox wrote a 150 MB one and held the supervisor for minutes); reads one at the bound (the twin)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sbx-readpol-'));
    try {
      const big = join(dir, 'big.yaml');
      writeFileSync(big, `version: 1\n#${'x'.repeat(MAX_POLICY_BYTES)}\n`);
      expect(() => readPolicyText(big)).toThrow(/cannot read policy file \(EFBIG\)/);
      try {
        readPolicyText(big);
      } catch (err) {
        expect((err as PolicyError).issues).toEqual([`${big}:1:1: (top level): larger than 64 KiB, more than such a file can need: '${big}'`]);
      }
      const fits = join(dir, 'fits.yaml');
      const text = `version: 1\n#${'x'.repeat(MAX_POLICY_BYTES - 13)}\n`;
      expect(Buffer.byteLength(text)).toBe(MAX_POLICY_BYTES);
      writeFileSync(fits, text);
      expect(readPolicyText(fits)).toBe(text);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file that grows while it is read is cut at the bound, not read to its end', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sbx-readpol-'));
    try {
      const f = join(dir, 'grows.yaml');
      writeFileSync(f, 'a'.repeat(100));
      const fd = openSync(f, 'r');
      try {
        // Grown past the bound after the size check a reader makes first: stat says 100 bytes.
        writeFileSync(f, 'a'.repeat(5000));
        expect(() => readFdBounded(fd, f, 1000)).toThrow(/larger than/);
      } finally {
        closeSync(fd);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('policy size bounds (a policy is compiled on the supervisor\'s one thread)', () => {
  it('at most MAX_COMMANDS programs under commands: and MAX_TOTAL_ENTRIES entries in all, each said with its place; twin: a file at the bounds loads', async () => {
    const { loadPolicyText, MAX_TOTAL_ENTRIES } = await import('../../../src/policy/load.js');
    const { MAX_COMMANDS } = await import('../../../src/policy/schema.js');
    const cmds = (n: number) => `version: 1\ncommands:\n${Array.from({ length: n }, (_, i) => `  p${i}: {}`).join('\n')}\n`;
    expect(() => loadPolicyText('/p/.sbx.yaml', cmds(MAX_COMMANDS + 1), 'project')).toThrow(PolicyError);
    try {
      loadPolicyText('/p/.sbx.yaml', cmds(MAX_COMMANDS + 1), 'project');
    } catch (err) {
      expect((err as PolicyError).issues).toEqual([`/p/.sbx.yaml:3:3: commands: at most ${MAX_COMMANDS} programs (got a mapping)`]);
    }
    expect(loadPolicyText('/p/.sbx.yaml', cmds(MAX_COMMANDS), 'project').data.commands).toBeDefined();
    const lists = (n: number) => `version: 1\nread: { deny: [${Array.from({ length: 1000 }, (_, i) => `/a${i}`).join(',')}] }\nwrite: { deny: [${Array.from({ length: 1000 }, (_, i) => `/b${i}`).join(',')}] }\n` +
      `commands:\n${Array.from({ length: n }, (_, k) => `  p${k}: { read: { deny: [${Array.from({ length: 1000 }, (_, i) => `/c${k}-${i}`).join(',')}] } }`).join('\n')}\n`;
    let issues: string[] = [];
    try {
      loadPolicyText('/p/.sbx.yaml', lists(4), 'project');
    } catch (err) {
      issues = (err as PolicyError).issues;
    }
    expect(issues).toEqual([`/p/.sbx.yaml:1:1: (top level): 6000 entries in all; a policy file holds at most ${MAX_TOTAL_ENTRIES}`]);
    expect(loadPolicyText('/p/.sbx.yaml', lists(3), 'project').data.read?.deny).toHaveLength(1000);
  });
});
