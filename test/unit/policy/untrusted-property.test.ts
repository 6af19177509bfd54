/**
 * Property: an untrusted project file never allows what the user policy (presets + user
 * file) denies — for reads, writes, unix sockets, exec, addresses, host names, env, and
 * per-program overrides — and never turns enforce into audit.
 */
import fc from 'fast-check';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { CompiledPolicy } from '../../../src/policy/compiled.js';
import { resolvePolicyForDir } from '../../../src/policy/index.js';
import { decideEnv, decideExec, decidePath } from '../../../src/policy/match.js';
import { decideHost, decideNet } from '../../../src/policy/net-match.js';
import { tempWorld } from './helpers.js';

// SBX_PROPERTY_RUNS=2000 for a deeper local search.
const RUNS = Number(process.env.SBX_PROPERTY_RUNS ?? 120);
const w = tempWorld();
const proj = join(w.home, 'p');
mkdirSync(join(proj, 'src'), { recursive: true });
afterAll(() => rmSync(w.root, { recursive: true, force: true }));

const PATHS = ['~', '~/.ssh', '~/.ssh/known_hosts', '~/p', '~/p/src', '~/p/.env', '~/p/dist', '/tmp', '/tmp/x', '/etc', '/', '**/.env', '~/p/**/*.pem', '~/p/*', '.', 'src', '../other', '~/other', '/**/.git/hooks', '/dev', '/dev/null'];
const NET = ['github.com', 'github.com:443', '*.github.com', 'api.github.com', '10.0.0.0/8', '10.1.2.3', '10.1.2.3:443', 'localhost', '127.0.0.1:8080', '*', '::1', 'db.internal', '0.0.0.0/0:22', '140.82.0.0/16', '127.0.0.53', '127.0.0.0/8:53'];
const EXEC = ['curl', 'kubectl', 'kubectl delete', 'kubectl delete pod', 'kubectl get', '/usr/bin/curl', '/usr/bin/kubectl', '/usr/bin/kubectl get', '~/bin', '~/bin/tool', '/usr/bin'];
const ENV = ['AWS_*', 'AWS_REGION', '*', '*_TOKEN', 'PATH', 'GITHUB_TOKEN'];
const UNIX = ['/run/docker.sock', '/run', '@*', '@dbus', '~/.sock'];

const list = (pool: string[]) => fc.subarray(pool, { maxLength: 4 });
const allowDeny = (pool: string[]) => fc.record({ allow: list(pool), deny: list(pool) }, { requiredKeys: [] });
const body = fc.record(
  {
    read: allowDeny(PATHS),
    write: allowDeny(PATHS),
    exec: allowDeny(EXEC),
    net: fc.record({ allow: list(NET), deny: list(NET), unix: allowDeny(UNIX) }, { requiredKeys: [] }),
    env: allowDeny(ENV),
    mode: fc.constantFrom('enforce', 'audit'),
  },
  { requiredKeys: [] },
);
// A command override has no env section (the schema refuses it).
const overrideBody = body.map(({ env: _env, ...rest }) => rest);
const presets = fc.subarray(['secrets', 'shell-rc', 'offline', 'project-only']);
const file = (extra: fc.Arbitrary<Record<string, unknown>>) =>
  fc.tuple(body, presets, extra, fc.option(overrideBody, { nil: undefined })).map(([b, ext, x, npm]) => ({
    version: 1,
    ...b,
    ...(ext.length ? { extends: ext } : {}),
    ...x,
    ...(npm ? { commands: { npm } } : {}),
  }));
const userFile = file(fc.record({ protect: fc.subarray(['secrets', 'shell-rc', '~/.ssh', '~/p/.env']) }, { requiredKeys: [] }));
const projectFile = file(fc.constant({}));

const H = w.home;
const FILES = [`${H}/.ssh/id_rsa`, `${H}/.ssh/known_hosts`, `${H}/p/src/a.ts`, `${H}/p/.env`, `${H}/p/k.pem`, `${H}/p/sub/k.pem`, `${H}/p/dist/x`, '/tmp/x', '/etc/passwd', `${H}/other/f`, `${H}/.bashrc`, `${H}/p/.git/hooks/pre-commit`, `${H}/.local/state/sbx/trust.json`, '/', H, `${H}/p`, '/dev/null', '/dev/pts/0'];
const SOCKETS = ['/run/docker.sock', '/run/user/1/x.sock', '@dbus', '@other', `${H}/.sock`, `${w.root}/run/sbx/control.sock`];
const ADDRS: [string, number][] = [['140.82.121.4', 443], ['140.82.121.4', 22], ['10.1.2.3', 443], ['10.1.2.3', 80], ['10.9.9.9', 5432], ['127.0.0.1', 8080], ['127.0.0.1', 3000], ['::1', 80], ['8.8.8.8', 53], ['127.0.0.53', 53]];
const HOSTS: [string, number][] = [['github.com', 443], ['github.com', 22], ['api.github.com', 443], ['db.internal', 5432], ['example.org', 443]];
const EXECS: [string, string[]][] = [['/usr/bin/curl', ['curl', 'x']], ['/usr/bin/kubectl', ['kubectl', 'delete', 'pod', 'x']], ['/usr/bin/kubectl', ['kubectl', 'get']], [`${H}/bin/tool`, ['tool']], ['/usr/bin/ls', ['ls']]];
const VARS = ['AWS_SECRET', 'AWS_REGION', 'PATH', 'GITHUB_TOKEN', 'NPM_TOKEN', 'EDITOR'];

