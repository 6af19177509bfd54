/**
 * `sbx exec --allow-net=…` end to end (CLI → policy compiler → prepareNetwork → engine):
 * names through the test hosts file, wildcards through the proxy, denials named.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sbxExec } from './exec-helpers.js';
import { fixture, tcpServers, tempWorld, writeHostsFile, type Servers } from './net-helpers.js';

const world = tempWorld('sbx-net-cli-');
let servers: Servers;
let env: Record<string, string>;

beforeAll(async () => {
  servers = await tcpServers({ '127.0.0.2': 'hello from api', '127.0.0.3': 'hello from other' });
  const hosts = writeHostsFile(world.dir, {
    '127.0.0.2': ['api.example.test', 'a.wild.test'],
    '127.0.0.3': ['other.example.test', 'b.tame.test'],
  });
  env = { ...world.env, SBX_HOSTS_FILE: hosts };
});
afterAll(async () => {
  await servers?.close();
  world.cleanup();
});

const exec = (args: string[]) => sbxExec(args, { env, cwd: world.dir });
const tcp = (addr: string) => [fixture('net_client'), 'tcp', addr, String(servers.port)];

describe('sbx exec --allow-net', () => {
  it('a name: its address is reachable, another is denied (address and port in the denial line)', async () => {
    const ok = await exec(['--allow-net=api.example.test', '--', ...tcp('127.0.0.2')]);
    expect(ok.stdout).toBe('ok hello from api\n');
    expect(ok.code).toBe(0);
    const denied = await exec(['--allow-net=api.example.test', '--', ...tcp('127.0.0.3')]);
    expect(denied.stdout).toMatch(/^error connect/);
    expect(denied.stderr).toMatch(new RegExp(`sbx: denied net 127\\.0\\.0\\.3:${servers.port}`));
  });

  it('a denial at connect names the host when sbx resolved it (here: the allowed name on another port)', async () => {
    const denied = await exec(['--allow-net=api.example.test:1', '--', ...tcp('127.0.0.2')]);
    expect(denied.stdout).toMatch(/^error connect/);
    expect(denied.stderr).toMatch(new RegExp(`sbx: denied net api\\.example\\.test \\(127\\.0\\.0\\.2:${servers.port}\\)`));
  });

  it('a wildcard: names under it through the proxy, on a local address only where an address rule allows it; others refused; a direct connect decided by address', async () => {
    const url = (name: string) => `http://${name}:${servers.port}/`;
    // Loopback is local: the wildcard alone does not reach it.
    const local = await exec(['--allow-net=*.wild.test', '--', 'curl', '-sS', '-f', '--max-time', '5', url('a.wild.test')]);
    expect(local.code).toBe(22);
    expect(local.stderr).toMatch(/a\.wild\.test .*local address/);
    const ok = await exec(['--allow-net=*.wild.test,127.0.0.2', '--', 'curl', '-sS', '-f', '--max-time', '5', url('a.wild.test')]);
    expect(ok.stdout).toBe('hello from api\n');
    const refused = await exec(['--allow-net=*.wild.test,127.0.0.2', '--', 'curl', '-sS', '-f', '--max-time', '5', url('b.tame.test')]);
    expect(refused.code).toBe(22);
    expect(refused.stderr).toMatch(/b\.tame\.test/);
    const direct = await exec(['--allow-net=*.wild.test,127.0.0.2', '--', ...tcp('127.0.0.3')]);
    expect(direct.stdout).toMatch(/^error connect/);
  });

  it('an address with a port, IPv4-mapped too', async () => {
    const ok = await exec([`--allow-net=127.0.0.2:${servers.port}`, '--', fixture('net_client'), 'tcp', '::ffff:127.0.0.2', String(servers.port)]);
    expect(ok.stdout).toBe('ok hello from api\n');
    const denied = await exec([`--allow-net=127.0.0.2:${servers.port}`, '--', ...tcp('127.0.0.3')]);
    expect(denied.stdout).toMatch(/^error connect/);
  });
});
