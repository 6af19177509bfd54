/**
 * What the person confirming `sbx trust` reads (src/supervisor/widen.ts, confirm.ts): every
 * allow entry, those of each `commands:` override included, and nothing that could act on
 * the terminal.
 */
import { describe, expect, it } from 'vitest';
import { shownAllows, TERMINAL_RESET } from '../../../src/supervisor/confirm.js';
import { allowsOf } from '../../../src/supervisor/widen.js';
import type { ProjectFile } from '../../../src/policy/schema.js';

describe('allowsOf', () => {
  it("lists each override's own allow entries, not only its name (twin: an override that allows nothing says so)", () => {
    const lines = allowsOf({
      version: 1,
      write: { allow: ['.'] },
      commands: { npm: { net: { allow: ['registry.npmjs.org'] }, write: { allow: ['~/.npm'] } }, ls: { read: { deny: ['x'] } } },
    } as unknown as ProjectFile);
    expect(lines).toEqual(['write.allow: "."', 'commands: "npm":', '  write.allow: "~/.npm"', '  net.allow: "registry.npmjs.org"', 'commands: "ls" (no allow entries)']);
  });

  it('entries are quoted: a control character in one is shown escaped, never sent', () => {
    const [line] = allowsOf({ version: 1, read: { allow: ['\u001b]0;x\u0007'] } } as unknown as ProjectFile);
    expect(line).toBe('read.allow: "\\u001b]0;x\\u0007"');
    expect(line).not.toMatch(/[\u0000-\u001f]/);
  });

  it('audit mode says floors and built-ins still deny', () => {
    expect(allowsOf({ version: 1, mode: 'audit' } as unknown as ProjectFile)).toEqual(["mode: audit (only floors and sbx's own built-in denials hold; the rest is only logged)"]);
  });
});

describe('the reset before the question', () => {
  it('closes an open string first, resets the scroll region and attributes, and ends on a new line at the bottom', () => {
    expect(TERMINAL_RESET.startsWith('\u0018\u001b\\')).toBe(true);
    for (const seq of ['\u001b[r', '\u001b[0m', '\u001b[?7h', '\u001b]110\u001b\\']) expect(TERMINAL_RESET).toContain(seq);
    expect(TERMINAL_RESET.endsWith('\u001b[9999;1H\r\n')).toBe(true);
  });
});

describe('a file cannot fill the question with its own text (helper-58: 63 spaces and a sentence, 30 overrides, scrolled the request off an 80x24 screen)', () => {
  it('cuts long lines, shows runs of spaces by count, and shows at most 12 lines and how many more (twin: a short list is shown whole)', () => {
    const long = `read.allow: "${' '.repeat(63)}sbx: nothing above widens anything. ${'x'.repeat(300)}"`;
    const shown = shownAllows([long, ...Array.from({ length: 30 }, (_, i) => `commands: "c${i}" (no allow entries)`)]);
    expect(shown).toHaveLength(13);
    expect(shown[0]).toContain('[63 spaces]');
    expect(shown[0]!.length).toBeLessThan(220);
    expect(shown[0]).toMatch(/… \(\d+ more characters\)$/);
    expect(shown[12]).toMatch(/… and 19 more lines/);
    expect(shownAllows(['net.allow: "a.example"', 'read.allow: "./x"'])).toEqual(['  net.allow: "a.example"', '  read.allow: "./x"']);
  });
});