/** Every question where `user` denies must be denied by `combined` too; returns the first violation. */
function violation(user: CompiledPolicy, combined: CompiledPolicy): string | undefined {
  for (const p of FILES) {
    for (const s of ['read', 'write'] as const) {
      if (decidePath(user[s], p).effect === 'deny' && decidePath(combined[s], p).effect === 'allow') return `${s} ${p}`;
    }
  }
  for (const p of SOCKETS) if (decidePath(user.unix, p).effect === 'deny' && decidePath(combined.unix, p).effect === 'allow') return `unix ${p}`;
  for (const [a, port] of ADDRS) if (decideNet(user.net, a, port).effect === 'deny' && decideNet(combined.net, a, port).effect === 'allow') return `net ${a}:${port}`;
  const host = (p: CompiledPolicy, n: string, port: number) => decideHost(p.net.hosts ?? [], n, port)?.effect ?? p.net.default;
  for (const [n, port] of HOSTS) if (host(user, n, port) === 'deny' && host(combined, n, port) === 'allow') return `host ${n}:${port}`;
  for (const [b, argv] of EXECS) {
    if (decideExec(user.read, user.exec, b, argv[0]!, argv).effect === 'deny' && decideExec(combined.read, combined.exec, b, argv[0]!, argv).effect === 'allow') return `exec ${argv.join(' ')}`;
  }
  for (const v of VARS) if (decideEnv(user.env, v).effect === 'deny' && decideEnv(combined.env, v).effect === 'allow') return `env ${v}`;
  if (user.mode === 'enforce' && combined.mode !== 'enforce') return 'mode';
  return undefined;
}

describe('untrusted project files only take rights away', () => {
  it('never allows what the user policy denies (fast-check)', async () => {
    const userPath = join(w.env.XDG_CONFIG_HOME!, 'sbx', 'config.yaml');
    mkdirSync(join(w.env.XDG_CONFIG_HOME!, 'sbx'), { recursive: true });
    const projectPath = join(proj, '.sbx.yaml');
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(fc.option(userFile, { nil: undefined }), projectFile, async (u, p) => {
        if (u) writeFileSync(userPath, stringify(u));
        else rmSync(userPath, { force: true });
        rmSync(projectPath, { force: true });
        const user = await resolvePolicyForDir(proj, { env: w.env });
        writeFileSync(projectPath, stringify(p));
        const combined = await resolvePolicyForDir(proj, { env: w.env });
        expect(combined.trusted).toBe(false);
        const pairs: [CompiledPolicy, CompiledPolicy][] = [[user.policy, combined.policy]];
        // A program's override: compare with the user's override for it, else the user's main policy.
        for (const c of combined.policy.commands) {
          const userCmd = user.policy.commands.find((x) => x.name === c.name);
          const userPolicy = userCmd ? user.overrides.find((o) => o.id === userCmd.policy)! : user.policy;
          pairs.push([userPolicy, combined.overrides.find((o) => o.id === c.policy)!]);
        }
        for (const [a, b] of pairs) {
          const v = violation(a, b);
          if (v) throw new Error(`untrusted project allowed "${v}" which the user policy denies\nuser: ${stringify(u)}\nproject: ${stringify(p)}`);
        }
        checked++;
      }),
      { numRuns: RUNS },
    );
    expect(checked).toBeGreaterThanOrEqual(RUNS);
  }, Math.max(300_000, RUNS * 2_000));

  it('the allowed twin: a trusted project can widen (so the property is not vacuous)', async () => {
    const { trust } = await import('../../../src/policy/trust.js');
    const { loadPolicyFile } = await import('../../../src/policy/load.js');
    const userPath = join(w.env.XDG_CONFIG_HOME!, 'sbx', 'config.yaml');
    writeFileSync(userPath, 'version: 1\nwrite: { allow: ["~/work"] }\n');
    const projectPath = join(proj, '.sbx.yaml');
    writeFileSync(projectPath, 'version: 1\nwrite: { allow: ["."] }\n');
    const untrusted = await resolvePolicyForDir(proj, { env: w.env });
    expect(decidePath(untrusted.policy.write, `${proj}/x`).effect).toBe('deny');
    trust(projectPath, loadPolicyFile(projectPath, 'project').sha256, w.env);
    const trusted = await resolvePolicyForDir(proj, { env: w.env });
    expect(decidePath(trusted.policy.write, `${proj}/x`).effect).toBe('allow');
  });
});
