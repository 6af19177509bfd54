/**
 * The filtering proxy against real loopback servers, through real clients (curl and a
 * raw SOCKS5 client). Names come from a test hosts file (127.0.0.x / ::1 only).
 *
 * Every address the proxy connects to is decided on the finished policy, like a direct
 * connect: loopback is local, so a name allowed only by the wildcard reaches it only
 * where an address rule allows it (127.0.0.2 and 127.0.0.6 here; 127.0.0.5 not).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { execa } from 'execa';
import { prepareNetwork, type PreparedNetwork, type ProxyDenial } from '../../../src/net/index.js';
import { netPolicy } from './helpers.js';
import { hostsFile, httpServers, type Loopback, removeHostsFiles } from './servers.js';

afterAll(removeHostsFiles);


let servers: Loopback;
let net: PreparedNetwork;
const denials: ProxyDenial[] = [];

beforeAll(async () => {
  servers = await httpServers(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '::1']);
  const file = hostsFile({
    '127.0.0.2': ['a.wild.test', 'exact.test'],
    '127.0.0.3': ['evil.wild.test', 'shared.wild.test'],
    '127.0.0.5': ['other.test', 'local.wild.test'],
    '127.0.0.4': ['deep.in.wild.test', 'blocked-ip.wild.test'],
    '::1': ['six.wild.test'],
  });
  const policy = netPolicy(['*.wild.test', 'exact.test', '127.0.0.6', '127.0.0.2'], ['evil.wild.test', '127.0.0.4/32']);
  net = await prepareNetwork(policy, { env: { SBX_HOSTS_FILE: file }, onDeny: (d) => denials.push(d), resolvConf: '/nonexistent' });
});
afterAll(async () => {
  await net?.close();
  await servers?.close();
});

async function curl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await execa('curl', ['-sS', '--max-time', '10', '--noproxy', '', ...args], { env: { PATH: process.env.PATH }, extendEnv: false, stripFinalNewline: false, reject: false });
  if (r.exitCode === undefined) throw r; // curl did not run to an exit: the error says why
  return { code: r.exitCode, out: r.stdout, err: r.stderr };
}

describe('HTTP CONNECT', () => {
  const proxy = () => `http://127.0.0.1:${net.proxyPort}`;
  it('tunnels to a name matching an allowed wildcard', async () => {
    const r = await curl(['-p', '--proxy', proxy(), `http://a.wild.test:${servers.port}/x`]);
    expect(r.out).toBe('hello from 127.0.0.2 /x\n');
  });
  it('tunnels to an allowed exact name; refuses a wildcard name on a local IPv6 address (::1)', async () => {
    expect((await curl(['-p', '--proxy', proxy(), `http://exact.test:${servers.port}/`])).out).toBe('hello from 127.0.0.2 /\n');
    expect((await curl(['-p', '--proxy', proxy(), `http://six.wild.test:${servers.port}/`])).code).not.toBe(0);
  });
  it('refuses a wildcard name resolving to a local address no address rule allows, in any case and with a trailing dot', async () => {
    for (const host of ['local.wild.test', 'LOCAL.Wild.TEST', 'local.wild.test.']) {
      const r = await curl(['-p', '--proxy', proxy(), `http://${host}:${servers.port}/`]);
      expect(r.code, host).not.toBe(0);
      expect(r.out, host).toBe('');
    }
    expect(denials).toContainEqual(expect.objectContaining({ via: 'connect', name: 'local.wild.test', address: '127.0.0.5', rule: 0, reason: 'local address: allow it by address' }));
    // Allowed twin: the same wildcard, an address an address rule allows, any case, a trailing dot.
    for (const host of ['a.wild.test', 'A.WILD.test', 'a.wild.test.']) {
      expect((await curl(['-p', '--proxy', proxy(), `http://${host}:${servers.port}/`])).out, host).toBe('hello from 127.0.0.2 /\n');
    }
  });
  it('refuses a name the wildcard does not cover, and a denied name inside it', async () => {
    const other = await curl(['-p', '--proxy', proxy(), `http://other.test:${servers.port}/`]);
    expect(other.code).not.toBe(0);
    expect(other.err).toMatch(/403/);
    const evil = await curl(['-p', '--proxy', proxy(), `http://evil.wild.test:${servers.port}/`]);
    expect(evil.code).not.toBe(0);
    expect(denials).toContainEqual(expect.objectContaining({ via: 'connect', name: 'evil.wild.test', port: servers.port, rule: 4 }));
    expect(denials).toContainEqual(expect.objectContaining({ via: 'connect', name: 'other.test', address: '127.0.0.5', rule: -1 }));
  });
  it("another name's deny sharing the address refuses it too, as at a direct connect", async () => {
    const r = await curl(['-p', '--proxy', proxy(), `http://shared.wild.test:${servers.port}/`]);
    expect(r.code).not.toBe(0);
    expect(denials).toContainEqual(expect.objectContaining({ name: 'shared.wild.test', address: '127.0.0.3', rule: 4, reason: 'address denied' }));
  });
  it('the apex of a wildcard is not covered', async () => {
    const r = await curl(['-p', '--proxy', proxy(), `http://wild.test:${servers.port}/`]);
    expect(r.code).not.toBe(0);
  });
  it('an explicit address deny holds behind an allowed wildcard', async () => {
    const r = await curl(['-p', '--proxy', proxy(), `http://blocked-ip.wild.test:${servers.port}/`]);
    expect(r.code).not.toBe(0);
    expect(denials).toContainEqual(expect.objectContaining({ name: 'blocked-ip.wild.test', address: '127.0.0.4', rule: 5 }));
    expect(net.describe(`127.0.0.4:${servers.port}`)).toMatch(/blocked-ip\.wild\.test/);
  });
  it('IP literals are decided by the address rules', async () => {
    expect((await curl(['-p', '--proxy', proxy(), `http://127.0.0.6:${servers.port}/`])).out).toBe('hello from 127.0.0.6 /\n');
    expect((await curl(['-p', '--proxy', proxy(), `http://127.0.0.4:${servers.port}/`])).code).not.toBe(0);
    expect((await curl(['-p', '--proxy', proxy(), `http://[::ffff:127.0.0.6]:${servers.port}/`])).out).toBe('hello from 127.0.0.6 /\n');
    expect((await curl(['-p', '--proxy', proxy(), `http://127.0.0.3:${servers.port}/`])).code).not.toBe(0); // evil.wild.test's address
  });
});

describe('plain HTTP proxying (absolute-form)', () => {
  it('forwards to an allowed name, refuses a denied one', async () => {
    const proxy = `http://127.0.0.1:${net.proxyPort}`;
    expect((await curl(['--proxy', proxy, `http://a.wild.test:${servers.port}/plain?q=1`])).out).toBe('hello from 127.0.0.2 /plain?q=1\n');
    const r = await curl(['-i', '--proxy', proxy, `http://other.test:${servers.port}/`]);
    expect(r.out).toMatch(/^HTTP\/1.1 403/);
    expect(r.out).toMatch(/denied by the network policy/);
  });
});

describe('SOCKS5', () => {
  it('curl socks5h (remote names): wildcard allowed, denied, not covered', async () => {
    const proxy = `socks5h://127.0.0.1:${net.proxyPort}`;
    expect((await curl(['--proxy', proxy, `http://deep.in.wild.test:${servers.port}/`])).code).not.toBe(0); // 127.0.0.4 denied
    expect((await curl(['--proxy', proxy, `http://a.wild.test:${servers.port}/s`])).out).toBe('hello from 127.0.0.2 /s\n');
    expect((await curl(['--proxy', proxy, `http://evil.wild.test:${servers.port}/`])).code).not.toBe(0);
    expect((await curl(['--proxy', proxy, `http://other.test:${servers.port}/`])).code).not.toBe(0);
  });

  /** A raw SOCKS5 CONNECT; returns the reply code and, if granted, the HTTP answer. */
  async function socks(atyp: number, addr: Buffer, port: number): Promise<{ rep: number; body: string }> {
    return new Promise((resolve, reject) => {
      const s = connect(net.proxyPort!, '127.0.0.1');
      let buf = Buffer.alloc(0);
      let stage = 0;
      s.on('error', reject);
      s.on('connect', () => s.write(Buffer.from([5, 1, 0])));
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (stage === 0 && buf.length >= 2) {
          expect([...buf.subarray(0, 2)]).toEqual([5, 0]);
          buf = buf.subarray(2);
          stage = 1;
          const p = Buffer.alloc(2);
          p.writeUInt16BE(port);
          s.write(Buffer.concat([Buffer.from([5, 1, 0, atyp]), addr, p]));
        }
        if (stage === 1 && buf.length >= 10) {
          const rep = buf[1]!;
          buf = buf.subarray(10);
          stage = 2;
          if (rep !== 0) return void resolve({ rep, body: '' });
          s.write('GET /raw HTTP/1.0\r\n\r\n');
        }
      });
      s.on('close', () => stage === 2 && resolve({ rep: 0, body: buf.toString() }));
    });
  }
  const name = (n: string) => Buffer.concat([Buffer.from([n.length]), Buffer.from(n)]);
  const port = () => servers.port;

  it('domain name: allowed wildcard granted, denied name refused with "not allowed by ruleset"', async () => {
    expect((await socks(3, name('a.wild.test'), port())).body).toMatch(/hello from 127.0.0.2 \/raw/);
    expect((await socks(3, name('evil.wild.test'), port())).rep).toBe(2);
    expect((await socks(3, name('nowhere.wild.test'), port())).rep).toBe(4); // does not resolve
  });
  it('IPv4: allowed address granted, denied refused', async () => {
    expect((await socks(1, Buffer.from([127, 0, 0, 6]), port())).body).toMatch(/hello from 127.0.0.6/);
    expect((await socks(1, Buffer.from([127, 0, 0, 4]), port())).rep).toBe(2);
  });
  it('IPv6: ::1 is not allowed by this policy; a mapped allowed IPv4 is', async () => {
    const v6 = (s: string) => Buffer.from(s.replace(/:/g, ''), 'hex');
    expect((await socks(4, v6('0000:0000:0000:0000:0000:0000:0000:0001'), port())).rep).toBe(2);
    expect((await socks(4, v6('0000:0000:0000:0000:0000:ffff:7f00:0006'), port())).body).toMatch(/hello from 127.0.0.6/);
  });
  it('a wildcard name on a local address no address rule allows is refused (::1, 127.0.0.5; any case, trailing dot)', async () => {
    expect((await socks(3, name('six.wild.test'), port())).rep).toBe(2);
    for (const host of ['local.wild.test', 'Local.Wild.Test', 'local.wild.test.']) expect((await socks(3, name(host), port())).rep, host).toBe(2);
    expect((await socks(3, name('a.wild.test.'), port())).body).toMatch(/hello from 127.0.0.2 \/raw/);
  });
});

describe('environment handed to sessions', () => {
  it('exports the proxy in upper and lower case, NO_PROXY for localhost', () => {
    const http = `http://127.0.0.1:${net.proxyPort}`;
    expect(net.env).toMatchObject({
      HTTP_PROXY: http,
      https_proxy: http,
      ALL_PROXY: `socks5h://127.0.0.1:${net.proxyPort}`,
      NO_PROXY: 'localhost,127.0.0.1,::1',
      no_proxy: 'localhost,127.0.0.1,::1',
    });
  });
});
