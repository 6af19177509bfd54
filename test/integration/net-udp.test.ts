/**
 * UDP: sendto with a destination, sendmsg with msg_name, and connect-then-send, over IPv4,
 * IPv6 and mapped IPv6. A denied datagram never reaches its server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, policyFor, sandboxed, tempWorld, udpServers, writeHostsFile, type Servers } from './net-helpers.js';

const world = tempWorld('sbx-net-udp-');
let servers: Servers;
let hosts: string;
const policy = () => policyFor({ allow: ['127.0.0.2', 'six.example.test'] });

beforeAll(async () => {
  servers = await udpServers(['127.0.0.2', '127.0.0.3', '::1']);
  hosts = writeHostsFile(world.dir, { '::1': ['six.example.test'] });
});
afterAll(async () => {
  await servers?.close();
  world.cleanup();
});

const run = (mode: string, addr: string) =>
  sandboxed(policy(), [fixture('net_client'), mode, addr, String(servers.port)], { env: world.env, hostsFile: hosts, cwd: world.dir });

describe.each(['udp-sendto', 'udp-sendmsg', 'udp-connect'])('%s', (mode) => {
  const verb = mode === 'udp-sendto' ? 'sendto' : mode === 'udp-sendmsg' ? 'sendmsg' : 'connect';

  it('allowed IPv4 destination answers; denied one is refused and receives nothing', async () => {
    expect((await run(mode, '127.0.0.2')).stdout).toBe('ok echo from 127.0.0.2\n');
    const before = servers.count('127.0.0.3');
    const denied = await run(mode, '127.0.0.3');
    expect(denied.stdout).toMatch(new RegExp(`^error ${verb}: `));
    expect(servers.count('127.0.0.3')).toBe(before);
  });

  it('IPv6 ::1 allowed by name; mapped ::ffff:127.0.0.3 refused, ::ffff:127.0.0.2 allowed', async () => {
    expect((await run(mode, '::1')).stdout).toBe('ok echo from ::1\n');
    expect((await run(mode, '::ffff:127.0.0.2')).stdout).toBe('ok echo from 127.0.0.2\n');
    const before = servers.count('127.0.0.3');
    expect((await run(mode, '::ffff:127.0.0.3')).stdout).toMatch(new RegExp(`^error ${verb}: `));
    expect(servers.count('127.0.0.3')).toBe(before);
  });
});
