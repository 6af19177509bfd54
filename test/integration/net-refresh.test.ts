/**
 * Names are kept fresh while a program runs: when the name's address changes (here: the
 * test hosts file is rewritten, TTL 1 s), the new address becomes reachable inside the
 * running sandbox without a restart (a refreshed snapshot goes to engineSetPolicy).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, policyFor, sandboxed, tcpServers, tempWorld, writeHostsFile, type Servers } from './net-helpers.js';

const world = tempWorld('sbx-net-refresh-');
let servers: Servers;

beforeAll(async () => {
  servers = await tcpServers({ '127.0.0.2': 'hello from two', '127.0.0.3': 'hello from three' });
});
afterAll(async () => {
  await servers?.close();
  world.cleanup();
});

describe('TTL refresh', () => {
  it('a renumbered name: the new address is denied before the change and allowed after it', async () => {
    const hosts = writeHostsFile(world.dir, { '127.0.0.2': ['api.example.test'] });
    const first = join(world.dir, 'first-done');
    const go = join(world.dir, 'go');
    const client = `${fixture('net_client')} tcp 127.0.0.3 ${servers.port}`;
    const script = [
      `${client}; touch ${first}`,
      `while [ ! -f ${go} ]; do sleep 0.1; done`,
      `for i in $(seq 100); do ${client} && exit 0; sleep 0.1; done; exit 1`,
    ].join('\n');
    const running = sandboxed(policyFor({ allow: ['api.example.test'] }), ['sh', '-c', script], {
      env: { ...world.env, SBX_HOSTS_TTL: '1' },
      hostsFile: hosts,
      cwd: world.dir,
    });
    const deadline = Date.now() + 20_000;
    while (!existsSync(first) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    writeHostsFile(world.dir, { '127.0.0.3': ['api.example.test'] });
    writeFileSync(go, '');
    const r = await running;
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^error connect/); // before: 127.0.0.3 is not api.example.test
    expect(lines.at(-1)).toBe('ok hello from three'); // after the refresh it is
    expect(r.code).toBe(0);
  }, 40_000);
});
