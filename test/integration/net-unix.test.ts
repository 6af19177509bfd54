/**
 * Unix-domain sockets: a `net.unix` allow-list (pathname and abstract, stream and datagram),
 * and the defaults without one (a server outside the sandbox refused unless named,
 * docker.sock and sbx's own socket directory denied). Servers the sandbox starts itself:
 * escape-net.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa, type Subprocess } from 'execa';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, policyFor, sandboxed, tempWorld, unixServer } from './net-helpers.js';
import { sbxExec } from './exec-helpers.js';

const world = tempWorld('sbx-net-unix-');
const tag = `${process.pid}-${Date.now()}`;
const paths = {
  allowed: join(world.dir, 'allowed.sock'),
  denied: join(world.dir, 'denied.sock'),
  abstractAllowed: `@sbx-test-ok-${tag}`,
  abstractDenied: `@sbx-test-no-${tag}`,
  docker: join(world.env.XDG_RUNTIME_DIR!, 'docker.sock'),
  sbx: join(world.env.XDG_RUNTIME_DIR!, 'sbx', 'control.sock'),
  dgramAllowed: join(world.dir, 'dgram-ok.sock'),
  dgramDenied: join(world.dir, 'dgram-no.sock'),
};
const servers: { count(): number; close(): Promise<void> }[] = [];
const socats: Subprocess[] = [];
let counts: Record<string, () => number> = {};

/** A datagram receiver (socat) appending what it gets to a file. */
async function dgramServer(address: string): Promise<() => string> {
  const out = join(world.dir, `recv-${socats.length}.txt`);
  const spec = address.startsWith('@') ? `ABSTRACT-RECV:${address.slice(1)}` : `UNIX-RECV:${address}`;
  // reject: false: afterAll kills it; cleanup kills it too if this worker dies first.
  socats.push(execa('socat', ['-u', spec, `OPEN:${out},creat,append`], { stdio: 'ignore', reject: false }));
  const deadline = Date.now() + 5000;
  while (!address.startsWith('@') && !existsSync(address) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (address.startsWith('@')) await new Promise((r) => setTimeout(r, 200));
  return () => (existsSync(out) ? readFileSync(out, 'utf8') : '');
}
let received: Record<string, () => string> = {};

beforeAll(async () => {
  mkdirSync(join(world.env.XDG_RUNTIME_DIR!, 'sbx'), { recursive: true, mode: 0o700 });
  for (const [name, path] of Object.entries(paths)) {
    if (name.startsWith('dgram')) continue;
    const s = await unixServer(path, `hello from ${name}`);
    servers.push(s);
    counts[name] = s.count;
  }
  received = {
    allowed: await dgramServer(paths.dgramAllowed),
    denied: await dgramServer(paths.dgramDenied),
    abstractAllowed: await dgramServer(`${paths.abstractAllowed}-d`),
    abstractDenied: await dgramServer(`${paths.abstractDenied}-d`),
  };
});
afterAll(async () => {
  for (const s of servers) await s.close();
  for (const c of socats) c.kill();
  world.cleanup();
});

const listPolicy = () =>
  policyFor({ unix: { allow: [paths.allowed, paths.dgramAllowed, paths.abstractAllowed, `${paths.abstractAllowed}-d`] } });
const run = (policy: ReturnType<typeof policyFor>, mode: string, path: string) =>
  sandboxed(policy, [fixture('net_client'), mode, path], { env: world.env, cwd: world.dir });

describe('net.unix allow-list', () => {
  it('pathname stream socket: listed one connects, unlisted one is refused', async () => {
    expect((await run(listPolicy(), 'unix', paths.allowed)).stdout).toBe('ok hello from allowed\n');
    const before = counts.denied!();
    const denied = await run(listPolicy(), 'unix', paths.denied);
    expect(denied.stdout).toMatch(/^error connect: /);
    expect(denied.stderr).toMatch(/denied unix .*denied\.sock/);
    expect(counts.denied!()).toBe(before);
  });

  it('abstract stream socket: listed "@name" connects, another abstract name is refused', async () => {
    expect((await run(listPolicy(), 'unix', paths.abstractAllowed)).stdout).toBe('ok hello from abstractAllowed\n');
    const before = counts.abstractDenied!();
    const denied = await run(listPolicy(), 'unix', paths.abstractDenied);
    expect(denied.stdout).toMatch(/^error connect: /);
    expect(denied.stderr).toMatch(/denied unix @sbx-test-no-/);
    expect(counts.abstractDenied!()).toBe(before);
  });

  it('datagram sendto: listed path and abstract name receive, unlisted ones receive nothing', async () => {
    expect((await run(listPolicy(), 'unix-dgram', paths.dgramAllowed)).stdout).toBe('ok sent\n');
    expect((await run(listPolicy(), 'unix-dgram', `${paths.abstractAllowed}-d`)).stdout).toBe('ok sent\n');
    expect((await run(listPolicy(), 'unix-dgram', paths.dgramDenied)).stdout).toMatch(/^error sendto: /);
    expect((await run(listPolicy(), 'unix-dgram', `${paths.abstractDenied}-d`)).stdout).toMatch(/^error sendto: /);
    await new Promise((r) => setTimeout(r, 200));
    expect(received.allowed!()).toBe('ping\n');
    expect(received.abstractAllowed!()).toBe('ping\n');
    expect(received.denied!()).toBe('');
    expect(received.abstractDenied!()).toBe('');
  });
});

describe('without net.unix (allowed by default, for servers of the sandbox itself)', () => {
  it('a server outside the sandbox (this test process, socat) is refused unless named, abstract too', async () => {
    // These servers run outside: reaching them would make them the sandbox's deputies.
    const before = counts.denied!();
    const out = await run(policyFor({}), 'unix', paths.denied);
    expect(out.stdout).toMatch(/^error connect: /);
    expect(out.stderr).toMatch(/denied unix .*denied\.sock \(a server outside this sandbox/);
    expect((await run(policyFor({}), 'unix', paths.abstractDenied)).stdout).toMatch(/^error connect: /);
    expect(counts.denied!()).toBe(before);
    // Named: reachable (an allow rule, the rest of the section still open).
    const named = policyFor({});
    named.unix.rules.push({ rule: named.origins.length, effect: 'allow', match: 'subtree', pattern: paths.denied, floor: false });
    named.origins.push({ source: 'test policy', text: paths.denied, section: 'unix' });
    expect((await run(named, 'unix', paths.denied)).stdout).toBe('ok hello from denied\n');
  });

  // The docker default is a layer of the compiled policy (so an untrusted file's allow is
  // checked against it): through `sbx exec`, which compiles.
  it('docker.sock is denied by default', async () => {
    const denied = await sbxExec(['--', fixture('net_client'), 'unix', paths.docker], { env: world.env, cwd: world.dir });
    expect(denied.stdout).toMatch(/^error connect: /);
    expect(counts.docker!()).toBe(0);
  });

  it("sbx's own socket directory is denied, even when net.unix allows it", async () => {
    // sbx's own client outside (bin/sbx's fast path in the test above) may have asked this
    // stand-in control socket for a supervisor: only connects from inside count.
    const before = counts.sbx!();
    expect((await run(policyFor({}), 'unix', paths.sbx)).stdout).toMatch(/^error connect: /);
    const listed = policyFor({ unix: { allow: [paths.sbx, paths.allowed] } });
    expect((await run(listed, 'unix', paths.sbx)).stdout).toMatch(/^error connect: /);
    expect((await run(listed, 'unix', paths.allowed)).stdout).toBe('ok hello from allowed\n');
    expect(counts.sbx!()).toBe(before);
  });

  it('docker.sock named in net.unix is allowed (an explicit choice of a trusted file)', async () => {
    const listed = policyFor({ unix: { allow: [paths.docker] } });
    expect((await run(listed, 'unix', paths.docker)).stdout).toBe('ok hello from docker\n');
    const file = join(world.dir, 'docker-ok.yaml');
    writeFileSync(file, `version: 1\nnet:\n  unix:\n    allow: [${JSON.stringify(paths.docker)}]\n`);
    const ok = await sbxExec(['--policy', file, '--', fixture('net_client'), 'unix', paths.docker], { env: world.env, cwd: world.dir });
    expect(ok.stdout).toBe('ok hello from docker\n');
  });
});
