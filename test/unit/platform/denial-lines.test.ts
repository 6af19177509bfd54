/** The denial lines `sbx exec` shows: each once, at most the cap, then one notice. */
import { describe, expect, it } from 'vitest';
import { DenialLines } from '../../../src/platform/linux/denial-lines.js';

describe('DenialLines', () => {
  it('shows each distinct line once, up to the cap, then says once that the rest are elsewhere', () => {
    const d = new DenialLines('`sbx log` has them', 3);
    expect(d.take('a')).toBe('a');
    expect(d.take('a')).toBeUndefined();
    expect(d.take('b')).toBe('b');
    expect(d.take('c')).toBe('c');
    expect(d.take('d')).toBe('sbx: more than 3 different denials; the rest are not shown here (`sbx log` has them)');
    expect(d.take('e')).toBeUndefined();
    // A line seen before the cap is still one line to a person: nothing new.
    expect(d.take('b')).toBeUndefined();
  });
});
