import { afterAll, describe, expect, it } from 'vitest';
import { NameTable } from '../../../src/net/refresh.js';
import { NetNames } from '../../../src/net/names.js';
import { HostsFileResolver } from '../../../src/net/resolve.js';
import { decideNet } from '../../../src/policy/net-match.js';
import { prepareNetwork } from '../../../src/net/index.js';
import type { CompiledPolicy } from '../../../src/policy/compiled.js';
import { netPolicy } from './helpers.js';
import { hostsFile, writeHosts, removeHostsFiles } from './servers.js';

afterAll(removeHostsFiles);

describe('NameTable', () => {
  it('tracks changes, keeps a vanished address for the grace period, schedules by TTL', async () => {
    const file = hostsFile({ '127.0.0.2': ['a.test'] });
    const names = new NetNames();
    const table = new NameTable(new HostsFileResolver(file, 10), names, 5_000);
    expect(await table.refresh(['a.test'], 1_000)).toEqual({ changed: true, nextMs: 8_000 });
    expect(await table.refresh(['a.test'], 2_000)).toEqual({ changed: false, nextMs: 8_000 });
    writeHosts(file, { '127.0.0.3': ['a.test'] });
    expect((await table.refresh(['a.test'], 3_000)).changed).toBe(true);
    expect(table.current().get('a.test')).toEqual(['127.0.0.2', '127.0.0.3']); // old one in grace
    expect((await table.refresh(['a.test'], 7_000)).changed).toBe(true);
    expect(table.current().get('a.test')).toEqual(['127.0.0.3']);
    expect(names.lookup('::ffff:127.0.0.3')).toEqual(['a.test']);
    expect(names.describe('127.0.0.2:443')).toBe('a.test (127.0.0.2:443)');
    expect(names.describe('[::1]:80')).toBe('[::1]:80');
  });
});

describe('prepareNetwork', () => {
  it('resolves names into the policy and hands a refreshed snapshot (same id) after the hosts file changes', async () => {
    const file = hostsFile({ '127.0.0.2': ['api.example.test'] });
    const updates: CompiledPolicy[] = [];
    const net = await prepareNetwork(netPolicy(['api.example.test:8080']), {
      env: { SBX_HOSTS_FILE: file, SBX_HOSTS_TTL: '1' },
      resolvConf: '/nonexistent',
      graceMs: 0,
      onPolicy: (p) => updates.push(p),
    });
    try {
      expect(decideNet(net.policy.net, '127.0.0.2', 8080).effect).toBe('allow');
      expect(decideNet(net.policy.net, '127.0.0.3', 8080).effect).toBe('deny');
      writeHosts(file, { '127.0.0.3': ['api.example.test'] });
      const deadline = Date.now() + 10_000;
      while (updates.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const p = updates.at(-1)!;
      expect(p.id).toBe(1);
      expect(decideNet(p.net, '127.0.0.3', 8080).effect).toBe('allow');
      expect(decideNet(p.net, '127.0.0.2', 8080).effect).toBe('deny');
      expect(net.policy).toBe(p);
    } finally {
      await net.close();
    }
  });

  it('starts no proxy and exports nothing for an address-only policy', async () => {
    const net = await prepareNetwork(netPolicy(['127.0.0.1', 'localhost']), { env: {}, resolvConf: '/nonexistent' });
    expect(net.proxyPort).toBeUndefined();
    expect(net.env).toEqual({});
    await net.close();
  });

  it('with a name allowed: proxy port and DNS servers allowed', async () => {
    const dir = hostsFile({});
    const resolv = dir.replace(/hosts$/, 'resolv.conf');
    writeHosts(resolv, {});
    const { writeFileSync } = await import('node:fs');
    writeFileSync(resolv, 'nameserver 127.0.0.53\n');
    const net = await prepareNetwork(netPolicy(['*.example.test']), { env: { SBX_HOSTS_FILE: dir }, resolvConf: resolv });
    try {
      expect(net.proxyPort).toBeGreaterThan(0);
      expect(decideNet(net.policy.net, '127.0.0.1', net.proxyPort!).effect).toBe('allow');
      expect(decideNet(net.policy.net, '127.0.0.53', 53).effect).toBe('allow');
      expect(decideNet(net.policy.net, '127.0.0.53', 54).effect).toBe('deny');
    } finally {
      await net.close();
    }
  });
});

describe('describeDenial', () => {
  it('formats proxy refusals like engine targets, with the name in front', async () => {
    const { describeDenial } = await import('../../../src/net/index.js');
    expect(describeDenial({ name: 'a.test', address: '127.0.0.2', port: 80 })).toBe('a.test (127.0.0.2:80)');
    expect(describeDenial({ name: 'a.test', address: '::1', port: 80 })).toBe('a.test ([::1]:80)');
    expect(describeDenial({ name: 'nowhere.test', address: undefined, port: 443 })).toBe('nowhere.test:443');
    expect(describeDenial({ name: undefined, address: '10.0.0.1', port: 22 })).toBe('10.0.0.1:22');
  });
});
