/**
 * Network decisions: connect/sendto performed by the engine on its own copy of the
 * socket. Servers are started by the test on loopback only. Each denial has its twin.
 */
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetRule } from '../../src/policy/compiled.js';
import { fixtureBin, ops, policy, rule, run, tempDir } from './engine-harness.js';

const servers: Server[] = [];
async function tcp(host: string, tag: string): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  const s = createServer((c) => {
    hits++;
    c.on('error', () => {});
    c.end(tag);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, host, () => r()));
  const addr = s.address();
  if (typeof addr !== 'object' || !addr) throw new Error('no address');
  return { port: addr.port, hits: () => hits };
}

const allow = (n: number, family: 4 | 6, address: string, prefix: number, port: number): NetRule => ({
  rule: n,
  effect: 'allow',
  family,
  address,
  prefix,
  portLo: port,
  portHi: port,
});

let a4: Awaited<ReturnType<typeof tcp>>, d4: Awaited<ReturnType<typeof tcp>>;
let a6: Awaited<ReturnType<typeof tcp>>, d6: Awaited<ReturnType<typeof tcp>>;
beforeAll(async () => {
  a4 = await tcp('127.0.0.1', 'A');
  d4 = await tcp('127.0.0.1', 'D');
  a6 = await tcp('::1', 'A');
  d6 = await tcp('::1', 'D');
});
afterAll(() => servers.forEach((s) => s.close()));

