/**
 * Other ways to reach an address than connect(): TCP fast open (sendto with MSG_FASTOPEN
 * connects an unconnected TCP socket) and sendmmsg. Both are decided like connect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, policyFor, sandboxed, tcpServers, tempWorld, udpServers, type Servers } from './net-helpers.js';

const world = tempWorld('sbx-net-bypass-');
let tcp: Servers;
let udp: Servers;

beforeAll(async () => {
  tcp = await tcpServers({ '127.0.0.2': 'hello from two', '127.0.0.3': 'hello from three' });
  udp = await udpServers(['127.0.0.2', '127.0.0.3', '::1']);
});
afterAll(async () => {
  await tcp?.close();
  await udp?.close();
  world.cleanup();
});

const run = (argv: string[]) => sandboxed(policyFor({ allow: ['127.0.0.2'] }), argv, { env: world.env, cwd: world.dir });

describe('no way around the connect decision', () => {
  it('TCP fast open: sendto(MSG_FASTOPEN) to the allowed address works; to a denied one it never reaches the server', async () => {
    expect((await run([fixture('net_client'), 'tcp-fastopen', '127.0.0.2', String(tcp.port)])).stdout).toBe('ok hello from two\n');
    const before = tcp.count('127.0.0.3');
    const denied = await run([fixture('net_client'), 'tcp-fastopen', '127.0.0.3', String(tcp.port)]);
    expect(denied.stdout).toMatch(/^error sendto: /);
    expect(tcp.count('127.0.0.3')).toBe(before);
  });

  it('TCP fast open over IPv4-mapped IPv6 is decided as IPv4', async () => {
    expect((await run([fixture('net_client'), 'tcp-fastopen', '::ffff:127.0.0.2', String(tcp.port)])).stdout).toBe('ok hello from two\n');
    const before = tcp.count('127.0.0.3');
    expect((await run([fixture('net_client'), 'tcp-fastopen', '::ffff:127.0.0.3', String(tcp.port)])).stdout).toMatch(/^error sendto: /);
    expect(tcp.count('127.0.0.3')).toBe(before);
  });

  it('sendmmsg: allowed destination answers, denied one receives nothing (IPv4 and IPv6)', async () => {
    expect((await run([fixture('net_client'), 'udp-sendmmsg', '127.0.0.2', String(udp.port)])).stdout).toBe('ok echo from 127.0.0.2\n');
    const before = udp.count('127.0.0.3') + udp.count('::1');
    expect((await run([fixture('net_client'), 'udp-sendmmsg', '127.0.0.3', String(udp.port)])).stdout).toMatch(/^error sendmmsg: /);
    expect((await run([fixture('net_client'), 'udp-sendmmsg', '::1', String(udp.port)])).stdout).toMatch(/^error sendmmsg: /);
    await new Promise((r) => setTimeout(r, 100));
    expect(udp.count('127.0.0.3') + udp.count('::1')).toBe(before);
  });
});
