/**
 * The variables that point tools at code are one list (src/policy/env-named-code.ts); the
 * engine's check of a `commands:` override program's environment names each of them
 * (native/unotify/src/addon/exec.cc), so a variable added to one is not missed by the other.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CODE_NAMING_VARIABLES } from '../../../src/policy/env-named-code.js';

describe('CODE_NAMING_VARIABLES and the engine', () => {
  it('every variable of the list is named in exec.cc (checked for override programs, or said why not)', () => {
    const source = readFileSync(new URL('../../../native/unotify/src/addon/exec.cc', import.meta.url), 'utf8');
    const missing = CODE_NAMING_VARIABLES.filter((v) => !source.includes(`"${v}"`));
    expect(missing).toEqual([]);
  });
});
