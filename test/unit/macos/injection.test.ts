/**
 * No rule injection: paths, globs, socket paths, program names and rule origins full of
 * `"`, `\`, `)`, `;`, regex metacharacters and unicode come out as exactly one string
 * literal each, holding exactly the input. The profile is read back with an SBPL reader and
 * compared in shape with the profile of a harmless name; control characters (newlines…)
 * are refused with a clear error, or — in comments — shown escaped.
 */
import { describe, expect, it } from 'vitest';
import { SbxError } from '../../../src/errors.js';
import { seatbeltProfile } from '../../../src/platform/macos/profile.js';
import { evaluate, parseSbpl, strings, type Form } from './sbpl-eval.js';
import { PolicyBuilder } from './policies.js';

const NASTY = [
  '/Users/dev/quote"s',
  '/Users/dev/back\\slash',
  '/Users/dev/x") (allow default) ("',
  '/Users/dev/x\\") (allow default)',
  '/Users/dev/close)paren(',
  '/Users/dev/semi;colon #| block |# "',
  '/Users/dev/re.ge+x*[a-z]{2}(g)|^$?',
  '/Users/dev/#"raw"',
];

/** The tree with every string replaced by a placeholder: what the profile *does*. */
function shape(forms: Form[]): string {
  const walk = (f: Form): unknown => (typeof f === 'string' ? f : Array.isArray(f) ? f.map(walk) : 'S');
  return JSON.stringify(forms.map(walk));
}

/** Glob escape for a literal path (the policy compiler escapes like this). */
const globEscape = (p: string) => p.replace(/[\\*?]/g, (c) => `\\${c}`);

function policyFor(p: string) {
  return new PolicyBuilder({ write: 'deny', unix: 'deny' })
    .path('read', 'deny', p, { text: p })
    .path('read', 'deny', `${globEscape(p)}/**/*.key`, { glob: true, text: `${p}\n(allow default)` })
    .path('write', 'allow', p)
    .path('unix', 'allow', `${p}.sock`)
    .path('exec', 'deny', p)
    .program('deny', p.slice(p.lastIndexOf('/') + 1))
    .build();
}

describe('no rule injection through strings', () => {
  const plain = parseSbpl(seatbeltProfile(policyFor('/Users/dev/plain')));

  for (const nasty of NASTY) {
    it(`${JSON.stringify(nasty)} stays one literal in every rule that names it`, () => {
      const text = seatbeltProfile(policyFor(nasty));
      const forms = parseSbpl(text);
      // Same rules, same filters, same nesting as for a harmless name.
      expect(shape(forms)).toBe(shape(plain));
      // The subtree rules carry the name byte for byte.
      const lits = strings(forms);
      expect(lits).toContain(nasty);
      expect(lits).toContain(`${nasty}.sock`);
      // The compiled regexes match the name itself and not a near miss (metacharacters literal).
      const read = (path: string) => evaluate(forms, { op: 'file-read-data', path });
      expect(read(`${nasty}/a/b/c.key`)).toBe('deny');
      expect(read(`${nasty}/inner`)).toBe('deny');
      expect(read(`${nasty}x/a.key`)).toBe('allow');
      expect(read('/Users/dev/other')).toBe('allow');
      const base = nasty.slice(nasty.lastIndexOf('/') + 1);
      expect(evaluate(forms, { op: 'process-exec', path: `/usr/bin/${base}` })).toBe('deny');
      expect(evaluate(forms, { op: 'process-exec', path: `/usr/bin/${base}x` })).toBe('allow');
      expect(evaluate(forms, { op: 'network-outbound', unix: `${nasty}.sock` })).toBe('allow');
      expect(evaluate(forms, { op: 'network-outbound', unix: `${nasty}.sockx` })).toBe('deny');
      // A newline in an origin's text stays inside its comment.
      expect(text).toContain('\\u000a(allow default)');
      expect(text).not.toMatch(/^\(allow default\)\n[\s\S]*^\(allow default\)$/m);
    });
  }

  it('unicode names: one literal per normalization form (NFC and NFD), nothing else', () => {
    const name = '/Users/dév/ключ/🔑'.normalize('NFC');
    const forms = parseSbpl(seatbeltProfile(new PolicyBuilder().path('read', 'deny', name).build()));
    const lits = strings(forms);
    expect(lits).toContain(name);
    expect(lits).toContain(name.normalize('NFD'));
    expect(evaluate(forms, { op: 'file-read-data', path: `${name.normalize('NFD')}/x` })).toBe('deny');
    expect(evaluate(forms, { op: 'file-read-data', path: '/Users/dev/x' })).toBe('allow');
  });

  it.each([
    ['newline', '/Users/dev/a\n(allow default)'],
    ['carriage return', '/Users/dev/a\r'],
    ['NUL', '/Users/dev/a\u0000b'],
    ['escape', '/Users/dev/\u001b[31m'],
  ])('a path with a %s is refused with an SbxError naming it', (_what, p) => {
    for (const b of [
      new PolicyBuilder().path('read', 'deny', p),
      new PolicyBuilder().path('write', 'deny', p, { glob: true }),
      new PolicyBuilder().path('unix', 'allow', p),
      new PolicyBuilder().program('deny', p.slice(1)),
    ]) {
      expect(() => seatbeltProfile(b.build())).toThrow(SbxError);
      expect(() => seatbeltProfile(b.build())).toThrow(/control character/);
    }
    // its allowed twin: the same path without the control character is fine
    expect(() => seatbeltProfile(new PolicyBuilder().path('read', 'deny', p.replace(/[\u0000-\u001f]/g, '_')).build())).not.toThrow();
  });

  it('private dir and control FIFO paths are escaped too', () => {
    const dir = '/tmp/sbx-"x\\';
    const forms = parseSbpl(seatbeltProfile(new PolicyBuilder().build(), { privateDir: dir, control: `${dir}/ctl` }));
    expect(strings(forms)).toContain(dir);
    expect(evaluate(forms, { op: 'file-write-data', path: `${dir}/profile-2.sb` })).toBe('deny');
    expect(evaluate(forms, { op: 'file-write-data', path: `${dir}/ctl` })).toBe('allow');
    expect(evaluate(forms, { op: 'file-write-data', path: '/tmp/other' })).toBe('allow');
  });
});
