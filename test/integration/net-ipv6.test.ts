/**
 * IPv6 and IPv4-mapped IPv6 at connect: ::1 by address and by name, a mapped address is
 * decided as the IPv4 it maps to (so mapping cannot smuggle a denied IPv4 through).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, policyFor, sandboxed, tcpServers, tempWorld, writeHostsFile, type Servers } from './net-helpers.js';

const world = tempWorld('sbx-net-ipv6-');
let servers: Servers;
let other: Servers;
let hosts: string;

beforeAll(async () => {
  servers = await tcpServers({ '::1': 'hello from six', '127.0.0.2': 'hello from two', '127.0.0.3': 'hello from three' });
  other = await tcpServers({ '::1': 'hello from six-other' });
  hosts = writeHostsFile(world.dir, { '::1': ['six.example.test'], '127.0.0.2': ['two.example.test'] });
});
afterAll(async () => {
  await servers?.close();
  await other?.close();
  world.cleanup();
});

const tcp = (addr: string, port: number) => [fixture('net_client'), 'tcp', addr, String(port)];
const run = (allow: string[], argv: string[]) => sandboxed(policyFor({ allow }), argv, { env: world.env, hostsFile: hosts, cwd: world.dir });

describe('IPv6', () => {
  it('[::1]:PORT allowed; ::1 on another port denied', async () => {
    expect((await run([`[::1]:${servers.port}`], tcp('::1', servers.port))).stdout).toBe('ok hello from six\n');
    const denied = await run([`[::1]:${servers.port}`], tcp('::1', other.port));
    expect(denied.stdout).toMatch(/^error connect/);
    expect(denied.stderr).toMatch(/denied net \[::1\]:\d+/);
    expect(other.count('::1')).toBe(0);
  });

  it('a name resolving to ::1 (AAAA) allows ::1; without it ::1 is denied', async () => {
    expect((await run(['six.example.test'], tcp('::1', servers.port))).stdout).toBe('ok hello from six\n');
    expect((await run(['two.example.test'], tcp('::1', servers.port))).stdout).toMatch(/^error connect/);
  });

  it('localhost covers ::1 and 127.0.0.0/8', async () => {
    expect((await run(['localhost'], tcp('::1', servers.port))).stdout).toBe('ok hello from six\n');
    expect((await run(['localhost'], tcp('127.0.0.3', servers.port))).stdout).toBe('ok hello from three\n');
  });
});

describe('IPv4-mapped IPv6 (AF_INET6 socket to ::ffff:a.b.c.d)', () => {
  it('mapped form of an allowed IPv4 connects; mapped form of a denied IPv4 is refused', async () => {
    expect((await run(['127.0.0.2'], tcp('::ffff:127.0.0.2', servers.port))).stdout).toBe('ok hello from two\n');
    const before = servers.count('127.0.0.3');
    const denied = await run(['127.0.0.2'], tcp('::ffff:127.0.0.3', servers.port));
    expect(denied.stdout).toMatch(/^error connect/);
    expect(servers.count('127.0.0.3')).toBe(before);
  });

  it('an allowed name (A record) allows its mapped form too; a denied name blocks its mapped form', async () => {
    expect((await run(['two.example.test'], tcp('::ffff:127.0.0.2', servers.port))).stdout).toBe('ok hello from two\n');
    const denied = await sandboxed(policyFor({ allow: ['127.0.0.0/8'], deny: ['two.example.test'] }), tcp('::ffff:127.0.0.2', servers.port), { env: world.env, hostsFile: hosts });
    expect(denied.stdout).toMatch(/^error connect/);
  });
});
