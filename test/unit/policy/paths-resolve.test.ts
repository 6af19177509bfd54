/** XDG locations and host-name resolution (hosts file only: SBX_HOSTS_FILE turns DNS off). */
import { describe, expect, it } from 'vitest';
import { configDir, runtimeDir, stateDir, trustFile, userConfigFile } from '../../../src/policy/paths.js';
import { clearResolveCache, nameservers, resolveHost } from '../../../src/policy/net-resolve.js';
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

describe('resolveHost with SBX_HOSTS_FILE', () => {
  const w = tempWorld();
  const hosts = join(w.root, 'hosts2');
  writeFileSync(hosts, '# comment\n10.0.0.1  a.test  alias.test # trailing\n10.0.0.2 a.test\n::1 six.test\n\n');
  const env = { SBX_HOSTS_FILE: hosts };
  const cases: [string, string[]][] = [
    ['a.test', ['10.0.0.1', '10.0.0.2']],
    ['ALIAS.test', ['10.0.0.1']],
    ['six.test', ['::1']],
    ['missing.test', []], // no DNS fallback when the hosts file is injected
  ];
  it.each(cases)('%s → %j', async (name, want) => {
    clearResolveCache();
    expect(await resolveHost(name, env)).toEqual(want);
  });
  it('nameservers come from SBX_RESOLV_CONF', () => {
    const conf = join(w.root, 'resolv');
    writeFileSync(conf, 'search x\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\n');
    expect(nameservers({ SBX_RESOLV_CONF: conf })).toEqual(['127.0.0.53', 'fe80::1']);
    expect(nameservers({ SBX_RESOLV_CONF: join(w.root, 'none') })).toEqual([]);
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
