/**
 * The only place that turns text into SBPL source. Every path, regex and host reaches
 * the profile through `str()`, so nothing a policy says can close a string and start a
 * rule of its own; comments go through `comment()`, which cannot end its line.
 */
import { SbxError } from '../../errors.js';

// C0 controls and DEL. SBPL's reader escapes are not documented (nothing here has run on
// a real Mac), so rather than guess we refuse them: a policy naming such a path fails
// closed with a clear error instead of producing a profile we cannot vouch for.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** An SBPL string literal: `"` and `\` escaped, control characters refused. */
export function str(text: string, what = 'a path'): string {
  if (CONTROL.test(text)) {
    const shown = JSON.stringify(text);
    throw new SbxError(`cannot put ${what} containing a control character into a Seatbelt profile: ${shown}`, {
      exitCode: 2,
      hint: 'rename the file, or remove the rule naming it from the policy',
    });
  }
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A `; …` comment whose text can never end the line (newlines shown escaped). */
export function comment(text: string): string {
  return `; ${text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}`;
}

/** Characters with a meaning in Seatbelt's (POSIX-extended-like) regexes. */
export function regexEscape(ch: string): string {
  return /[\\^$.|?*+()[\]{}]/.test(ch) ? `\\${ch}` : ch;
}

/**
 * macOS spellings a path may be checked under. Seatbelt matches the resolved (vnode)
 * path, so `/tmp/x` is seen as `/private/tmp/x`; we emit both so a profile generated from
 * a policy compiled with either spelling matches. Unicode paths are emitted in NFC and NFD
 * when they differ: APFS/HFS+ may hand Seatbelt either form.
 */
const FIRMLINKS = ['tmp', 'var', 'etc'];

export function pathForms(path: string): string[] {
  const forms = new Set<string>();
  for (const p of [path, path.normalize('NFC'), path.normalize('NFD')]) {
    forms.add(p);
    for (const top of FIRMLINKS) {
      if (p === `/${top}` || p.startsWith(`/${top}/`)) forms.add(`/private${p}`);
      if (p === `/private/${top}` || p.startsWith(`/private/${top}/`)) forms.add(p.slice('/private'.length));
    }
  }
  return [...forms];
}
