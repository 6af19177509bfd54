/** XDG locations and project-file discovery (name resolution: test/unit/net/resolve.test.ts). */
import { describe, expect, it } from 'vitest';
import { configDir, runtimeDir, stateDir, trustFile, userConfigFile } from '../../../src/policy/paths.js';
import { findProjectFile } from '../../../src/policy/discover.js';
import { tempWorld } from './helpers.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

describe('XDG paths', () => {
  const uid = process.getuid!();
  const cases: [string, Record<string, string>, Record<string, string>][] = [
    [
      'defaults under HOME; runtime falls back to /tmp/sbx-UID',
      { HOME: '/h' },
      { config: '/h/.config/sbx', user: '/h/.config/sbx/config.yaml', state: '/h/.local/state/sbx', trust: '/h/.local/state/sbx/trust.json', runtime: `/tmp/sbx-${uid}` },
    ],
    [
      'XDG variables win',
      { HOME: '/h', XDG_CONFIG_HOME: '/c', XDG_STATE_HOME: '/s', XDG_RUNTIME_DIR: '/run/user/7' },
      { config: '/c/sbx', user: '/c/sbx/config.yaml', state: '/s/sbx', trust: '/s/sbx/trust.json', runtime: '/run/user/7/sbx' },
    ],
    [
      'relative XDG values are ignored (the spec says so)',
      { HOME: '/h', XDG_CONFIG_HOME: 'rel', XDG_STATE_HOME: '', XDG_RUNTIME_DIR: 'x' },
      { config: '/h/.config/sbx', user: '/h/.config/sbx/config.yaml', state: '/h/.local/state/sbx', trust: '/h/.local/state/sbx/trust.json', runtime: `/tmp/sbx-${uid}` },
    ],
  ];
  it.each(cases)('%s', (_n, env, want) => {
    expect({ config: configDir(env), user: userConfigFile(env), state: stateDir(env), trust: trustFile(env), runtime: runtimeDir(env) }).toEqual(want);
  });
});

describe('findProjectFile', () => {
  const w = tempWorld();
  mkdirSync(join(w.root, 'a/b/c'), { recursive: true });
  writeFileSync(join(w.root, 'a/.sbx.yaml'), 'version: 1\n');
  it('the nearest one walking up', () => {
    expect(findProjectFile(join(w.root, 'a/b/c'))).toBe(join(w.root, 'a/.sbx.yaml'));
    writeFileSync(join(w.root, 'a/b/.sbx.yaml'), 'version: 1\n');
    expect(findProjectFile(join(w.root, 'a/b/c'))).toBe(join(w.root, 'a/b/.sbx.yaml'));
    expect(findProjectFile(join(w.root, 'a/b/c/not-yet'))).toBe(join(w.root, 'a/b/.sbx.yaml'));
  });
  it('none above a directory without one', () => {
    expect(findProjectFile(w.root)).toBeUndefined();
  });
});
