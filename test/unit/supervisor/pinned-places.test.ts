/**
 * sbx's own places pinned in the runtime dir for the next supervisor (src/supervisor/pinned-places.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pinFile, pinPlaces, placesOf, withPinnedPlaces } from '../../../src/supervisor/pinned-places.js';

const dirs: string[] = [];
const runtime = () => {
  const d = mkdtempSync(join(tmpdir(), 'sbx-pin-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const first = { HOME: '/home/u', XDG_CONFIG_HOME: '/home/u/.config', XDG_RUNTIME_DIR: '/run/user/1', PATH: '/usr/bin', SBX_X: '1' };
const keeper = { HOME: '/tmp/other', XDG_STATE_HOME: '/tmp/other/state', XDG_RUNTIME_DIR: '/run/user/1', PATH: '/opt/bin', SBX_X: '2' };

describe('pinned places', () => {
  it('HOME and XDG_* but the runtime dir are places', () => {
    expect(placesOf(first)).toEqual({ HOME: '/home/u', XDG_CONFIG_HOME: '/home/u/.config' });
  });

  it("the next supervisor takes the pinned places (absent ones absent), keeping everything else of its starter's", () => {
    const r = runtime();
    pinPlaces(first, r);
    const { env, pinned } = withPinnedPlaces(keeper, r);
    expect(pinned).toEqual({ HOME: '/home/u', XDG_CONFIG_HOME: '/home/u/.config' });
    expect(env).toEqual({ HOME: '/home/u', XDG_CONFIG_HOME: '/home/u/.config', XDG_RUNTIME_DIR: '/run/user/1', PATH: '/opt/bin', SBX_X: '2' });
  });

  it("twin: with nothing pinned (the first supervisor in a new runtime dir), its starter's", () => {
    expect(withPinnedPlaces(keeper, runtime())).toEqual({ env: keeper, pinned: undefined });
  });

  it('a pin others can read or write, or that is not JSON of an object, is not taken', () => {
    const r = runtime();
    pinPlaces(first, r);
    chmodSync(pinFile(r), 0o644);
    expect(withPinnedPlaces(keeper, r).pinned).toBeUndefined();
    for (const text of ['not json', '[1]', 'null']) {
      writeFileSync(pinFile(r), text, { mode: 0o600 });
      chmodSync(pinFile(r), 0o600);
      expect(withPinnedPlaces(keeper, r).pinned, text).toBeUndefined();
    }
    // Only strings of place names are taken from a pin.
    writeFileSync(pinFile(r), JSON.stringify({ HOME: '/h', PATH: '/evil', XDG_RUNTIME_DIR: '/x', XDG_DATA_HOME: 7 }));
    expect(withPinnedPlaces(keeper, r).env).toEqual({ HOME: '/h', XDG_RUNTIME_DIR: '/run/user/1', PATH: '/opt/bin', SBX_X: '2' });
  });
});
