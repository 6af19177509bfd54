import { afterAll, describe, expect, it } from 'vitest';
import { createResolver, HostsFileResolver, DnsResolver } from '../../../src/net/resolve.js';
import { nameservers } from '../../../src/net/dns.js';
import { hostsFile, removeHostsFiles } from './servers.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

afterAll(removeHostsFiles);

describe('HostsFileResolver (SBX_HOSTS_FILE, tests only)', () => {
  const file = hostsFile({
    '127.0.0.2': ['api.example.test', 'API2.example.test'],
    '::1': ['api.example.test'],
    '::ffff:127.0.0.3': ['mapped.example.test'],
  });

  it('returns every A and AAAA line for a name, canonical, case-insensitive', async () => {
    const r = new HostsFileResolver(file, 7);
    expect(await r.resolve('api.example.test')).toEqual({ addresses: ['127.0.0.2', '::1'], ttl: 7 });
    expect(await r.resolve('api2.EXAMPLE.test.')).toEqual({ addresses: ['127.0.0.2'], ttl: 7 });
    expect(await r.resolve('mapped.example.test')).toEqual({ addresses: ['127.0.0.3'], ttl: 7 });
  });

  it('a name missing from the file (or a missing file) resolves to nothing, never to DNS', async () => {
    expect((await new HostsFileResolver(file).resolve('localhost')).addresses).toEqual([]);
    expect((await new HostsFileResolver('/nonexistent/hosts').resolve('api.example.test')).addresses).toEqual([]);
  });

  it('createResolver picks the hosts file when SBX_HOSTS_FILE is set, DNS otherwise', () => {
    const r = createResolver({ SBX_HOSTS_FILE: file, SBX_HOSTS_TTL: '5' });
    expect(r).toBeInstanceOf(HostsFileResolver);
    expect((r as HostsFileResolver).ttl).toBe(5);
    expect(createResolver({})).toBeInstanceOf(DnsResolver);
  });
});

describe('nameservers', () => {
  it('reads nameserver lines (scoped IPv6 too) and ignores the rest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sbx-resolv-'));
    const file = join(dir, 'resolv.conf');
    writeFileSync(file, '# c\nsearch example\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\nnameserver 127.0.0.53\noptions edns0\n');
    expect(nameservers(file)).toEqual(['127.0.0.53', 'fe80::1']);
    expect(nameservers(join(dir, 'missing'))).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });
});
