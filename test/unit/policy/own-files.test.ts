/** sbx's own files are read only through real directories owned by root or this user. */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOwnFile, UnsafePathError, writeOwnFile } from '../../../src/policy/own-files.js';
import { tempWorld } from './helpers.js';

describe('readOwnFile / writeOwnFile', () => {
  const w = tempWorld();
  it('reads a real file; a missing one is undefined (the allowed twins)', () => {
    const f = w.write('real/sbx/config.yaml', 'version: 1\n');
    expect(readOwnFile(f)).toBe('version: 1\n');
    expect(readOwnFile(join(w.root, 'real/sbx/none.yaml'))).toBeUndefined();
    expect(readOwnFile(join(w.root, 'nowhere/sbx/config.yaml'))).toBeUndefined();
  });
  it('refuses a symlink anywhere on the path, and a symlinked file', () => {
    w.write('planted/sbx/config.yaml', 'version: 1\nprotect: []\n');
    symlinkSync(join(w.root, 'planted'), join(w.root, 'link'));
    expect(() => readOwnFile(join(w.root, 'link/sbx/config.yaml'))).toThrow(UnsafePathError);
    expect(() => readOwnFile(join(w.root, 'link/sbx/config.yaml'))).toThrow(/link is a symbolic link/);
    mkdirSync(join(w.root, 'd'), { recursive: true });
    symlinkSync(join(w.root, 'planted/sbx/config.yaml'), join(w.root, 'd/config.yaml'));
    expect(() => readOwnFile(join(w.root, 'd/config.yaml'))).toThrow(UnsafePathError);
  });
  it('writes atomically, creating directories, and refuses to write through a symlink', () => {
    const f = join(w.root, 'state/sbx/x.json');
    writeOwnFile(f, '{}\n');
    expect(readOwnFile(f)).toBe('{}\n');
    writeOwnFile(f, '{"a":1}\n');
    expect(readOwnFile(f)).toBe('{"a":1}\n');
    mkdirSync(join(w.root, 'elsewhere'));
    symlinkSync(join(w.root, 'elsewhere'), join(w.root, 'state2'));
    expect(() => writeOwnFile(join(w.root, 'state2/x.json'), 'x')).toThrow(UnsafePathError);
    writeFileSync(join(w.root, 'plain'), '');
  });
});
