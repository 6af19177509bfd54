/**
 * `sbx exec` on macOS, driven on Linux through the macOS platform object with the
 * recording stand-in sandbox-exec first on PATH: the profile it gets (0600, in a private
 * dir removed afterwards), the program, cwd and env passed through, exit codes (status,
 * 128+signal, 127 not found), and doctor's checks. Enforcement itself needs a real Mac.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { currentPlatform } from '../../src/platform/index.js';
import { createMacosPlatform, macosPlatform } from '../../src/platform/macos/index.js';
import type { ExecRequest } from '../../src/platform/types.js';
import { FakeSandboxExec } from '../unit/macos/fake-sandbox.js';
import { goldenPolicies } from '../unit/macos/policies.js';

let fake: FakeSandboxExec;
let work: string;

afterEach(() => fake.remove());

beforeEach(() => {
  fake = new FakeSandboxExec();
  work = join(fake.root, 'work');
  mkdirSync(work);
});

function request(argv: string[], extra: Partial<ExecRequest> = {}): ExecRequest {
  return {
    policy: goldenPolicies.secrets!(),
    overrides: [],
    argv,
    cwd: work,
    env: { ...fake.env(), HOME: join(fake.root, 'home'), MARK: 'passed-through' },
    quiet: true,
    ...extra,
  };
}

describe('macOS platform object on Linux', () => {
  it('is what the dispatcher returns for darwin, and is constructible here', async () => {
    expect(await currentPlatform('darwin')).toBe(macosPlatform);
    expect(macosPlatform.name).toBe('macos');
    expect(await currentPlatform('linux')).not.toBe(macosPlatform);
    await expect(currentPlatform('win32')).rejects.toThrow(/only Linux and macOS/);
  });
});

describe('sbx exec through sandbox-exec (stand-in)', () => {
  const platform = () => createMacosPlatform();

  it('runs `sandbox-exec -f PROFILE /abs/program ARGS` in cwd with the env, and passes the exit code', async () => {
    const code = await platform().exec(request(['sh', '-c', 'echo "$MARK" > out.txt; pwd -P >> out.txt; exit 3']));
    expect(code).toBe(3);
    const [call, ...more] = fake.calls();
    expect(more).toHaveLength(0);
    expect(call!.argv[0]).toMatch(/^\/.*\/sh$/); // looked up on the request's PATH
    expect(call!.argv.slice(1)).toEqual(['-c', 'echo "$MARK" > out.txt; pwd -P >> out.txt; exit 3']);
    expect(readFileSync(join(work, 'out.txt'), 'utf8')).toBe(`passed-through\n${work}\n`);
    expect(call!.cwd).toBe(work);
  });

  it('the profile file is 0600 in a private dir that the profile itself puts out of reach, and is gone afterwards', async () => {
    expect(await platform().exec(request(['true']))).toBe(0);
    const [call] = fake.calls();
    expect(call!.mode).toBe('600');
    expect(call!.profile).toContain('(deny file-read* (subpath "/Users/dev/.ssh"))');
    const dir = dirname(call!.file!);
    expect(call!.profile).toContain(`(deny file-read* file-write* (subpath "${dir}")`);
    expect(existsSync(call!.file!)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it('a program killed by a signal gives 128+signal; one that exits 0 gives 0', async () => {
    expect(await platform().exec(request(['sh', '-c', 'kill -TERM $$']))).toBe(128 + 15);
    expect(await platform().exec(request(['sh', '-c', 'exit 0']))).toBe(0);
  });

  it('a program not on PATH gives 127 without starting sandbox-exec; an existing one starts it', async () => {
    expect(await platform().exec(request(['sbx-no-such-program-xyz']))).toBe(127);
    expect(fake.calls()).toHaveLength(0);
    expect(await platform().exec(request(['true']))).toBe(0);
    expect(fake.calls()).toHaveLength(1);
  });

  it('no sandbox-exec at all: an SbxError, never an unsandboxed run', async () => {
    const marker = join(work, 'ran');
    const req = request(['sh', '-c', `touch ${marker}`], { env: { PATH: '/usr/bin:/bin' } });
    await expect(platform().exec(req)).rejects.toThrow(/sandbox-exec not found/);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('sbx doctor on macOS (stand-in)', () => {
  const saved = process.env.PATH;
  afterEach(() => {
    process.env.PATH = saved;
    delete process.env.SBX_FAKE_SANDBOX_DIR;
  });

  it('finds sandbox-exec and a loadable profile, and catches a sandbox-exec that does not enforce', async () => {
    process.env.PATH = fake.env(saved).PATH;
    process.env.SBX_FAKE_SANDBOX_DIR = fake.records;
    const report = await createMacosPlatform().doctor();
    const by = Object.fromEntries(report.checks.map((c) => [c.name, c]));
    expect(by['sandbox-exec']!.ok).toBe(true);
    expect(by['profile loads']!.ok).toBe(true);
    // The stand-in runs everything unsandboxed: the probe's deny rule does not bite.
    expect(by['generated profile']!.ok).toBe(false);
    expect(by['generated profile']!.detail).toMatch(/deny rule: cat exit 0/);
    expect(report.usable).toBe(false);
  });

  it('without sandbox-exec: unusable, saying so', async () => {
    process.env.PATH = '/usr/bin:/bin';
    const report = await createMacosPlatform().doctor();
    expect(report.usable).toBe(false);
    expect(report.checks[0]).toMatchObject({ name: 'sandbox-exec', ok: false });
  });
});
