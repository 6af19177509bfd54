/**
 * Beyond loopback: a network namespace this test creates (ip netns + veth), with servers
 * on 10.213.N.2/.3 (a private LAN) and 2001:db8:213:N::2/::3 (documentation space, which
 * sbx does not count as local) inside it. Names map to those addresses through the test
 * hosts file. Allowed name reachable, other address not — over a real interface, IPv4 and
 * IPv6, direct and through the proxy; a wildcard reaches the non-local address but not the
 * LAN one. The namespace is removed afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa, execaSync, type Subprocess } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, policyFor, sandboxed, tempWorld, writeHostsFile } from './net-helpers.js';

const world = tempWorld('sbx-net-ns-');
const n = 20 + (process.pid % 200);
const ns = `sbx-test-${process.pid}`;
const veth = `sbxv${process.pid % 100000}`;
const v4 = (h: number) => `10.213.${n}.${h}`;
const v6 = (h: number) => `2001:db8:213:${n.toString(16)}::${h}`;
const PORT = 8080;
const servers: Subprocess[] = [];
let hosts: string;

// A server run inside the namespace: counts connections in a file, greets with a line
// (or a tiny HTTP response to a request).
const SERVER = `
const [addr, port, log] = process.argv.slice(1);
require('node:net').createServer((s) => {
  require('node:fs').appendFileSync(log, 'x\\n');
  s.on('error', () => {});
  s.once('data', (d) => {
    const body = 'hello from ' + addr + '\\n';
    s.end(/^[A-Z]+ /.test(d.toString()) ? 'HTTP/1.0 200 OK\\r\\nContent-Length: ' + body.length + '\\r\\n\\r\\n' + body : body);
  });
}).listen(Number(port), addr);
`;
const ip = (...args: string[]) => execaSync('ip', args); // a failure names the command and its stderr
const log = (addr: string) => join(world.dir, `hits-${addr.replace(/:/g, '_')}`);
const hits = (addr: string) => (existsSync(log(addr)) ? readFileSync(log(addr), 'utf8').split('\n').filter(Boolean).length : 0);

function cleanup(): void {
  try {
    ip('link', 'del', veth);
  } catch {}
  try {
    ip('netns', 'del', ns);
  } catch {}
}

beforeAll(async () => {
  cleanup();
  ip('netns', 'add', ns);
  ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}p`);
  ip('link', 'set', `${veth}p`, 'netns', ns);
  ip('addr', 'add', `${v4(1)}/24`, 'dev', veth);
  ip('-6', 'addr', 'add', `${v6(1)}/64`, 'dev', veth, 'nodad');
  ip('link', 'set', veth, 'up');
  for (const h of [2, 3]) {
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${v4(h)}/24`, 'dev', `${veth}p`);
    ip('netns', 'exec', ns, 'ip', '-6', 'addr', 'add', `${v6(h)}/64`, 'dev', `${veth}p`, 'nodad');
  }
  ip('netns', 'exec', ns, 'ip', 'link', 'set', `${veth}p`, 'up');
  ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
  for (const addr of [v4(2), v4(3), v6(2), v6(3)]) {
    // reject: false: afterAll kills them; cleanup kills them too if this worker dies first.
    servers.push(execa('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER, addr, String(PORT), log(addr)], { stdio: 'ignore', reject: false }));
  }
  hosts = writeHostsFile(world.dir, {
    [v4(2)]: ['svc.ns.test', 'a.wild.ns.test'],
    [v6(2)]: ['svc.ns.test', 'a.wild.ns.test'],
    [v4(3)]: ['other.ns.test', 'lan.wild.ns.test'],
  });
  // Wait until the servers answer (from outside the sandbox).
  for (const addr of [v4(2), v4(3), v6(2), v6(3)]) {
    for (let i = 0; i < 50; i++) {
      try {
        execaSync(fixture('net_client'), ['tcp', addr, String(PORT)]);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}, 30_000);

afterAll(() => {
  for (const s of servers) s.kill();
  cleanup();
  world.cleanup();
});

const run = (allow: string[], argv: string[]) => sandboxed(policyFor({ allow }), argv, { env: world.env, hostsFile: hosts, cwd: world.dir });
const tcp = (addr: string) => [fixture('net_client'), 'tcp', addr, String(PORT)];

describe('network namespace over veth', () => {
  it('IPv4: the allowed name\'s address connects, another address in the same subnet is refused', async () => {
    expect((await run(['svc.ns.test'], tcp(v4(2)))).stdout).toBe(`ok hello from ${v4(2)}\n`);
    const before = hits(v4(3));
    const denied = await run(['svc.ns.test'], tcp(v4(3)));
    expect(denied.stdout).toMatch(/^error connect/);
    expect(hits(v4(3))).toBe(before);
  });

  it('IPv6: the name\'s AAAA address connects, another IPv6 address is refused', async () => {
    expect((await run(['svc.ns.test'], tcp(v6(2)))).stdout).toBe(`ok hello from ${v6(2)}\n`);
    const before = hits(v6(3));
    expect((await run(['svc.ns.test'], tcp(v6(3)))).stdout).toMatch(/^error connect/);
    expect(hits(v6(3))).toBe(before);
  });

  it('wildcard through the proxy reaches the non-local address, never the LAN one; a name outside it does not; direct is denied', async () => {
    const url = (name: string) => `http://${name}:${PORT}/`;
    // a.wild.ns.test has a LAN address (refused: local) and a non-local one (used).
    expect((await run(['*.wild.ns.test'], ['curl', '-sS', '--max-time', '5', url('a.wild.ns.test')])).stdout).toBe(`hello from ${v6(2)}\n`);
    const before = hits(v4(3));
    const denied = await run(['*.wild.ns.test'], ['curl', '-sS', '-f', '--max-time', '5', url('other.ns.test')]);
    expect(denied.code).toBe(22); // curl -f: HTTP 403 from the proxy
    expect(denied.stderr).toMatch(/denied net other\.ns\.test/);
    // The LAN: a name under the wildcard whose only address is private is refused.
    const lan = await run(['*.wild.ns.test'], ['curl', '-sS', '-f', '--max-time', '5', url('lan.wild.ns.test')]);
    expect(lan.code).toBe(22);
    expect(lan.stderr).toMatch(/denied net lan\.wild\.ns\.test .*local address/);
    expect(hits(v4(3))).toBe(before);
    // ...and reachable once an address rule allows the LAN (its twin).
    expect((await run(['*.wild.ns.test', `${v4(3)}`], ['curl', '-sS', '--max-time', '5', url('lan.wild.ns.test')])).stdout).toBe(`hello from ${v4(3)}\n`);
    expect((await run(['*.wild.ns.test'], tcp(v4(2)))).stdout).toMatch(/^error connect/);
    expect((await run(['*.wild.ns.test'], tcp(v6(2)))).stdout).toMatch(/^error connect/);
  });
});
