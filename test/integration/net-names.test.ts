/**
 * Hostnames in net.allow: resolved (through the test hosts file, names → 127.0.0.x) and
 * enforced at connect by the engine, whatever the program's proxy settings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, policyFor, sandboxed, tcpServers, tempWorld, writeHostsFile, type Servers } from './net-helpers.js';

const world = tempWorld('sbx-net-names-');
let servers: Servers;
let hosts: string;

beforeAll(async () => {
  servers = await tcpServers({ '127.0.0.2': 'hello from api', '127.0.0.3': 'hello from other' });
  hosts = writeHostsFile(world.dir, {
    '127.0.0.2': ['api.example.test'],
    '127.0.0.3': ['other.example.test'],
  });
});
afterAll(async () => {
  await servers?.close();
  world.cleanup();
});

const run = (allow: string[], argv: string[], deny: string[] = []) =>
  sandboxed(policyFor({ allow, deny }), argv, { env: world.env, hostsFile: hosts, cwd: world.dir });

describe('allowed name reachable, others not (engine, at connect)', () => {
  it('C client: the allowed name\'s address connects; another address is refused and never reaches its server', async () => {
    const before = servers.count('127.0.0.3');
    const ok = await run(['api.example.test'], [fixture('net_client'), 'tcp', '127.0.0.2', String(servers.port)]);
    expect(ok.stdout).toBe('ok hello from api\n');
    expect(ok.code).toBe(0);
    const denied = await run(['api.example.test'], [fixture('net_client'), 'tcp', '127.0.0.3', String(servers.port)]);
    expect(denied.stdout).toMatch(/^error connect: /);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/denied net 127\.0\.0\.3:\d+/);
    expect(servers.count('127.0.0.3')).toBe(before);
  });

  it('curl without the proxy (--noproxy, --resolve): allowed name fetched, other name refused at connect', async () => {
    const curl = (name: string, addr: string) => [
      'curl', '-sS', '--max-time', '5', '--noproxy', '*', '--resolve', `${name}:${servers.port}:${addr}`, `http://${name}:${servers.port}/`,
    ];
    const ok = await run(['api.example.test'], curl('api.example.test', '127.0.0.2'));
    expect(ok.stdout).toBe('hello from api\n');
    const denied = await run(['api.example.test'], curl('other.example.test', '127.0.0.3'));
    expect(denied.code).not.toBe(0);
    expect(denied.stdout).toBe('');
  });

  it('a port on the entry limits the name to that port', async () => {
    const ok = await run([`api.example.test:${servers.port}`], [fixture('net_client'), 'tcp', '127.0.0.2', String(servers.port)]);
    expect(ok.stdout).toBe('ok hello from api\n');
    const denied = await run([`api.example.test:${servers.port === 1 ? 2 : 1}`], [fixture('net_client'), 'tcp', '127.0.0.2', String(servers.port)]);
    expect(denied.stdout).toMatch(/^error connect/);
  });

  it('a denied name wins over an allowed network that contains it', async () => {
    const denied = await run(['127.0.0.0/8'], [fixture('net_client'), 'tcp', '127.0.0.3', String(servers.port)], ['other.example.test']);
    expect(denied.stdout).toMatch(/^error connect/);
    // The denial line names the host (sbx resolved it), the address, the port and the rule.
    expect(denied.stderr).toMatch(new RegExp(`sbx: denied net other\\.example\\.test \\(127\\.0\\.0\\.3:${servers.port}\\) \\(.*other\\.example\\.test`));
    const ok = await run(['127.0.0.0/8'], [fixture('net_client'), 'tcp', '127.0.0.2', String(servers.port)], ['other.example.test']);
    expect(ok.stdout).toBe('ok hello from api\n');
  });

  it('net.allow absent: everything reachable; net.allow []: nothing, loopback included', async () => {
    const open = await sandboxed(policyFor({}), [fixture('net_client'), 'tcp', '127.0.0.3', String(servers.port)], { env: world.env, hostsFile: hosts });
    expect(open.stdout).toBe('ok hello from other\n');
    const closed = await run([], [fixture('net_client'), 'tcp', '127.0.0.2', String(servers.port)]);
    expect(closed.stdout).toMatch(/^error connect/);
  });
});
