/**
 * The connect/sendto/sendmsg race: threads flip one shared sockaddr between an allowed
 * and a denied destination while other threads use it. The engine decides and connects on
 * its own copy of the address and socket, so a denied destination is never reached.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, greeters, parseRace, policyFor, sandboxed, tempWorld, udpServers, type Servers } from './net-helpers.js';

const world = tempWorld('sbx-net-race-');
let tcp: Servers;
let udp: Servers;

beforeAll(async () => {
  tcp = await greeters({ '127.0.0.2': 'ALLOWED', '127.0.0.3': 'DENIED' });
  udp = await udpServers(['127.0.0.2', '127.0.0.3']);
});
afterAll(async () => {
  await tcp?.close();
  await udp?.close();
  world.cleanup();
});

const policy = () => policyFor({ allow: ['127.0.0.2'] });
const race = (mode: string, allowed: string, denied: string, port: number, seconds: number) =>
  sandboxed(policy(), [fixture('net_race'), mode, allowed, denied, String(port), String(seconds), '4'], { env: world.env, cwd: world.dir });

describe('connect race', () => {
  it('TCP, IPv4, 10 s: many allowed connects, none to the denied address', async () => {
    const r = await race('tcp', '127.0.0.2', '127.0.0.3', tcp.port, 10);
    expect(r.code).toBe(0);
    const c = parseRace(r.stdout);
    expect(c.ok).toBeGreaterThan(0);
    expect(c.refused).toBeGreaterThan(0); // the flip really produced the denied address
    expect(c.leaked).toBe(0);
    expect(tcp.count('127.0.0.3')).toBe(0);
    expect(tcp.count('127.0.0.2')).toBeGreaterThan(0);
  }, 60_000);

  it('TCP, IPv4-mapped IPv6, 4 s', async () => {
    const r = await race('tcp', '::ffff:127.0.0.2', '::ffff:127.0.0.3', tcp.port, 4);
    const c = parseRace(r.stdout);
    expect(c.ok).toBeGreaterThan(0);
    expect(c.leaked).toBe(0);
    expect(tcp.count('127.0.0.3')).toBe(0);
  }, 60_000);

  it.each(['udp-sendto', 'udp-sendmsg'])('%s, 4 s: datagrams reach only the allowed server', async (mode) => {
    const r = await race(mode, '127.0.0.2', '127.0.0.3', udp.port, 4);
    const c = parseRace(r.stdout);
    expect(c.ok).toBeGreaterThan(0);
    expect(c.refused).toBeGreaterThan(0);
    await new Promise((res) => setTimeout(res, 200));
    expect(udp.count('127.0.0.2')).toBeGreaterThan(0);
    expect(udp.count('127.0.0.3')).toBe(0);
  }, 60_000);
});
