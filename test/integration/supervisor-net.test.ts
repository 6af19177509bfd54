/**
 * Network policy in supervisor sessions (issue 6 through src/net): names resolved by the
 * supervisor (a test hosts file, given to the daemon as SBX_DAEMON_HOSTS_FILE), direct
 * connects decided on their addresses, wildcards through the session's own proxy, whose
 * variables `sbx shell` puts in the session's environment. Servers on 127.0.0.x only.
 *
 * The shell's own SBX_HOSTS_FILE points at a hosts file with wrong addresses: a daemon
 * started on demand must not inherit it (if it did, the allowed name would not be reachable).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { makeProject, makeSandbox, until, type Sandbox } from './supervisor-helpers.js';
import { tcpServers, writeHostsFile, type Servers } from './net-helpers.js';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';

let sb: Sandbox;
let servers: Servers;
beforeAll(async () => {
  sb = makeSandbox('net');
  servers = await tcpServers({ '127.0.0.2': 'hello from allowed', '127.0.0.3': 'hello from other', '127.0.0.4': 'hello from wild', '127.0.0.5': 'hello from tame' });
  const good = join(sb.dir, 'good');
  const bad = join(sb.dir, 'bad');
  mkdirSync(good);
  mkdirSync(bad);
  sb.env.SBX_DAEMON_HOSTS_FILE = writeHostsFile(good, {
    '127.0.0.2': ['allowed.test'],
    '127.0.0.3': ['other.test'],
    '127.0.0.4': ['a.wild.test'],
    '127.0.0.5': ['b.tame.test'],
  });
  // What the shell has; the daemon must not use it.
  sb.env.SBX_HOSTS_FILE = writeHostsFile(bad, { '127.0.0.9': ['allowed.test', 'other.test', 'a.wild.test', 'b.tame.test'] });
});
afterAll(async () => {
  sb?.cleanup();
  await servers?.close();
});

const t = (name: string, cmd: string) => `if out=$(${cmd} 2>&1); then echo "${name} ok $out"; else echo "${name} fail $out"; fi`;

describe('network policy in a session', () => {
  it('allowed name reachable, other refused at connect; wildcard allowed through the proxy, non-matching name refused; logged with names', { timeout: 90_000 }, async () => {
    const p = makeProject(
      join(sb.home, 'netp'),
      'version: 1\nnet:\n  allow: ["allowed.test", "*.wild.test", "127.0.0.4"]\n  deny: ["other.test"]\n',
    );
    expect(sb.sbx(['trust'], { cwd: p }).code).toBe(0);
    const port = servers.port;
    // Direct connects (proxy ignored) with the name pinned to the address the hosts file gives.
    const direct = (name: string, addr: string) => `curl -sS --max-time 5 --noproxy '*' --resolve ${name}:${port}:${addr} http://${name}:${port}/`;
    const proxied = (name: string) => `curl -sS --max-time 5 http://${name}:${port}/`;
    const script = [
      'echo "proxy=$HTTP_PROXY"',
      t('direct-allowed', direct('allowed.test', '127.0.0.2')),
      t('direct-other', direct('other.test', '127.0.0.3')),
      t('proxy-wild', proxied('a.wild.test')),
      t('proxy-tame', proxied('b.tame.test')),
      t('direct-wild', direct('a.wild.test', '127.0.0.4')),
    ].join('\n');
    // Async: the servers live in this process (a spawnSync would block them).
    const r = await sb.spawnSbx(['shell', '--', 'sh', '-c', script], { cwd: p }).done;
    expect(r.stdout).toMatch(/^proxy=http:\/\/127\.0\.0\.1:\d+$/m);
    expect(r.stdout).toContain('direct-allowed ok hello from allowed');
    expect(r.stdout).toContain('direct-other fail');
    expect(r.stdout).toContain('proxy-wild ok hello from wild');
    expect(r.stdout).not.toContain('proxy-tame ok hello from tame');
    // Loopback is local: the wildcard reaches 127.0.0.4 because an address rule allows it,
    // and so does a direct connect (decided on the address alone).
    expect(r.stdout).toContain('direct-wild ok hello from wild');
    expect(servers.count('127.0.0.3')).toBe(0);
    expect(servers.count('127.0.0.5')).toBe(0);
    const log = sb.log();
    expect(log.some((v) => v.kind === 'deny' && v.target.includes('other.test') && v.target.includes(`127.0.0.3:${port}`))).toBe(true);
    expect(log.some((v) => v.kind === 'deny' && v.target.includes('b.tame.test'))).toBe(true);
    expect(log.some((v) => v.target.includes('allowed.test'))).toBe(false);
  });

  it('a supervisor killed with -9 comes back on the same proxy port: the session\'s proxy variables still work, and still filter', { timeout: 90_000 }, async () => {
    const p = makeProject(join(sb.home, 'netcrash'), 'version: 1\nnet:\n  allow: ["*.wild.test", "127.0.0.4"]\n');
    expect(sb.sbx(['trust'], { cwd: p }).code).toBe(0);
    const go = join(sb.dir, 'crash-go');
    const proxied = (name: string) => `curl -sS --max-time 5 http://${name}:${servers.port}/`;
    const script = [
      t('before-wild', proxied('a.wild.test')),
      `touch ${go}.ready`,
      `while [ ! -e ${go} ]; do sleep 0.05; done`,
      t('after-wild', proxied('a.wild.test')),
      t('after-tame', proxied('b.tame.test')),
    ].join('\n');
    const run = sb.spawnSbx(['shell', '--', 'sh', '-c', script], { cwd: p });
    // Kill between requests: a proxied connection in flight dies with the supervisor (it holds the proxy).
    await until('first request done', () => existsSync(`${go}.ready`), 30_000);
    const session = await until('session live', () => sb.status().sessions.find((s) => s.cwd === p), 30_000);
    const old = sb.supervisorPid()!;
    process.kill(old, 'SIGKILL');
    await until('session resumed by a new supervisor', () => {
      const pid = sb.supervisorPid();
      return pid !== undefined && pid !== old && sb.status().sessions.some((s) => s.id === session.id);
    }, 30_000);
    writeFileSync(go, '');
    const out = (await run.done).stdout;
    expect(out).toContain('before-wild ok hello from wild');
    expect(out).toContain('after-wild ok hello from wild');
    expect(out).not.toContain('after-tame ok hello from tame');
    expect(out).toContain('after-tame');
  });
});
