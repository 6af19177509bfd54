/** finishPolicy: the compiled policy + resolutions, DNS, proxy port, unix defaults → what an engine receives. */
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CompiledPolicy } from '../../../src/policy/compiled.js';
import { finishPolicy, needsDns } from '../../../src/policy/finish.js';
import { decideNet } from '../../../src/policy/net-match.js';
import { decidePathDetailed } from '../../../src/policy/match.js';
import { netPolicy } from '../net/helpers.js';

const ENV = { HOME: '/home/u', XDG_RUNTIME_DIR: '/run/user/1000' };

function build(allow: string[] | undefined, deny: string[], resolved: Record<string, string[]>, proxyPort?: number) {
  return finishPolicy(netPolicy(allow, deny), { resolved: new Map(Object.entries(resolved)), nameservers: ['10.9.9.9', 'fd00::53'], proxyPort, env: ENV }).policy;
}

const withUnixDefaults = (p: CompiledPolicy, env: Record<string, string>) => finishPolicy(p, { resolved: new Map(), nameservers: [], env }).policy;

describe('finishPolicy', () => {
  it('allows the resolved addresses of an allowed name, and nothing else', () => {
    const p = build(['api.example.test:443'], [], { 'api.example.test': ['127.0.0.2', '::1'] });
    expect(decideNet(p.net, '127.0.0.2', 443)).toEqual({ effect: 'allow', rule: 0 });
    expect(decideNet(p.net, '::ffff:127.0.0.2', 443).effect).toBe('allow');
    expect(decideNet(p.net, '::1', 443).effect).toBe('allow');
    expect(decideNet(p.net, '127.0.0.2', 80).effect).toBe('deny');
    expect(decideNet(p.net, '127.0.0.3', 443).effect).toBe('deny');
  });

  it('a denied name denies its addresses even under a broader allow', () => {
    const p = build(['127.0.0.0/8'], ['bad.example.test'], { 'bad.example.test': ['127.0.0.9'] });
    expect(decideNet(p.net, '127.0.0.9', 80)).toEqual({ effect: 'deny', rule: 1 });
    expect(decideNet(p.net, '127.0.0.8', 80).effect).toBe('allow');
  });

  it('DNS: nameservers on port 53 only when a name is allowed and the default denies', () => {
    const withName = build(['api.example.test'], [], { 'api.example.test': ['127.0.0.2'] });
    expect(decideNet(withName.net, '10.9.9.9', 53).effect).toBe('allow');
    expect(decideNet(withName.net, 'fd00::53', 53).effect).toBe('allow');
    expect(decideNet(withName.net, '10.9.9.9', 80).effect).toBe('deny');
    expect(decideNet(withName.net, '10.9.9.8', 53).effect).toBe('deny');
    expect(withName.origins).toContainEqual({ source: 'built-in: DNS for allowed host names', text: '10.9.9.9:53 fd00::53:53', section: 'net' });

    const ipsOnly = build(['127.0.0.2', 'localhost'], [], {});
    expect(decideNet(ipsOnly.net, '10.9.9.9', 53).effect).toBe('deny');
    expect(needsDns(netPolicy(['*.example.test']))).toBe(true);
    expect(needsDns(netPolicy([], ['x.test']))).toBe(false);
    expect(needsDns(netPolicy(undefined, ['x.test']))).toBe(false);
  });

  it('allows the proxy port on 127.0.0.1 only', () => {
    const p = build(['*.example.test'], [], {}, 40123);
    expect(decideNet(p.net, '127.0.0.1', 40123).effect).toBe('allow');
    expect(decideNet(p.net, '127.0.0.1', 40124).effect).toBe('deny');
    expect(decideNet(p.net, '127.0.0.2', 40123).effect).toBe('deny');
    expect(p.origins[p.net.rules.at(-1)!.rule]).toEqual({ source: 'built-in: sbx filtering proxy', text: '127.0.0.1:40123', section: 'net' });
  });

  it('the proxy stays reachable even when localhost is denied', () => {
    const p = build(['*.example.test'], ['localhost'], {}, 40123);
    expect(decideNet(p.net, '127.0.0.1', 40123).effect).toBe('allow');
    expect(decideNet(p.net, '127.0.0.1', 40124).effect).toBe('deny');
  });
});

