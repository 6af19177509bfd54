/**
 * Wildcards through the built-in proxy, inside a real sandbox: the session gets the proxy
 * variables, a proxied name matching the wildcard is reached and one that does not is
 * refused; a program that ignores the proxy and connects directly is denied by the engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, policyFor, sandboxed, tcpServers, tempWorld, writeHostsFile, type Servers } from './net-helpers.js';

const world = tempWorld('sbx-net-proxy-');
let servers: Servers;
let hosts: string;
const policy = () => policyFor({ allow: ['*.wild.test'], deny: ['bad.wild.test'] });

beforeAll(async () => {
  servers = await tcpServers({ '127.0.0.1': 'hello from one', '127.0.0.2': 'hello from wild', '127.0.0.3': 'hello from tame', '::1': 'hello from six' });
  hosts = writeHostsFile(world.dir, {
    '127.0.0.2': ['a.wild.test', 'bad.wild.test'],
    '127.0.0.3': ['b.tame.test'],
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

describe('a program that ignores the proxy', () => {
  it('connecting directly to the address of an allowed wildcard name is denied (the proxy path works)', async () => {
    const direct = await run(['curl', '-sS', '--max-time', '5', '--noproxy', '*', '--resolve', `a.wild.test:${servers.port}:127.0.0.2`, url('a.wild.test')]);
    expect(direct.code).not.toBe(0);
    expect(direct.stdout).toBe('');
    const raw = await run([fixture('net_client'), 'tcp', '127.0.0.2', String(servers.port)]);
    expect(raw.stdout).toMatch(/^error connect/);
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
