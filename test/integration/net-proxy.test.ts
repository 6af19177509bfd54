/**
 * Wildcards through the built-in proxy, inside a real sandbox: the session gets the proxy
 * variables, a proxied name matching the wildcard is reached and one that does not is
 * refused; a program that ignores the proxy is held to the address rules by the engine.
 * The proxy decides every address on the same finished policy: a wildcard name resolving
 * to a local address no rule allows (127.0.0.4) or to a denied loopback service (127.0.0.5)
 * is refused, via CONNECT and SOCKS5, in any case and with a trailing dot. Loopback only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, policyFor, sandboxed, tcpServers, tempWorld, writeHostsFile, type Servers } from './net-helpers.js';

const world = tempWorld('sbx-net-proxy-');
let servers: Servers;
let hosts: string;
// Loopback is local: a wildcard reaches 127.0.0.2 and ::1 because address rules allow them.
const policy = () => policyFor({ allow: ['*.wild.test', '127.0.0.2', '::1'], deny: ['bad.wild.test', '127.0.0.5'] });

beforeAll(async () => {
  servers = await tcpServers({
    '127.0.0.1': 'hello from one',
    '127.0.0.2': 'hello from wild',
    '127.0.0.3': 'hello from tame',
    '127.0.0.4': 'hello from local',
    '127.0.0.5': 'hello from denied',
    '::1': 'hello from six',
  });
  hosts = writeHostsFile(world.dir, {
    // A denied name's addresses are denied for every name (the engine sees addresses only).
    '127.0.0.2': ['a.wild.test'],
    '127.0.0.3': ['b.tame.test'],
    '127.0.0.6': ['bad.wild.test'],
    '127.0.0.4': ['local.wild.test'],
    '127.0.0.5': ['denied.wild.test'],
    '::1': ['six.wild.test'],
  });
});
afterAll(async () => {
  await servers?.close();
  world.cleanup();
});

const run = (argv: string[]) => sandboxed(policy(), argv, { env: world.env, hostsFile: hosts, cwd: world.dir });
const url = (name: string) => `http://${name}:${servers.port}/`;

describe('wildcard through the proxy (curl uses the session\'s proxy variables)', () => {
  it('http_proxy: a name under the wildcard is fetched; a name outside it gets 403', async () => {
    const ok = await run(['curl', '-sS', '--max-time', '5', url('a.wild.test')]);
    expect(ok.stdout).toBe('hello from wild\n');
    const denied = await run(['curl', '-sS', '-i', '--max-time', '5', url('b.tame.test')]);
    expect(denied.stdout).toMatch(/^HTTP\/1.1 403/);
    expect(denied.stderr).toMatch(/sbx: denied net b\.tame\.test \(127\.0\.0\.3:\d+\) via proxy \(name not allowed\)/);
    expect(servers.count('127.0.0.3')).toBe(0);
  });

  it('CONNECT (-p): allowed wildcard name and an IPv6 one, refused denied name inside the wildcard', async () => {
    expect((await run(['curl', '-sS', '-p', '--max-time', '5', url('a.wild.test')])).stdout).toBe('hello from wild\n');
    expect((await run(['curl', '-sS', '-p', '--max-time', '5', url('six.wild.test')])).stdout).toBe('hello from six\n');
    const denied = await run(['curl', '-sS', '-p', '--max-time', '5', url('bad.wild.test')]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/denied net bad\.wild\.test/);
  });

  it('SOCKS5 (ALL_PROXY=socks5h://…): allowed and refused', async () => {
    const socks = (name: string) => ['sh', '-c', `curl -sS --max-time 5 --proxy "$ALL_PROXY" ${url(name)}`];
    expect((await run(socks('a.wild.test'))).stdout).toBe('hello from wild\n');
    const denied = await run(socks('b.tame.test'));
    expect(denied.code).not.toBe(0);
    expect(denied.stdout).toBe('');
  });

  it('tiny C client speaking HTTP CONNECT to the proxy port from the environment', async () => {
    const client = (target: string) => ['sh', '-c', `port=\${HTTP_PROXY##*:}; exec ${fixture('net_client')} http-connect "$port" ${target}`];
    const ok = await run(client(`a.wild.test:${servers.port}`));
    expect(ok.stdout).toBe('ok hello from wild\n');
    const denied = await run(client(`b.tame.test:${servers.port}`));
    expect(denied.stdout).toMatch(/^refused HTTP\/1.1 403/);
  });
});

describe('a wildcard name on an address the policy denies', () => {
  const via = {
    connect: (name: string) => ['curl', '-sS', '-p', '--max-time', '5', url(name)],
    socks5: (name: string) => ['sh', '-c', `curl -sS --max-time 5 --proxy "$ALL_PROXY" ${url(name)}`],
  };
  for (const [how, cmd] of Object.entries(via)) {
    it(`${how}: refused for a local address no rule allows and for a denied loopback service, in any case, with a trailing dot`, async () => {
      for (const name of ['local.wild.test', 'LOCAL.Wild.test', 'local.wild.test.', 'denied.wild.test', 'Denied.Wild.Test.']) {
        const r = await run(cmd(name));
        expect(r.code, name).not.toBe(0);
        expect(r.stdout, name).toBe('');
      }
      expect(servers.count('127.0.0.4')).toBe(0);
      expect(servers.count('127.0.0.5')).toBe(0);
      // The allowed twin: the same wildcard, an address a rule allows, any case, a trailing dot.
      for (const name of ['a.wild.test', 'A.WILD.test', 'a.wild.test.']) expect((await run(cmd(name))).stdout, name).toBe('hello from wild\n');
    });
  }
  it('the denial line says why', async () => {
    const r = await run(via.connect('local.wild.test'));
    expect(r.stderr).toMatch(/sbx: denied net local\.wild\.test \(127\.0\.0\.4:\d+\) via proxy \(local address: allow it by address\)/);
    const d = await run(via.connect('denied.wild.test'));
    expect(d.stderr).toMatch(/sbx: denied net denied\.wild\.test \(127\.0\.0\.5:\d+\) via proxy \(address denied\)/);
  });
});

describe('a program that ignores the proxy', () => {
  it('is held to the address rules: the wildcard names\' other addresses are denied, the allowed one connects', async () => {
    const direct = await run(['curl', '-sS', '--max-time', '5', '--noproxy', '*', '--resolve', `local.wild.test:${servers.port}:127.0.0.4`, url('local.wild.test')]);
    expect(direct.code).not.toBe(0);
    expect(direct.stdout).toBe('');
    const raw = await run([fixture('net_client'), 'tcp', '127.0.0.3', String(servers.port)]);
    expect(raw.stdout).toMatch(/^error connect/);
    const allowed = await run([fixture('net_client'), 'tcp', '127.0.0.2', String(servers.port)]);
    expect(allowed.stdout).toBe('ok hello from wild\n');
    const proxied = await run(['curl', '-sS', '--max-time', '5', url('a.wild.test')]);
    expect(proxied.stdout).toBe('hello from wild\n');
  });

  it('the proxy port is reachable, but no other loopback port', async () => {
    const other = await run([fixture('net_client'), 'tcp', '127.0.0.1', String(servers.port)]);
    expect(other.stdout).toMatch(/^error connect/);
    expect(servers.count('127.0.0.1')).toBe(0);
    const env = await run(['sh', '-c', 'echo "$HTTP_PROXY $https_proxy $ALL_PROXY $NO_PROXY"']);
    expect(env.stdout).toMatch(/^http:\/\/127\.0\.0\.1:\d+ http:\/\/127\.0\.0\.1:\d+ socks5h:\/\/127\.0\.0\.1:\d+ localhost,127\.0\.0\.1,::1\n$/);
  });
});
