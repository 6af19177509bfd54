/**
 * The caller's environment as `sbx-fast` sends it ("K=V" lines: src/supervisor/exec-start.ts
 * envFromLines), read as Node and libc's getenv read it: a policy built from it sees the same
 * values either way.
 */
import { describe, expect, it } from 'vitest';
import { envFromLines } from '../../../src/supervisor/exec-start.js';

describe('envFromLines', () => {
  it('a name given twice takes its first value, as getenv (a launcher that appended to envp)', () => {
    expect(envFromLines(['HOME=/home/u', 'PATH=/usr/bin', 'HOME=/tmp/fake'])).toEqual({ HOME: '/home/u', PATH: '/usr/bin' });
  });

  it('twin: the first = splits; a line without one is skipped; an empty value is a value', () => {
    expect(envFromLines(['A=b=c', 'NOEQUALS', 'E=', '=x'])).toEqual({ A: 'b=c', E: '' });
  });
});
