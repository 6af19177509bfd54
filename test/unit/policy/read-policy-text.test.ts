/** A policy file is read only when it is a regular file: a FIFO or a device would block or never end. */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyError } from '../../../src/errors.js';
import { readPolicyText } from '../../../src/policy/load.js';

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
});