describe('names', () => {
  it('each finish uses the current resolution only (a refresh replaces, never adds)', () => {
    const base = netPolicy(['api.example.test']);
    const at = (addrs: string[]) => finishPolicy(base, { resolved: new Map([['api.example.test', addrs]]), nameservers: [], env: ENV }).policy;
    at(['127.0.0.7']);
    const p = at(['127.0.0.8']);
    expect(decideNet(p.net, '127.0.0.8', 80).effect).toBe('allow');
    expect(decideNet(p.net, '127.0.0.7', 80).effect).toBe('deny');
    expect(p.net.hosts).toEqual(base.net.hosts); // kept for explanations and the proxy
    expect(base.net.rules).toHaveLength(0); // the compiler's policy is not edited
  });
  it('DNS servers a rule already decides are not added', () => {
    const base = netPolicy(['api.example.test', '10.9.9.9:53']);
    const p = finishPolicy(base, { resolved: new Map(), nameservers: ['10.9.9.9'], env: ENV }).policy;
    expect(p.origins.filter((o) => o.source.startsWith('built-in: DNS'))).toHaveLength(0);
  });
  it('a nameserver the policy denies stays denied', () => {
    const p = build(['api.example.test'], ['10.9.9.9'], {});
    expect(decideNet(p.net, '10.9.9.9', 53).effect).toBe('deny');
  });
});

describe('proxy port', () => {
  it('is allowed on 127.0.0.1 and named in net.proxyPort for the engine', () => {
    const p = finishPolicy(netPolicy(['*.example.test']), { resolved: new Map(), nameservers: [], proxyPort: 4567, env: ENV }).policy;
    expect(p.net.proxyPort).toBe(4567);
    expect(decideNet(p.net, '127.0.0.1', 4567).effect).toBe('allow');
    expect(finishPolicy(p, { resolved: new Map(), nameservers: [], env: ENV }).policy.net.proxyPort).toBeUndefined();
  });
  it('not for a policy that reaches nothing (--deny-net): its name lookups would be a way out (twin: an address rule keeps it)', () => {
    const none = finishPolicy(netPolicy([]), { resolved: new Map(), nameservers: [], proxyPort: 4567, env: ENV }).policy;
    expect(none.net.proxyPort).toBeUndefined();
    expect(decideNet(none.net, '127.0.0.1', 4567).effect).toBe('deny');
    const some = finishPolicy(netPolicy(['10.1.2.3:443']), { resolved: new Map(), nameservers: [], proxyPort: 4567, env: ENV }).policy;
    expect(decideNet(some.net, '127.0.0.1', 4567).effect).toBe('allow');
  });
});