describe('engine: network', () => {
  it('TCP over IPv4, IPv6 and IPv4-mapped IPv6: allowed port connects, denied port is EACCES and never reached', async () => {
    const p = policy(1, {
      net: { default: 'deny', rules: [allow(0, 4, '127.0.0.1', 32, a4.port), allow(1, 6, '::1', 128, a6.port)] },
    });
    const r = await run({
      policies: [p],
      argv: ops(
        ['connect', '127.0.0.1', String(a4.port)],
        ['connect', '127.0.0.1', String(d4.port)],
        ['connect', '::1', String(a6.port)],
        ['connect', '::1', String(d6.port)],
        ['connect', '::ffff:127.0.0.1', String(a4.port)],
        ['connect', '::ffff:127.0.0.2', String(d4.port)],
      ),
    });
    expect(r.stdout).toContain('connect 127.0.0.1: ok A');
    expect(r.stdout).toContain('connect 127.0.0.1: EACCES');
    expect(r.stdout).toContain('connect ::1: ok A');
    expect(r.stdout).toContain('connect ::1: EACCES');
    expect(r.stdout).toContain('connect ::ffff:127.0.0.1: ok A');
    expect(r.stdout).toContain('connect ::ffff:127.0.0.2: EACCES');
    expect(d4.hits()).toBe(0);
    expect(d6.hits()).toBe(0);
    expect(r.events.map((e) => e.target)).toEqual(
      expect.arrayContaining([`127.0.0.1:${d4.port}`, `[::1]:${d6.port}`, `127.0.0.2:${d4.port}`]),
    );
  });

  it('UDP sendto/sendmsg/sendmmsg: allowed destination receives the datagram, denied one does not', async () => {
    const got: string[] = [];
    const mk = async () => {
      const s = createSocket('udp4');
      s.on('message', (m) => got.push(m.toString()));
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      return s;
    };
    const ok = await mk();
    const no = await mk();
    const p = policy(1, { net: { default: 'deny', rules: [allow(0, 4, '127.0.0.1', 32, ok.address().port)] } });
    const r = await run({
      policies: [p],
      argv: ops(
        ['udp', '127.0.0.1', String(ok.address().port), 'hello-ok'],
        ['udp', '127.0.0.1', String(no.address().port), 'hello-no'],
        ['udpmsg', '127.0.0.1', String(ok.address().port), 'msg-ok'],
        ['udpmsg', '127.0.0.1', String(no.address().port), 'msg-no'],
        ['udpmmsg', '127.0.0.1', String(ok.address().port), 'mmsg-ok'],
        ['udpmmsg', '127.0.0.1', String(no.address().port), 'mmsg-no'],
        ['udpbadcmsg', '127.0.0.1', String(ok.address().port)],
      ),
    });
    await new Promise((res) => setTimeout(res, 100));
    ok.close();
    no.close();
    expect(r.stdout).toContain('udp 127.0.0.1: ok');
    expect(r.stdout).toContain('udp 127.0.0.1: EACCES');
    expect(r.stdout).toContain('udpmsg 127.0.0.1: ok');
    expect(r.stdout).toContain('udpmsg 127.0.0.1: EACCES');
    expect(r.stdout).toContain('udpmmsg 127.0.0.1: ok 2 8'); // both sent; msg_len written back
    expect(r.stdout).toContain('udpmmsg 127.0.0.1: EACCES');
    expect(r.stdout).toContain('udpbadcmsg 127.0.0.1: EINVAL'); // a lying cmsg_len is refused, not trusted
    expect(got.sort()).toEqual(['hello-ok', 'mmsg-ok!', 'mmsg-ok!', 'msg-ok!']);
  });

  it('unix sockets: pathname and abstract names decided by the unix section', async () => {
    const d = tempDir();
    const mk = async (path: string) => {
      const s = createServer((c) => {
        c.on('error', () => {});
        c.end('U');
      });
      servers.push(s);
      await new Promise<void>((r) => s.listen(path, () => r()));
    };
    await mk(join(d, 'ok.sock'));
    await mk(join(d, 'no.sock'));
    await mk('\0sbx-test-ok');
    await mk('\0sbx-test-no');
    await mk(join(d, 'unnamed.sock'));
    // These servers run in this (unsandboxed) test process: reachable only when named.
    const p = policy(1, {
      unix: {
        default: 'allow',
        rules: [rule(0, 'deny', join(d, 'no.sock')), rule(1, 'deny', '@sbx-test-no'), rule(2, 'allow', join(d, 'ok.sock')), rule(3, 'allow', '@sbx-test-ok')],
      },
    });
    const r = await run({
      policies: [p],
      cwd: d,
      argv: ops(['unix', join(d, 'ok.sock')], ['unix', 'no.sock'], ['unix', '@sbx-test-ok'], ['unix', '@sbx-test-no'], ['unix', 'unnamed.sock']),
    });
    expect(r.results.get(`unix ${join(d, 'ok.sock')}`)).toBe('ok');
    expect(r.results.get('unix no.sock')).toBe('EACCES');
    expect(r.results.get('unix @sbx-test-ok')).toBe('ok');
    expect(r.results.get('unix @sbx-test-no')).toBe('EACCES');
    expect(r.results.get('unix unnamed.sock')).toBe('EACCES');
  });

  it('real programs: bash /dev/tcp to an allowed and a denied port', async () => {
    const p = policy(1, { net: { default: 'deny', rules: [allow(0, 4, '127.0.0.1', 32, a4.port)] } });
    const r = await run({
      policies: [p],
      argv: ['/bin/bash', '-c', `cat < /dev/tcp/127.0.0.1/${a4.port}; echo; cat < /dev/tcp/127.0.0.1/${d4.port} || echo refused`],
    });
    expect(r.stdout).toBe('A\nrefused\n');
    expect(r.stderr).toMatch(/Permission denied/);
  });

  it('a nested policy (within) cannot serve where its outer policy restricts the network; the twin under an open outer one can', async () => {
    const netEscape = fixtureBin('net_escape');
    // The nested policy leaves the network open; only the outer one restricts it.
    const nested = policy(2, { within: 1, net: { default: 'allow', rules: [] } });
    const closed = await run({
      policies: [policy(1, { net: { default: 'deny', rules: [] } }), nested],
      defaultPolicy: 2,
      argv: [netEscape, 'listen-unbound'],
    });
    expect(closed.stdout).not.toContain('ok listening');
    expect(closed.stdout + closed.stderr).toMatch(/listen: Permission denied/);
    const open = await run({
      policies: [policy(1, { net: { default: 'allow', rules: [] } }), nested],
      defaultPolicy: 2,
      argv: [netEscape, 'listen-unbound'],
    });
    expect(open.stdout).toContain('ok listening');
  });
});
