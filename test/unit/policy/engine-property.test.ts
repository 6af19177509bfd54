/**
 * Property: the policy the ENGINE receives — compiled, then finished by src/net's
 * NetworkManager (names resolved through a test hosts file, DNS, the proxy port, unix
 * defaults) — never allows what the user policy alone denies, whatever an UNTRUSTED
 * project file says. Host names are part of the search: they resolve into, around and
 * across the ranges the user denies or allows, so a name cannot carry an address past the
 * trust check. Checked for paths, sockets, addresses (a direct connect), named targets (the
 * filtering proxy's decision) and per-program overrides.
 */
import fc from 'fast-check';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { NetworkManager } from '../../../src/net/index.js';
import type { CompiledPolicy } from '../../../src/policy/compiled.js';
import { resolvePolicyForDir } from '../../../src/policy/index.js';
import { decideExec, decidePath } from '../../../src/policy/match.js';
import { decideNamedTarget, decideNet } from '../../../src/policy/net-match.js';
import { tempWorld } from './helpers.js';

const RUNS = Number(process.env.SBX_PROPERTY_RUNS ?? 150);
const w = tempWorld();
const proj = join(w.home, 'p');
mkdirSync(join(proj, 'src'), { recursive: true });
afterAll(() => rmSync(w.root, { recursive: true, force: true }));

// The test resolver: loopback and a few public/private addresses, names sharing addresses.
const HOSTS: Record<string, string[]> = {
  'svc.test': ['127.0.0.2'],
  'twin.test': ['127.0.0.3'],
  'both.test': ['127.0.0.2', '127.0.0.9'],
  'six.test': ['::1', '127.0.0.2'],
  'a.wild.test': ['127.0.0.2'],
  'b.wild.test': ['93.184.215.14'],
  'meta.wild.test': ['169.254.169.254'],
  'lan.wild.test': ['10.1.2.3'],
  'pub.test': ['93.184.215.14'],
  'db.internal': ['10.1.2.3'],
};
writeFileSync(
  w.env.SBX_HOSTS_FILE!,
  Object.entries(HOSTS)
    .flatMap(([n, as]) => as.map((a) => `${a} ${n}`))
    .join('\n') + '\n',
);

const NET = ['svc.test', 'svc.test:443', 'twin.test', 'both.test', 'six.test', 'pub.test', 'db.internal', '*.wild.test', 'a.wild.test', '*.b.wild.test', '127.0.0.2', '127.0.0.2/31', '127.0.0.0/8', '127.0.0.0/8:443', 'localhost', '10.0.0.0/8', '169.254.0.0/16', '93.184.215.0/24', '*', '::1', '[::1]:443', '0.0.0.0/0:22'];
const PATHS = ['~', '~/.ssh', '~/p', '~/p/src', '~/p/.env', '/tmp', '/etc', '.', 'src', '~/.config', '~/.bashrc', '**/.env', '/**/.git/config', '~/other'];
const EXEC = ['curl', 'curl x', '/usr/bin/curl', 'kubectl delete'];
const UNIX = ['/run/docker.sock', '@*', '/tmp'];

const list = (pool: string[]) => fc.subarray(pool, { maxLength: Math.min(4, pool.length) });
const allowDeny = (pool: string[]) => fc.record({ allow: list(pool), deny: list(pool) }, { requiredKeys: [] });
const body = fc.record(
  {
    read: allowDeny(PATHS),
    write: allowDeny(PATHS),
    exec: allowDeny(EXEC),
    net: fc.record({ allow: list(NET), deny: list(NET), unix: allowDeny(UNIX) }, { requiredKeys: [] }),
    mode: fc.constantFrom('enforce', 'audit'),
  },
  { requiredKeys: [] },
);
const file = (extra: fc.Arbitrary<Record<string, unknown>>) =>
  fc.tuple(body, fc.subarray(['secrets', 'offline', 'project-only']), extra, fc.option(body, { nil: undefined })).map(([b, ext, x, curl]) => ({
    version: 1,
    ...b,
    ...(ext.length ? { extends: ext } : {}),
    ...x,
    ...(curl ? { commands: { curl } } : {}),
  }));
const userFile = file(fc.record({ protect: fc.subarray(['secrets', 'persistence', '~/.ssh']) }, { requiredKeys: [] }));
const projectFile = file(fc.constant({}));

const H = w.home;
const FILES = [`${H}/.ssh/id_rsa`, `${H}/p/src/a.ts`, `${H}/p/.env`, '/tmp/x', '/etc/passwd', `${H}/other/f`, `${H}/.bashrc`, `${H}/p/.git/config`, `${H}/.config`, `${H}/.config/sbx/config.yaml`, `${H}/p`, '/dev/null'];
const SOCKETS = ['/run/docker.sock', '@dbus', '/tmp/x.sock', `${w.root}/run/sbx/control.sock`];
const ADDRS: [string, number][] = [['127.0.0.2', 443], ['127.0.0.2', 80], ['127.0.0.3', 443], ['127.0.0.9', 443], ['127.0.0.1', 8080], ['::1', 443], ['93.184.215.14', 443], ['10.1.2.3', 5432], ['169.254.169.254', 80], ['127.0.0.53', 53], ['1.1.1.1', 22]];
const NAMES: [string, number][] = Object.keys(HOSTS).flatMap((n) => [[n, 443] as [string, number], [n, 80] as [string, number]]);

