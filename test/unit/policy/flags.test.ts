/** `sbx exec` flags (mise-compatible) compiled onto the policy model. */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../../src/cli/args.js';
import type { CompiledPolicy } from '../../../src/policy/compiled.js';
import { explain, type CheckOp } from '../../../src/policy/explain.js';
import { compileExecFlags, emptyExecFlags, EXEC_FLAG_SPEC, execFlagsFromArgs, type ExecFlags } from '../../../src/policy/flags.js';
import { loadPolicyFile } from '../../../src/policy/load.js';
import { trust } from '../../../src/policy/trust.js';
import { check as finishedCheck, tempWorld, tmpSample } from './helpers.js';

type Check = [CheckOp, string, boolean, string?];

// Outside /tmp: --deny-write keeps /tmp writable (and so readable), which would hide denials.
const roots: string[] = [];
function world() {
  const w = tempWorld('/var/tmp');
  roots.push(w.root);
  return w;
}
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const NODE_DIR = dirname(dirname(process.execPath));

const cases: [string, Partial<ExecFlags>, Check[]][] = [
  [
    '--deny-read: system paths, /tmp and the working directory stay readable, the rest is not',
    { denyRead: true },
    [
      ['read', '/usr/bin/env', true, '--deny-read: system paths stay readable'],
      ['read', '/etc/hosts', true],
      ['read', `${NODE_DIR}/bin/node`, true],
      ['read', '/tmp/build-123/out.o', true, '--deny-read: /tmp and $TMPDIR stay readable'],
      ['read', '<C>/src/a.ts', true, '--deny-read: the working directory stays readable'],
      ['read', '~/other/a.ts', false, 'read defaults to deny'],
      ['read', '~/notes', false],
      ['exec', '/usr/bin/env', true],
      ['write', '<C>/x', true],
    ],
  ],
  [
    '--allow-read=P implies --deny-read; P is readable',
    { allowRead: ['./data', '~/shared/*.txt'] },
    [
      ['read', '<C>/data/a.csv', true, '--allow-read=./data'],
      ['read', '~/shared/a.txt', true, '--allow-read=~/shared/*.txt'],
      ['read', '~/shared/a.md', false],
      ['read', '<C>/src/a.ts', false],
      ['read', '/usr/lib', true, '--allow-read (implies --deny-read)'],
    ],
  ],
  [
    '--deny-write: only /tmp and /dev',
    { denyWrite: true },
    [
      ['write', tmpSample(), true, '--deny-write: /tmp and /dev stay writable'],
      ['write', '/dev/null', true],
      ['write', '<C>/x', false, 'write defaults to deny'],
      ['write', '/etc/x', false],
      ['read', '<C>/x', true],
    ],
  ],
  [
    '--allow-write=P implies --deny-write; P is readable even under --deny-read',
    { allowWrite: ['dist'], denyRead: true },
    [
      ['write', '<C>/dist/app.js', true, '--allow-write=dist'],
      ['read', '<C>/dist/app.js', true, '--allow-write=dist'],
      ['write', '<C>/src/a.ts', false],
      ['read', '~/other/a.ts', false],
      ['write', tmpSample(), true],
    ],
  ],
  [
    '--deny-net blocks loopback too',
    { denyNet: true },
    [
      ['net', '127.0.0.1:8080', false, 'net defaults to deny'],
      ['net', '[::1]:80', false],
      ['net', '1.1.1.1:443', false],
      ['net', 'github.com', false],
      ['read', '<C>/x', true],
    ],
  ],
  [
    '--allow-net=H: only H (resolved), plus DNS',
    { allowNet: ['github.com', 'localhost:3000'] },
    [
      ['net', '140.82.121.4:443', true, '--allow-net=github.com'],
      ['net', 'github.com', true],
      ['net', '127.0.0.1:3000', true, '--allow-net=localhost:3000'],
      ['net', '127.0.0.1:3001', false],
      ['net', '1.1.1.1:443', false],
      ['net', '127.0.0.53:53', true, 'built-in: DNS'],
    ],
  ],
  [
    '--deny-env keeps PATH HOME USER SHELL TERM LANG',
    { denyEnv: true },
    [
      ['env', 'PATH', true],
      ['env', 'HOME', true],
      ['env', 'LANG', true],
      ['env', 'TERM', true],
      ['env', 'AWS_SECRET_ACCESS_KEY', false],
      ['env', 'EDITOR', false],
    ],
  ],
  [
    '--allow-env=V implies --deny-env, with wildcards',
    { allowEnv: ['FOO_*', 'EDITOR'] },
    [
      ['env', 'FOO_BAR', true],
      ['env', 'EDITOR', true],
      ['env', 'USER', true],
      ['env', 'BAR', false],
    ],
  ],
  [
    '--deny-all: all four',
    { denyAll: true },
    [
      ['read', '~/other/x', false],
      ['read', '<C>/x', true, '--deny-all: the working directory stays readable'],
      ['read', tmpSample(), true],
      ['read', '/usr/bin/env', true],
      ['write', '<C>/x', false],
      ['write', tmpSample(), true],
      ['net', '127.0.0.1:80', false],
      ['env', 'SECRET', false],
      ['env', 'PATH', true],
    ],
  ],
  [
    'floors stay: --allow-read cannot open ~/.ssh',
    { allowRead: ['~/.ssh'] },
    [
      ['read', '~/.ssh/id_rsa', false, 'protect'],
      ['read', '/usr/bin/env', true],
    ],
  ],
  [
    'no flags: the user/project policy as is',
    {},
    [
      ['read', '<C>/x', true],
      ['write', '<C>/x', true],
      ['net', '1.1.1.1:443', true],
      ['read', '~/.aws/credentials', false],
    ],
  ],
];

