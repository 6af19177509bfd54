import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { NetworkManager } from '../../../src/net/index.js';
import { decideNet } from '../../../src/policy/net-match.js';
import { netPolicy } from './helpers.js';
import { hostsFile, httpServers, type Loopback, removeHostsFiles } from './servers.js';

afterAll(removeHostsFiles);

// Like execFile: rejects on a non-zero exit, with stdout on the error (curl's -w code).
const run = (file: string, args: string[]) => execa(file, args, { stripFinalNewline: false });
let servers: Loopback;
let manager: NetworkManager;

beforeAll(async () => {
  servers = await httpServers(['127.0.0.2', '127.0.0.3']);
  manager = new NetworkManager({ env: { SBX_HOSTS_FILE: hostsFile({ '127.0.0.2': ['x.a.test'], '127.0.0.3': ['x.b.test'] }) }, resolvConf: '/nonexistent' });
  await manager.startProxy();
});
afterAll(async () => {
  await manager?.close();
  await servers?.close();
});

async function status(name: string): Promise<string> {
  const { stdout } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--proxy', `http://127.0.0.1:${manager.proxyPort}`, `http://${name}:${servers.port}/`]).catch((e) => e);
  return stdout;
}

describe('NetworkManager (one proxy per session, many policies)', () => {
  it('keeps one proxy port for every policy and decides on the active one', async () => {
    const port = manager.proxyPort!;
    // Loopback is local: a wildcard reaches it only where an address rule allows it.
    const a = await manager.prepare({ ...netPolicy(['*.a.test', '127.0.0.2']), id: 1 });
    const b = await manager.prepare({ ...netPolicy(['*.b.test', '127.0.0.3']), id: 2 });
    for (const p of [a, b]) expect(decideNet(p.net, '127.0.0.1', port).effect).toBe('allow');
    expect(manager.proxyVars.HTTPS_PROXY).toBe(`http://127.0.0.1:${port}`);
    manager.setActive(1);
    expect(await status('x.a.test')).toBe('200');
    expect(await status('x.b.test')).toBe('403');
    manager.setActive(2);
    expect(await status('x.a.test')).toBe('403');
    expect(await status('x.b.test')).toBe('200');
  });

  it('re-preparing an id replaces it; dropping it leaves the proxy denying', async () => {
    await manager.prepare({ ...netPolicy(['*.a.test', '*.b.test', '127.0.0.2', '127.0.0.3']), id: 2 });
    expect(await status('x.a.test')).toBe('200');
    manager.drop(2);
    expect(manager.current(2)).toBeUndefined();
    expect(await status('x.b.test')).toBe('403');
  });
});

