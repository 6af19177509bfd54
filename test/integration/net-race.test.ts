/**
 * The connect/sendto/sendmsg race: threads flip one shared sockaddr between an allowed
 * and a denied destination while other threads use it. The engine decides and connects on
 * its own copy of the address and socket, so a denied destination is never reached.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readlinkSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, greeters, parseRace, policyFor, sandboxed, tempWorld, udpServers, unixServer, type Servers } from './net-helpers.js';

const world = tempWorld('sbx-net-race-');
let tcp: Servers;
let udp: Servers;
const okSock = join(world.dir, 'ok.sock');
const noSock = join(world.dir, 'no.sock');
let unixOk: { count(): number; close(): Promise<void> };
let unixNo: { count(): number; close(): Promise<void> };

beforeAll(async () => {
  tcp = await greeters({ '127.0.0.2': 'ALLOWED', '127.0.0.3': 'DENIED' });
  udp = await udpServers(['127.0.0.2', '127.0.0.3']);
  unixOk = await unixServer(okSock, 'ALLOWED');
  unixNo = await unixServer(noSock, 'DENIED');
});
afterAll(async () => {
  await tcp?.close();
  await udp?.close();
  await unixOk?.close();
  await unixNo?.close();
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

  it('unix socket path flipped in the sockaddr, 4 s: only the allowed socket is reached', async () => {
    const r = await sandboxed(policyFor({ unix: { allow: [okSock] } }), [fixture('net_race'), 'unix', okSock, noSock, '0', '4', '4'], { env: world.env, cwd: world.dir });
    const c = parseRace(r.stdout);
    expect(c.ok).toBeGreaterThan(0);
    expect(c.refused).toBeGreaterThan(0);
    expect(c.leaked).toBe(0);
    expect(unixNo.count()).toBe(0);
  }, 60_000);

  it('unix socket behind a symlink re-pointed by racing renames, 4 s: only the allowed socket is reached', async () => {
    const link = join(world.dir, 'link.sock');
    symlinkSync(okSock, `${link}.a`);
    symlinkSync(noSock, `${link}.b`);
    symlinkSync(`${link}.a`, link);
    const r = await sandboxed(policyFor({ unix: { allow: [okSock] } }), [fixture('net_race'), 'unix-symlink', link, '-', '0', '4', '4'], { env: world.env, cwd: world.dir });
    const c = parseRace(r.stdout);
    expect(c.ok).toBeGreaterThan(0);
    expect(c.leaked).toBe(0);
    expect(unixNo.count()).toBe(0);
    // The name leads to a socket a server outside answers on: the sandbox may not replace it
    // (escape-net "a socket served outside cannot be removed"), so no flip lands and every
    // connect reaches the allowed server; the refusal is said.
    expect(r.stderr).toMatch(/sbx: denied unix .*served outside this sandbox/);
    expect(readlinkSync(link)).toBe(`${link}.a`);
  }, 60_000);
});

// The other half of a send's identity: the socket under the fd number. A thread dup2()s a
// decoy (a unix stream socket, whose address the kernel ignores, or a routing netlink one)
// and a UDP or TCP socket onto one number while sends to a denied address go out on it.
// Were the engine to let the kernel do a send it saw on the decoy, the kernel would look the
// number up again and send the datagram (or make the fast-open connection) undecided.
describe('the socket swapped under the fd number', () => {
  const swap = (mode: string, addr: string, port: number) =>
    sandboxed(policy(), [fixture('fd_swap_send'), mode, addr, String(port), '3'], { env: world.env, cwd: world.dir });
  const parse = (out: string) => {
    const m = /direct=(\w+) sent=(\d+) greeted=(\S+)/.exec(out);
    if (!m) throw new Error(`fd_swap_send printed no counts: ${out}`);
    return { direct: m[1], sent: Number(m[2]), greeted: m[3] };
  };

  it.each(['unix', 'unix-sendmsg', 'netlink'])('UDP behind a %s decoy, 3 s: no datagram reaches the denied server; the allowed one gets them', async (mode) => {
    const before = udp.count('127.0.0.3');
    const denied = parse((await swap(mode, '127.0.0.3', udp.port)).stdout);
    expect(denied.direct).toBe('refused');
    await new Promise((res) => setTimeout(res, 200));
    expect(udp.count('127.0.0.3') - before).toBe(0);
    // The twin: the same swapping, to the address the policy allows, is sent (by the engine).
    const got = udp.count('127.0.0.2');
    const allowed = parse((await swap(mode, '127.0.0.2', udp.port)).stdout);
    expect(allowed.direct).toBe('ok');
    expect(allowed.sent).toBeGreaterThan(0);
    await new Promise((res) => setTimeout(res, 200));
    expect(udp.count('127.0.0.2') - got).toBeGreaterThan(0);
  }, 60_000);

  it('TCP fast open behind a netlink decoy, 3 s: no connection to the denied server; the allowed one greets', async () => {
    const before = tcp.count('127.0.0.3');
    const denied = parse((await swap('fastopen', '127.0.0.3', tcp.port)).stdout);
    expect(denied.direct).toBe('refused');
    expect(denied.greeted).not.toBe('DENIED');
    expect(tcp.count('127.0.0.3') - before).toBe(0);
    const allowed = parse((await swap('fastopen', '127.0.0.2', tcp.port)).stdout);
    expect(allowed.direct).toBe('ok');
    expect(allowed.greeted).toBe('ALLOWED');
  }, 60_000);
});
