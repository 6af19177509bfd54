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