async function check(policy: CompiledPolicy, [op, target, allowed, because]: Check, sub: (s: string) => string, cwd: string, env: Record<string, string>) {
  const e = await finishedCheck(policy, op, [sub(target)], { cwd, env });
  expect({ op, target, allowed: e.allowed }).toEqual({ op, target, allowed });
  if (because) expect(`${e.because}`).toContain(sub(because));
}

describe('compileExecFlags', () => {
  it.each(cases)('%s', async (_n, partial, checks) => {
    const w = world();
    const cwd = join(w.home, 'proj');
    mkdirSync(cwd, { recursive: true });
    const sub = (s: string) => s.replaceAll('<C>', cwd).replace(/^~/, w.home);
    const r = await compileExecFlags({ ...emptyExecFlags(), ...partial }, { cwd, env: w.env });
    for (const c of checks) await check(r.policy, c, sub, cwd, w.env);
  });

  it('--deny-read keeps the working directory readable only when no --allow-read names what is, and never the home directory', async () => {
    const w = world();
    const cwd = join(w.home, 'proj');
    mkdirSync(cwd, { recursive: true });
    const readable = async (flags: Partial<ExecFlags>, dir: string, target: string) =>
      explain((await compileExecFlags({ ...emptyExecFlags(), ...flags }, { cwd: dir, env: w.env })).policy, 'read', [target], { cwd: dir, env: w.env }).allowed;
    expect(await readable({ denyRead: true }, cwd, join(cwd, 'package.json'))).toBe(true);
    expect(await readable({ allowRead: ['./data'] }, cwd, join(cwd, 'package.json'))).toBe(false);
    expect(await readable({ allowRead: ['./data'] }, cwd, join(cwd, 'data', 'a.csv'))).toBe(true);
    // From the home directory (or above it), nothing of the home is opened by default.
    expect(await readable({ denyRead: true }, w.home, join(w.home, 'notes.txt'))).toBe(false);
    expect(await readable({ denyRead: true }, w.root, join(w.home, 'notes.txt'))).toBe(false);
    expect(await readable({ denyRead: true }, '/', join(w.home, 'notes.txt'))).toBe(false);
    // $TMPDIR stays readable (and writable under --deny-write), as /tmp does.
    const tmpdir = join(w.root, 'tmpdir');
    const env = { ...w.env, TMPDIR: tmpdir };
    const r = await compileExecFlags({ ...emptyExecFlags(), denyAll: true }, { cwd, env });
    expect(explain(r.policy, 'read', [join(tmpdir, 'f')], { cwd, env }).allowed).toBe(true);
    expect(explain(r.policy, 'write', [join(tmpdir, 'f')], { cwd, env }).allowed).toBe(true);
  });

  it('a deny flag drops allows of a trusted project file', async () => {
    const w = world();
    const cwd = join(w.home, 'proj');
    mkdirSync(cwd, { recursive: true });
    const f = join(cwd, '.sbx.yaml');
    writeFileSync(f, 'version: 1\nwrite: { allow: ["."] }\nread: { deny: ["secret"] }\n');
    trust(f, loadPolicyFile(f, 'project').sha256, w.env);
    const plain = await compileExecFlags(emptyExecFlags(), { cwd, env: w.env });
    expect(explain(plain.policy, 'write', [join(cwd, 'x')], { cwd, env: w.env }).allowed).toBe(true);
    const r = await compileExecFlags({ ...emptyExecFlags(), denyWrite: true }, { cwd, env: w.env });
    expect(explain(r.policy, 'write', [join(cwd, 'x')], { cwd, env: w.env }).allowed).toBe(false);
    expect(explain(r.policy, 'read', [join(cwd, 'secret')], { cwd, env: w.env }).allowed).toBe(false);
    expect(r.files).toEqual([f]);
  });

  it('--deny-net drops the files\' net.unix allows; --allow-net=/path.sock names a socket', async () => {
    const w = world();
    const cwd = join(w.home, 'proj');
    mkdirSync(cwd, { recursive: true });
    const agent = join(w.root, 'agent.sock');
    w.write('home/.config/sbx/config.yaml', `version: 1\nnet: { unix: { allow: ["${agent}"] } }\n`);
    const named = (p: CompiledPolicy, t: string) => p.unix.rules.some((r) => r.effect === 'allow' && r.pattern === t);
    const plain = await compileExecFlags(emptyExecFlags(), { cwd, env: w.env });
    expect(named(plain.policy, agent)).toBe(true);
    const denyNet = await compileExecFlags({ ...emptyExecFlags(), denyNet: true }, { cwd, env: w.env });
    expect(named(denyNet.policy, agent)).toBe(false);
    const flag = await compileExecFlags({ ...emptyExecFlags(), denyAll: true, allowNet: [agent, '@bus-x', 'github.com'] }, { cwd, env: w.env });
    expect(named(flag.policy, agent)).toBe(true);
    expect(named(flag.policy, '@bus-x')).toBe(true);
    expect(flag.policy.net.hosts?.map((h) => h.pattern)).toEqual(['github.com']);
    const rule = flag.policy.unix.rules.find((r) => r.pattern === agent)!;
    expect(flag.policy.origins[rule.rule]?.source).toBe(`--allow-net=${agent}`);
  });

  it('--policy FILE combines with flags (and its commands become overrides)', async () => {
    const w = world();
    const cwd = join(w.home, 'proj');
    mkdirSync(cwd, { recursive: true });
    const pf = w.write('extra.yaml', 'version: 1\nnet: { allow: ["github.com"] }\ncommands:\n  npm: { net: { allow: ["registry.npmjs.org"] } }\n');
    const r = await compileExecFlags({ ...emptyExecFlags(), denyWrite: true, policyFile: pf }, { cwd, env: w.env });
    const e = async (op: CheckOp, t: string) => (await finishedCheck(r.policy, op, [t], { cwd, env: w.env })).allowed;
    expect(await e('net', 'github.com')).toBe(true);
    expect(await e('net', '1.1.1.1:443')).toBe(false);
    expect(await e('write', join(cwd, 'x'))).toBe(false);
    expect(await e('write', tmpSample())).toBe(true);
    expect(r.overrides).toHaveLength(1);
    const npm = r.overrides[0]!;
    expect((await finishedCheck(npm, 'net', ['registry.npmjs.org'], { cwd, env: w.env })).allowed).toBe(true);
    expect((await finishedCheck(npm, 'write', [join(cwd, 'x')], { cwd, env: w.env })).allowed).toBe(false); // flags apply to overrides too
    expect(r.files).toEqual([pf]);
  });

  it('a bad --policy FILE is a PolicyError naming it', async () => {
    const w = world();
    const pf = w.write('bad.yaml', 'version: 1\nnet: { alow: [] }\n');
    await expect(compileExecFlags({ ...emptyExecFlags(), policyFile: pf }, { cwd: w.root, env: w.env })).rejects.toMatchObject({
      issues: [`${pf}:2:8: net.alow: unknown key (did you mean 'allow'?)`],
    });
  });

  it('returns the filtered environment', async () => {
    const w = world();
    const env = { ...w.env, AWS_SECRET: 'x', FOO_1: 'y', USER: 'me' };
    const r = await compileExecFlags({ ...emptyExecFlags(), allowEnv: ['FOO_*'] }, { cwd: w.root, env });
    expect(Object.keys(r.env).sort()).toEqual(['FOO_1', 'HOME', 'PATH', 'USER']);
    expect(r.envFilter.deny).toContain('*');
  });

  it('flags parse as repeatable comma lists', () => {
    const parsed = parseArgs(['--deny-net', '--allow-read=a,b', '--allow-read', 'c', '--allow-env=X_*', '--policy', 'p.yaml', 'cmd'], EXEC_FLAG_SPEC, 'usage', { stopAtPositional: true });
    expect(execFlagsFromArgs(parsed)).toEqual({
      ...emptyExecFlags(),
      denyNet: true,
      allowRead: ['a', 'b', 'c'],
      allowEnv: ['X_*'],
      policyFile: 'p.yaml',
    });
  });

  it('an --allow-* flag naming nothing is a usage error, not an unrestricted run (twin: a list with an empty item between names)', () => {
    const parse = (args: string[]) => parseArgs([...args, 'cmd'], EXEC_FLAG_SPEC, 'usage', { stopAtPositional: true });
    for (const flag of ['--allow-net=', '--allow-read=', '--allow-write=,', '--allow-env=']) expect(() => parse([flag]), flag).toThrow(/names nothing/);
    expect(() => parse(['--allow-net', ''])).toThrow(/--allow-net names nothing/);
    expect(execFlagsFromArgs(parse(['--allow-net=a.test,,b.test'])).allowNet).toEqual(['a.test', 'b.test']);
  });
});
