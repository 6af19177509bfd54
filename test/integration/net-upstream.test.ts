/**
 * The proxy only where needed, and the user's own proxy kept: `sbx exec` exports proxy
 * variables only when a host or wildcard rule needs sbx's proxy; otherwise the user's proxy
 * variables reach the program unchanged. When sbx's proxy is needed and the user has a proxy,
 * sbx's proxy chains to it: a tiny upstream proxy here records every CONNECT it serves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:net';
import { sbxExec } from './exec-helpers.js';
import { startUpstream, tcpServers, tempWorld, writeHostsFile, type Servers } from './net-helpers.js';

const world = tempWorld('sbx-net-upstream-');
let servers: Servers;
let env: Record<string, string>;
let upstream: Server;
let upstreamUrl: string;
const connects: string[] = [];

beforeAll(async () => {
  servers = await tcpServers({ '127.0.0.2': 'hello from api', '127.0.0.3': 'hello from other' });
  const hosts = writeHostsFile(world.dir, { '127.0.0.2': ['a.wild.test'], '127.0.0.3': ['b.tame.test'] });
  env = { ...world.env, SBX_HOSTS_FILE: hosts };
  upstream = await startUpstream(connects);
  const addr = upstream.address();
  upstreamUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
afterAll(async () => {
  await servers?.close();
  await new Promise<void>((r) => upstream.close(() => r()));
  world.cleanup();
});

const proxyLines = (stdout: string) => stdout.split('\n').filter((l) => /^(https?|all|no)_proxy=/i.test(l)).sort();

describe('proxy variables only where needed', () => {
  it('no host rule: no proxy variables; with a wildcard rule: sbx’s proxy in all of them', async () => {
    const none = await sbxExec(['--', 'env'], { env, cwd: world.dir });
    expect(none.code).toBe(0);
    expect(proxyLines(none.stdout)).toEqual([]);
    const wild = await sbxExec(['--allow-net=*.wild.test', '--', 'env'], { env, cwd: world.dir });
    expect(proxyLines(wild.stdout).filter((l) => /^(HTTPS?|ALL)_PROXY=/.test(l))).toHaveLength(3);
    expect(wild.stdout).toMatch(/^HTTPS_PROXY=http:\/\/127\.0\.0\.1:\d+$/m);
  });

  it("the user's proxy: kept as it is when sbx's proxy is not needed", async () => {
    const r = await sbxExec(['--', 'env'], { env: { ...env, HTTPS_PROXY: upstreamUrl, NO_PROXY: 'intranet.test' }, cwd: world.dir });
    expect(proxyLines(r.stdout)).toEqual([`HTTPS_PROXY=${upstreamUrl}`, 'NO_PROXY=intranet.test']);
  });

  it("the user's proxy: chained to when sbx's proxy is needed — allowed targets go through it (to the decided address), refused ones never reach it", { timeout: 90_000 }, async () => {
    connects.length = 0;
    const userEnv = { ...env, HTTPS_PROXY: upstreamUrl, HTTP_PROXY: upstreamUrl };
    const url = (name: string) => `http://${name}:${servers.port}/`;
    const ok = await sbxExec(['--allow-net=*.wild.test,127.0.0.2', '--', 'curl', '-sS', '-f', '--max-time', '10', url('a.wild.test')], { env: userEnv, cwd: world.dir });
    expect(ok.stdout).toBe('hello from api\n');
    expect(connects).toEqual([`127.0.0.2:${servers.port}`]);
    const refused = await sbxExec(['--allow-net=*.wild.test,127.0.0.2', '--', 'curl', '-sS', '-f', '--max-time', '10', url('b.tame.test')], { env: userEnv, cwd: world.dir });
    expect(refused.code).toBe(22);
    expect(connects).toEqual([`127.0.0.2:${servers.port}`]);
  });
});