describe('mode: audit', () => {
  it('the proxy reports what it would refuse and connects anyway; enforce refuses', async () => {
    const denials: { name?: string; audit: boolean }[] = [];
    const m = new NetworkManager({
      env: { SBX_HOSTS_FILE: hostsFile({ '127.0.0.2': ['x.a.test'], '127.0.0.3': ['x.b.test'] }) },
      resolvConf: '/nonexistent',
      onDeny: (d) => denials.push({ name: d.name, audit: d.audit }),
    });
    try {
      await m.startProxy();
      const get = async (name: string) =>
        (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--proxy', `http://127.0.0.1:${m.proxyPort}`, `http://${name}:${servers.port}/`]).catch((e) => e)).stdout;
      await m.prepare({ ...netPolicy(['*.a.test', '127.0.0.2']), id: 1, mode: 'audit' });
      expect(await get('x.b.test')).toBe('200');
      expect(denials).toEqual([{ name: 'x.b.test', audit: true }]);
      await m.prepare({ ...netPolicy(['*.a.test', '127.0.0.2']), id: 1, mode: 'enforce' });
      expect(await get('x.b.test')).toBe('403');
      expect(await get('x.a.test')).toBe('200');
      expect(denials.at(-1)).toEqual({ name: 'x.b.test', audit: false });
    } finally {
      await m.close();
    }
  });
});

// The engine's admission names the policy of the program that made each connection (here a
// stand-in that names the id the test chose; the real announcement is tested end to end in
// test/integration/supervisor-net.test.ts): the proxy decides by that policy and by every
// policy it was narrowed within, never by the active one.
describe('admitted connections are decided by the asking program\'s policy', () => {
  it('its own policy, not the active one; a nested policy is held to its outer one; an unknown id or a refused client gets nothing', async () => {
    let announced: number | undefined;
    const denials: { name?: string; rule: number; policy?: number; audit: boolean }[] = [];
    const m = new NetworkManager({
      env: { SBX_HOSTS_FILE: hostsFile({ '127.0.0.2': ['x.a.test'], '127.0.0.3': ['x.b.test'] }) },
      resolvConf: '/nonexistent',
      admission: { register: () => {}, admits: () => announced },
      onDeny: (d) => denials.push({ name: d.name, rule: d.rule, policy: d.policy, audit: d.audit }),
    });
    try {
      await m.startProxy();
      const get = async (name: string) =>
        (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--proxy', `http://127.0.0.1:${m.proxyPort}`, `http://${name}:${servers.port}/`]).catch((e) => e)).stdout;
      await m.prepare({ ...netPolicy(['*.a.test', '127.0.0.2']), id: 1 });
      await m.prepare({ ...netPolicy(['*.b.test', '127.0.0.3']), id: 2 });
      // 3 is narrowed within 1 and allows both names itself: only what 1 allows too.
      await m.prepare({ ...netPolicy(['*.a.test', '*.b.test', '127.0.0.2', '127.0.0.3']), id: 3, within: 1 });
      // 4 is narrowed within 1 and allows nothing.
      await m.prepare({ ...netPolicy([]), id: 4, within: 1, mode: 'audit' });
      m.setActive(1);
      announced = 2;
      expect([await get('x.a.test'), await get('x.b.test')]).toEqual(['403', '200']);
      announced = 1;
      expect([await get('x.a.test'), await get('x.b.test')]).toEqual(['200', '403']);
      announced = 3;
      expect([await get('x.a.test'), await get('x.b.test')]).toEqual(['200', '403']);
      // Refused by the outer policy: reported as such (OUTER_RULE), and audit mode does not lift it.
      expect(denials.at(-1)).toMatchObject({ name: 'x.b.test', rule: -3, policy: 3, audit: false });
      announced = 4;
      // 4's own refusal is lifted by its audit mode (as the engine does), the outer one's is not.
      expect([await get('x.a.test'), await get('x.b.test')]).toEqual(['200', '403']);
      expect(denials.slice(-2)).toMatchObject([{ name: 'x.a.test', policy: 4, audit: true }, { name: 'x.b.test', policy: 4, audit: false }]);
      announced = 9; // an id the manager does not have
      expect([await get('x.a.test'), await get('x.b.test')]).toEqual(['403', '403']);
      announced = undefined; // not announced by an engine: the client is refused outright
      expect(await get('x.a.test')).toBe('000');
    } finally {
      await m.close();
    }
  });

  // helper-89 #03: the proxy connects as the supervisor, past the engine's boundary around a
  // commands: override (net.cc override_boundary). A server an override runs is asked of the
  // engine (overrideServerAt: a stand-in here, naming 127.0.0.3; the real one end to end in
  // escape-override); an override's own program is connected to nothing on this machine.
  it("connects nobody to a server an override runs on this machine, and an override's program to nothing on it; twins: the same names for the policy that gives the override", async () => {
    let announced: number | undefined;
    const m = new NetworkManager({
      env: { SBX_HOSTS_FILE: hostsFile({ '127.0.0.2': ['x.a.test'], '127.0.0.3': ['x.b.test'] }) },
      resolvConf: '/nonexistent',
      admission: { register: () => {}, admits: () => announced, overrideServerAt: (a) => a === '127.0.0.3' },
    });
    try {
      await m.startProxy();
      const get = async (name: string) =>
        (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--proxy', `http://127.0.0.1:${m.proxyPort}`, `http://${name}:${servers.port}/`]).catch((e) => e)).stdout;
      const both = ['*.a.test', '*.b.test', '127.0.0.2', '127.0.0.3'];
      await m.prepare({ ...netPolicy(both), id: 1, commands: [{ rule: 0, name: 'agent', policy: 5 }] });
      await m.prepare({ ...netPolicy(both), id: 5 });
      announced = 1;
      expect([await get('x.a.test'), await get('x.b.test')]).toEqual(['200', '403']);
      announced = 5;
      expect([await get('x.a.test'), await get('x.b.test')]).toEqual(['403', '403']);
    } finally {
      await m.close();
    }
  });
});