const PROXY_PORT = 40999;

/** The engine's copy: what NetworkManager hands to engineSetPolicy. */
async function enginePolicies(r: { policy: CompiledPolicy; overrides: CompiledPolicy[] }): Promise<{ main: CompiledPolicy; byName: Map<string, CompiledPolicy> }> {
  const m = new NetworkManager({ env: w.env as NodeJS.ProcessEnv, resolvConf: w.env.SBX_RESOLV_CONF });
  m.proxyPort = PROXY_PORT; // as if the proxy ran: its port is allowed like in a session
  try {
    const main = await m.prepare({ ...r.policy, id: 1 });
    const byName = new Map<string, CompiledPolicy>();
    for (const c of r.policy.commands) {
      const o = r.overrides.find((x) => x.id === c.policy)!;
      byName.set(c.name, await m.prepare({ ...o, id: 100 + c.policy }));
    }
    return { main, byName };
  } finally {
    await m.close();
  }
}

function violation(user: CompiledPolicy, engine: CompiledPolicy): string | undefined {
  for (const p of FILES)
    for (const s of ['read', 'write'] as const) if (decidePath(user[s], p).effect === 'deny' && decidePath(engine[s], p).effect === 'allow') return `${s} ${p}`;
  for (const p of SOCKETS) if (decidePath(user.unix, p).effect === 'deny' && decidePath(engine.unix, p).effect === 'allow') return `unix ${p}`;
  for (const [a, port] of ADDRS) {
    if (a === '127.0.0.1' && port === PROXY_PORT) continue; // the proxy itself decides by the same policy
    if (decideNet(user.net, a, port).effect === 'deny' && decideNet(engine.net, a, port).effect === 'allow') return `connect ${a}:${port}`;
  }
  for (const [n, port] of NAMES) {
    for (const a of HOSTS[n]!) {
      if (decideNamedTarget(user.net, n, a, port).effect === 'deny' && decideNamedTarget(engine.net, n, a, port).effect === 'allow') return `proxy ${n} (${a}):${port}`;
    }
  }
  const curl: [string, string[]] = ['/usr/bin/curl', ['curl', 'x']];
  if (decideExec(user.read, user.exec, curl[0], 'curl', curl[1]).effect === 'deny' && decideExec(engine.read, engine.exec, curl[0], 'curl', curl[1]).effect === 'allow') return 'exec curl x';
  if (user.mode === 'enforce' && engine.mode !== 'enforce') return 'mode';
  return undefined;
}

describe('the engine policy with an untrusted project never allows what the user policy denies', () => {
  it('random user + untrusted project files, names resolved (fast-check)', async () => {
    const userPath = join(w.env.XDG_CONFIG_HOME!, 'sbx', 'config.yaml');
    mkdirSync(join(w.env.XDG_CONFIG_HOME!, 'sbx'), { recursive: true });
    const projectPath = join(proj, '.sbx.yaml');
    let checked = 0;
    let widened = 0;
    await fc.assert(
      fc.asyncProperty(fc.option(userFile, { nil: undefined }), projectFile, async (u, p) => {
        if (u) writeFileSync(userPath, stringify(u));
        else rmSync(userPath, { force: true });
        rmSync(projectPath, { force: true });
        const userOnly = await resolvePolicyForDir(proj, { env: w.env });
        writeFileSync(projectPath, stringify(p));
        const combined = await resolvePolicyForDir(proj, { env: w.env });
        expect(combined.trusted).toBe(false);
        const ue = await enginePolicies(userOnly);
        const ce = await enginePolicies(combined);
        const pairs: [CompiledPolicy, CompiledPolicy][] = [[ue.main, ce.main]];
        for (const [name, o] of ce.byName) pairs.push([ue.byName.get(name) ?? ue.main, o]);
        for (const [a, b] of pairs) {
          const v = violation(a, b);
          if (v) throw new Error(`the engine allows "${v}", which the user policy denies\nuser: ${stringify(u)}\nproject: ${stringify(p)}`);
        }
        if (combined.dropped.length > 0) widened++;
        checked++;
      }),
      { numRuns: RUNS },
    );
    expect(checked).toBeGreaterThanOrEqual(RUNS);
    // Not vacuous: projects did try to widen (and were cut back).
    expect(widened).toBeGreaterThan(0);
  }, Math.max(300_000, RUNS * 2_000));
});
