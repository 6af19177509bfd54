/**
 * DNS only as far as allowed names need it: with a name in the allow-list the nameservers
 * of resolv.conf are reachable on port 53 (UDP and TCP); with only addresses they are not,
 * and no other port of the nameserver is. SBX_RESOLV_CONF points at the test's own
 * "nameserver": echo servers on 127.0.0.53:53.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, policyFor, sandboxed, tcpServers, tempWorld, udpServers, writeHostsFile, type Servers } from './net-helpers.js';

const NS = '127.0.0.53';
const world = tempWorld('sbx-net-dns-');
let udp53: Servers;
let tcp53: Servers;
let udpOther: Servers;
let env: Record<string, string>;
let hosts: string;

beforeAll(async () => {
  udp53 = await udpServers([NS], 53);
  tcp53 = await tcpServers({ [NS]: 'dns over tcp' }, 53);
  udpOther = await udpServers([NS]);
  const resolv = join(world.dir, 'resolv.conf');
  writeFileSync(resolv, `nameserver ${NS}\n`);
  hosts = writeHostsFile(world.dir, { '127.0.0.2': ['api.example.test'] });
  env = { ...world.env, SBX_RESOLV_CONF: resolv };
});
afterAll(async () => {
  await udp53?.close();
  await tcp53?.close();
  await udpOther?.close();
  world.cleanup();
});

const run = (allow: string[], argv: string[]) => sandboxed(policyFor({ allow }), argv, { env, hostsFile: hosts, cwd: world.dir });
const client = (mode: string, port: number) => [fixture('net_client'), mode, NS, String(port)];

describe('DNS as far as allowed names need it', () => {
  it('a hostname in the allow-list: the nameserver answers on 53/udp and 53/tcp', async () => {
    expect((await run(['api.example.test'], client('udp-sendto', 53))).stdout).toBe(`ok echo from ${NS}\n`);
    expect((await run(['api.example.test'], client('tcp', 53))).stdout).toBe('ok dns over tcp\n');
  });

  it('a wildcard in the allow-list counts as a name too', async () => {
    expect((await run(['*.example.test'], client('udp-sendto', 53))).stdout).toBe(`ok echo from ${NS}\n`);
  });

  it('only addresses in the allow-list: the nameserver is not reachable', async () => {
    const before = udp53.count(NS);
    expect((await run(['127.0.0.2'], client('udp-sendto', 53))).stdout).toMatch(/^error sendto: /);
    expect((await run(['127.0.0.2'], client('tcp', 53))).stdout).toMatch(/^error connect: /);
    expect(udp53.count(NS)).toBe(before);
  });

  it('with a name allowed, other ports of the nameserver stay closed', async () => {
    expect((await run(['api.example.test'], client('udp-sendto', udpOther.port))).stdout).toMatch(/^error sendto: /);
    expect(udpOther.count(NS)).toBe(0);
  });
});
