import { describe, expect, it } from 'vitest';
import { displaySafe } from '../../src/display-safe.js';

describe('displaySafe', () => {
  it('escapes C0, DEL, C1 and bidi overrides; leaves printable text (ASCII and not) as is', () => {
    expect(displaySafe('a\u001b[2Jb')).toBe('a\\x1b[2Jb');
    expect(displaySafe('t\u0007\u0000\n\r\t')).toBe('t\\x07\\x00\\x0a\\x0d\\x09');
    expect(displaySafe('\u007f\u0085\u009b')).toBe('\\x7f\\x85\\x9b');
    expect(displaySafe('abc\u202edef\u2066')).toBe('abc\\u202edef\\u2066');
    expect(displaySafe('/home/ü/日本/файл — ok')).toBe('/home/ü/日本/файл — ok');
  });
});