describe('unix defaults', () => {
  const env = { HOME: '/home/u', XDG_RUNTIME_DIR: '/run/user/1000' };
  it("deny (as a floor) sbx's socket dirs, keeping existing rules; finishing again adds nothing new", () => {
    const p = withUnixDefaults(netPolicy(undefined), env);
    const patterns = p.unix.rules.map((r) => [r.pattern, r.effect, r.floor]);
    expect(patterns).toContainEqual(['/run/user/1000/sbx', 'deny', true]);
    expect(patterns).toContainEqual([`/tmp/sbx-${process.getuid!()}`, 'deny', true]);
    for (const r of p.unix.rules.filter((x) => x.floor)) expect(p.origins[r.rule]?.source).toBe('built-in (sbx net)');
  });
  it('name the usual deputies as deputy rules (a literal path as an escaped glob, so naming it wins)', () => {
    const p = withUnixDefaults(netPolicy(undefined), { ...env, SSH_AUTH_SOCK: '/tmp/ssh-XY*/agent.1', DBUS_SESSION_BUS_ADDRESS: 'unix:abstract=/tmp/dbus-q,guid=1' });
    const deputies = p.unix.rules.filter((r) => r.deputy);
    const text = (pattern: string) => p.origins[deputies.find((r) => r.pattern === pattern)!.rule]!.text;
    expect(text('/tmp/ssh-XY\\*/agent.1')).toMatch(/^ssh-agent: /);
    expect(text('/run/user/1000/gnupg/**')).toMatch(/^gpg-agent: /);
    expect(text('/run/user/1000/bus')).toMatch(/^D-Bus session bus: /);
    expect(text('@/tmp/dbus-q')).toMatch(/^D-Bus session bus: /);
    expect(text('/run/dbus/system_bus_socket')).toMatch(/^D-Bus system bus: /);
    expect(text('/run/user/1000/systemd/**')).toMatch(/^systemd: /);
    expect(text('/tmp/tmux-*/**')).toMatch(/^tmux server: /);
    expect(text('/run/screen/**')).toMatch(/^screen session: /);
    for (const r of deputies) expect([r.effect, r.match, r.floor]).toEqual(['deny', 'glob', false]);
    // Container engines: plain denies.
    const podman = p.unix.rules.find((r) => r.pattern === '/run/user/1000/podman/podman.sock')!;
    expect([podman.effect, podman.deputy]).toEqual(['deny', undefined]);
    expect(withUnixDefaults(p, env).unix.rules.length).toBeLessThanOrEqual(p.unix.rules.length + 1);
  });
  it('a rule naming a deputy socket itself beats the deputy rule; a broader allow does not', () => {
    const base = netPolicy(undefined);
    const withAllow = (pattern: string) => ({ ...base, unix: { default: 'allow' as const, rules: [{ rule: 0, effect: 'allow' as const, match: 'subtree' as const, pattern, floor: false }] } });
    const e = { ...env, SSH_AUTH_SOCK: '/run/user/1000/keyring/ssh' };
    const exact = decidePathDetailed(withUnixDefaults(withAllow('/run/user/1000/keyring/ssh'), e).unix, '/run/user/1000/keyring/ssh');
    expect([exact.effect, exact.rule]).toEqual(['allow', 0]);
    const broad = withUnixDefaults(withAllow('/run/user/1000'), e);
    const d = decidePathDetailed(broad.unix, '/run/user/1000/keyring/ssh');
    expect(d.effect).toBe('deny');
    expect(broad.unix.rules[d.index]!.deputy).toBe(true);
  });
  it('finishing again adds nothing new', () => {
    const p = withUnixDefaults(netPolicy(undefined), env);
    expect(withUnixDefaults(p, env).unix.rules).toHaveLength(p.unix.rules.length);
  });
});

// A supervisor finishes its sessions' policies with its own variables (env) and theirs
// (callerEnv): a program name means what the session's PATH finds, and the session's own
// runtime dir and agent sockets are protected beside the supervisor's.
describe("a session's variables (callerEnv) beside the finisher's own", () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sbx-finish-caller-')));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const denyMytool = (): CompiledPolicy => ({
    ...netPolicy(undefined),
    exec: { default: 'allow', paths: [], programs: [{ rule: 0, effect: 'deny', name: 'mytool', args: [] }] },
  });
  const own = { HOME: '/home/u', XDG_RUNTIME_DIR: '/run/user/1000', PATH: '/usr/bin:/bin' };

  it("a program rule's name is found through the session's PATH (twin: through the finisher's, it names nothing)", () => {
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'mytool'), '#!/bin/sh\necho mine\n');
    chmodSync(join(dir, 'bin', 'mytool'), 0o755);
    const caller = { ...own, PATH: `${join(dir, 'bin')}:/usr/bin` };
    const served = finishPolicy(denyMytool(), { resolved: new Map(), nameservers: [], env: own, callerEnv: caller }).policy;
    expect(served.exec.programs[0]!.images!.map((i) => i.path)).toEqual([join(dir, 'bin', 'mytool')]);
    const ownOnly = finishPolicy(denyMytool(), { resolved: new Map(), nameservers: [], env: own }).policy;
    expect(ownOnly.exec.programs[0]!.images).toEqual([]);
  });

  it("both runtime dirs' sbx sockets are floors, and the session's agent socket a deputy", () => {
    const caller = { ...own, XDG_RUNTIME_DIR: join(dir, 'run'), SSH_AUTH_SOCK: join(dir, 'agent.sock') };
    const p = finishPolicy(netPolicy(undefined), { resolved: new Map(), nameservers: [], env: own, callerEnv: caller }).policy;
    const floors = p.unix.rules.filter((r) => r.floor && r.effect === 'deny').map((r) => r.pattern);
    expect(floors).toContain('/run/user/1000/sbx');
    expect(floors).toContain(join(dir, 'run', 'sbx'));
    // and the usual one, where a supervisor of a login session keeps its sockets whatever this caller's variable says
    expect(floors).toContain(`/run/user/${process.getuid!()}/sbx`);
    expect(p.unix.rules.filter((r) => r.deputy).map((r) => r.pattern)).toContain(join(dir, 'agent.sock'));
  });
});
