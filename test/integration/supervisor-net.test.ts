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
import { makeProject, makeSandbox, sbxBin, until, type Sandbox } from './supervisor-helpers.js';
import { PROXY_CLIENTS_PER_SESSION } from '../../src/net/proxy.js';
import { tcpServers, writeHostsFile, type Servers } from './net-helpers.js';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';

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

  // The proxy serves every program of the session, so it must decide by the asking program's
  // own policy, not by the shell's: a program narrowed by a nested `sbx exec`, or running
  // under a command override, gets through it only what its own policy (and every policy it
  // was narrowed within) allows.
  it("the proxy decides by the asking program's policy: a nested --deny-net or a narrower command override reaches nothing through it; the session itself and a nested exec that allows the name do", { timeout: 90_000 }, async () => {
    const p = makeProject(
      join(sb.home, 'netnest'),
      'version: 1\nnet:\n  allow: ["*.wild.test", "127.0.0.4"]\ncommands:\n  python3: { net: { allow: ["127.0.0.4"], deny: ["*.wild.test"] } }\n',
    );
    expect(sb.sbx(['trust'], { cwd: p }).code).toBe(0);
    const url = `http://a.wild.test:${servers.port}/`;
    // Each through the session's proxy (HTTP_PROXY from the session's environment).
    const curl = `curl -fsS --max-time 5 ${url}`;
    const script = [
      t('session', curl),
      t('nested-deny-net', `${sbxBin} exec -q --deny-net -- ${curl}`),
      t('nested-allow-wild', `${sbxBin} exec -q --allow-net='*.wild.test' --allow-net=127.0.0.4 -- ${curl}`),
      t('nested-allow-other', `${sbxBin} exec -q --allow-net=other.test -- ${curl}`),
      // python3's override denies the name; the same request by curl (no override) is allowed above.
      t('override-python', `python3 -c 'import urllib.request as u; print(u.urlopen("${url}", timeout=5).read().decode())'`),
      // socks5h through the same proxy, from a nested --deny-net.
      t('nested-socks', `${sbxBin} exec -q --deny-net -- curl -fsS --max-time 5 -x "$ALL_PROXY" ${url}`),
    ].join('\n');
    const before = servers.count('127.0.0.4');
    const r = await sb.spawnSbx(['shell', '--', 'sh', '-c', script], { cwd: p }).done;
    expect(r.stdout).toContain('session ok hello from wild');
    expect(r.stdout).toContain('nested-allow-wild ok hello from wild');
    expect(r.stdout).toMatch(/^nested-deny-net fail/m);
    expect(r.stdout).toMatch(/^nested-allow-other fail/m);
    expect(r.stdout).toMatch(/^override-python fail/m);
    expect(r.stdout).toMatch(/^nested-socks fail/m);
    // Exactly the two allowed requests reached the server.
    expect(servers.count('127.0.0.4') - before).toBe(2);
    // Logged against the policy that refused, with its rule: the nested one's, not the shell's.
    // A policy that reaches nothing does not reach the proxy at all: refused at its connect.
    const log = sb.log().filter((v) => v.kind === 'deny');
    expect(log.some((v) => v.policy.startsWith('sbx exec --deny-net within') && /^127\.0\.0\.1:\d+/.test(v.target))).toBe(true);
    expect(log.some((v) => v.policy.startsWith('sbx exec --allow-net=other.test within') && v.target.includes('a.wild.test'))).toBe(true);
  });

  // A nested exec narrows; it must not drop the outer policy's command override on the way
  // (`sbx exec --deny-write -- curl …` would otherwise run curl without its override).
  it("a nested sbx exec keeps the session's commands: override for the program it runs, narrowed by its flags; also after a supervisor restart", { timeout: 90_000 }, async () => {
    const p = makeProject(join(sb.home, 'netover'), 'version: 1\ncommands:\n  curl: { net: { allow: ["127.0.0.4"] } }\n');
    expect(sb.sbx(['trust'], { cwd: p }).code).toBe(0);
    const go = join(p, 'go');
    const curl = (addr: string) => `curl -fsS --max-time 5 --noproxy '*' http://${addr}:${servers.port}/`;
    const nested = `${sbxBin} exec -q --deny-write --`;
    const round = (tag: string) =>
      [
        t(`${tag}-direct-2`, curl('127.0.0.2')),
        t(`${tag}-direct-4`, curl('127.0.0.4')),
        t(`${tag}-nested-2`, `${nested} ${curl('127.0.0.2')}`),
        t(`${tag}-nested-4`, `${nested} ${curl('127.0.0.4')}`),
        // The flags still narrow the override: allowed by it, not by them.
        t(`${tag}-narrower-4`, `${sbxBin} exec -q --allow-net=127.0.0.2 -- ${curl('127.0.0.4')}`),
      ].join('\n');
    // The second round runs from a nested exec that was made before the restart.
    const script = [round('before'), `${nested} sh -c 'touch ${p}/ready; while [ ! -e ${go} ]; do sleep 0.05; done; ${round('after').replace(/'/g, "'\\''")}'`].join('\n');
    const run = sb.spawnSbx(['shell', '--', 'sh', '-c', script], { cwd: p });
    await until('the first round', () => existsSync(join(p, 'ready')), 60_000);
    await sb.killSupervisor(sb.status().sessions.find((s) => s.cwd === p)!.id);
    writeFileSync(go, '');
    const out = (await run.done).stdout;
    for (const tag of ['before', 'after']) {
      expect(out).toMatch(new RegExp(`^${tag}-direct-2 fail`, 'm'));
      expect(out).toContain(`${tag}-direct-4 ok hello from wild`);
      expect(out).toMatch(new RegExp(`^${tag}-nested-2 fail`, 'm'));
      expect(out).toContain(`${tag}-nested-4 ok hello from wild`);
      expect(out).toMatch(new RegExp(`^${tag}-narrower-4 fail`, 'm'));
    }
  });

  // A nested policy is built from its outer policy's overrides as they were: an override added
  // to the file later must bind the next nested exec too (not a nested policy reused from
  // before the edit).
  it('an override added while the session runs binds the next nested sbx exec as it binds the program run directly', { timeout: 90_000 }, async () => {
    const p = makeProject(join(sb.home, 'netlater'), 'version: 1\n');
    expect(sb.sbx(['trust'], { cwd: p }).code).toBe(0);
    const curl = (addr: string) => `curl -fsS --max-time 5 --noproxy '*' http://${addr}:${servers.port}/ >/dev/null`;
    const nested = `${sbxBin} exec -q --deny-write --`;
    const script = [
      t('nested-before', `${nested} ${curl('127.0.0.2')}`),
      `touch ${p}/ready`,
      // The edit is in force once curl run directly is refused.
      `n=0; while ${curl('127.0.0.2')} && [ $n -lt 300 ]; do n=$((n+1)); sleep 0.1; done`,
      t('direct-after', curl('127.0.0.2')),
      t('nested-after', `${nested} ${curl('127.0.0.2')}`),
      t('nested-after-4', `${nested} ${curl('127.0.0.4')}`),
    ].join('\n');
    const run = sb.spawnSbx(['shell', '--', 'sh', '-c', script], { cwd: p });
    await until('the first round', () => existsSync(join(p, 'ready')), 60_000);
    writeFileSync(join(p, '.sbx.yaml'), 'version: 1\ncommands:\n  curl: { net: { allow: ["127.0.0.4"] } }\n');
    expect(sb.sbx(['trust'], { cwd: p }).code).toBe(0);
    const out = (await run.done).stdout;
    expect(out).toMatch(/^nested-before ok/m);
    expect(out).toMatch(/^direct-after fail/m);
    expect(out).toMatch(/^nested-after fail/m);
    expect(out).toMatch(/^nested-after-4 ok/m);
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
    await sb.killSupervisor(session.id);
    writeFileSync(go, '');
    const out = (await run.done).stdout;
    expect(out).toContain('before-wild ok hello from wild');
    expect(out).toContain('after-wild ok hello from wild');
    expect(out).not.toContain('after-tame ok hello from tame');
    expect(out).toContain('after-tame');
  });

  // helper-95 #01: each client of a session's proxy cost the supervisor an fd, with no bound; a
  // sandbox holding thousands ran it out of fds, and every other terminal's opens failed.
  it('a session holding thousands of connections to its proxy keeps only its share: the rest are closed at once, the supervisor keeps its fds and another session works; twin: once it lets go, a new client is served', { timeout: 90_000 }, async () => {
    const go = join(sb.dir, 'flood-go');
    const flood = join(sb.dir, 'flood.py');
    writeFileSync(
      flood,
      [
        'import os, resource, select, socket, sys, time',
        'hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]',
        'resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))',
        "port = int(os.environ['HTTP_PROXY'].rstrip('/').rsplit(':', 1)[1])",
        'socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(1500)]',
        'time.sleep(1)',
        'def closed(s):',
        '    p = select.poll(); p.register(s, select.POLLIN)',
        '    if not p.poll(0): return False',
        '    try: return s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""',
        '    except OSError: return True',
        "print('open', sum(not closed(s) for s in socks), flush=True)",
        `while not os.path.exists(${JSON.stringify(go)}): time.sleep(0.05)`,
        'for s in socks: s.close()',
        'time.sleep(0.5)',
        'c = socket.create_connection(("127.0.0.1", port))',
        'c.sendall(b"GET http://nothing.invalid/ HTTP/1.1\\r\\nHost: nothing.invalid\\r\\n\\r\\n")',
        "print('after', c.recv(200).split(b'\\r\\n')[0].decode(), flush=True)",
      ].join('\n'),
    );
    const run = sb.spawnSbx(['shell', '--', 'python3', flood]);
    let early = '';
    run.child.stdout?.on('data', (d: Buffer) => (early += d.toString()));
    await until('the flood held', () => /^open \d+$/m.test(early), 60_000);
    const fds = readdirSync(`/proc/${sb.supervisorPid()}/fd`).length;
    const other = sb.sbx(['shell', '--', 'sh', '-c', 'cat /etc/hostname >/dev/null && echo other-ok']);
    writeFileSync(go, '');
    const out = (await run.done).stdout;
    expect(Number(/^open (\d+)$/m.exec(out)?.[1]), out).toBe(PROXY_CLIENTS_PER_SESSION);
    expect(fds).toBeLessThan(PROXY_CLIENTS_PER_SESSION + 400);
    expect(other.stdout, other.stderr).toContain('other-ok');
    expect(out).toMatch(/^after HTTP\/1\.[01] \d{3}/m);
  });
});
