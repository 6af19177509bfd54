/**
 * The variables that point tools at code are one list (src/policy/env-named-code.ts); the
 * engine's check of a `commands:` override program's environment names each of them
 * (native/unotify/src/addon/exec.cc), so a variable added to one is not missed by the other.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CODE_NAMING_VARIABLES } from '../../../src/policy/env-named-code.js';

describe('CODE_NAMING_VARIABLES and the engine', () => {
  it('every variable of the list is named in exec.cc (checked for override programs, or said why not)', () => {
    const source = readFileSync(new URL('../../../native/unotify/src/addon/exec.cc', import.meta.url), 'utf8');
    const missing = CODE_NAMING_VARIABLES.filter((v) => !source.includes(`"${v}"`));
    expect(missing).toEqual([]);
  });
});

describe("sbx's own launch variables and the engine", () => {
  it('every variable sbx sets for a sandboxed program is on the engine\'s list of variables that name places harmlessly (else an override program would be refused for sbx\'s own cache dirs)', async () => {
    const { launchEnv } = await import('../../../src/policy/launch-env.js');
    const source = readFileSync(new URL('../../../native/unotify/src/addon/exec.cc', import.meta.url), 'utf8');
    const list = source.slice(source.indexOf('bool names_places_harmlessly'), source.indexOf('std::string unlisted_place_variable'));
    const prefixes = [...list.matchAll(/"([A-Za-z_]+_)"/g)].map((m) => m[1]!);
    const home = mkdtempSync(join(tmpdir(), 'sbx-launch-env-'));
    const names = Object.keys(launchEnv({ HOME: home, PATH: '/usr/bin' }));
    rmSync(home, { recursive: true, force: true });
    expect(names.length).toBeGreaterThan(5);
    const missing = names.filter((v) => !list.includes(`"${v}"`) && !prefixes.some((p) => v.startsWith(p)));
    expect(missing).toEqual([]);
  });
});
