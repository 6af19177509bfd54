/**
 * Exec identity pieces without a sandbox: the engine's SHA-256 (known vectors, and against
 * Node's crypto), its image hash cache, the one table of tools' global options read the
 * same way by TS and native, the loader's option reading, and what finishing a policy
 * records for its program rules.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../../src/native/load.js';
import { elfInterpreter, identifyExec } from '../../../src/policy/exec-images.js';
import { KNOWN_TOOLS, subcommandForms, subcommandStarts, toolFor } from '../../../src/policy/exec-tools.js';
import { decideProgram } from '../../../src/policy/match.js';
import type { ExecSection, ProgramRule } from '../../../src/policy/compiled.js';

const addon = loadNative();
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sbx-execid-unit-')));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('native SHA-256', () => {
  it('known vectors (FIPS 180-4 examples)', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(addon.sha256Hex(enc(''))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(addon.sha256Hex(enc('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(addon.sha256Hex(enc('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    expect(addon.sha256Hex(enc('a'.repeat(1_000_000)))).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  it('every length around the block and padding boundaries equals node:crypto', () => {
    for (let n = 0; n <= 200; n++) {
      const b = new Uint8Array(randomBytes(n));
      expect(addon.sha256Hex(b), `length ${n}`).toBe(sha(b));
    }
  });

  it('a file is hashed once per version: the second digest is a cache hit; a change is hashed again', () => {
    const f = join(dir, 'img');
    writeFileSync(f, randomBytes(300_000));
    const a = addon.imageDigest(f);
    expect(a.sha256).toBe(sha(readFileSync(f)));
    const b = addon.imageDigest(f);
    expect(b.sha256).toBe(a.sha256);
    expect(b.hits).toBe(a.hits + 1);
    expect(b.hashed).toBe(a.hashed);
    writeFileSync(f, randomBytes(300_000));
    const c = addon.imageDigest(f);
    expect(c.sha256).toBe(sha(readFileSync(f)));
    expect(c.hashed).toBe(b.hashed + 1);
    expect(addon.imageDigest(join(dir, 'missing')).sha256).toBeNull();
  });
});

describe('global options of tools (one table, read alike in TS and native)', () => {
  const tool = (name: string) => toolFor([name])!;
  const cases: [string, string[], number[]][] = [
    ['git', ['git', 'status'], [1]],
    ['git', ['git', '-c', 'k=v', '-C', 'dir', '--no-pager', 'status'], [6]],
    ['git', ['git', '--git-dir', '.git', '--work-tree=.', 'status'], [4]],
    ['git', ['git', '--version'], []],
    ['kubectl', ['kubectl', '--context', 'x', '-n', 'y', 'delete', 'pod'], [5]],
    ['kubectl', ['kubectl', '-ny', '--namespace=z', 'delete'], [3]],
    ['docker', ['docker', '-H', 'h', '--context', 'c', 'rm', 'x'], [5]],
    ['docker', ['docker', '--debug', '-l', 'info', 'rm'], [4]],
    ['npm', ['npm', '--prefix', 'p', 'publish'], [3]],
    ['npm', ['npm', '-w', 'ws', 'publish'], [3]],
    ['npm', ['npm', '-g', '--registry=r', 'publish'], [3]],
    // Not in the table: it may take a value or not — both readings.
    ['npm', ['npm', '--some-config', 'v', 'publish'], [2, 3]],
    ['npm', ['npm', '--', 'publish'], [2]],
  ];
  for (const [t, argv, want] of cases) {
    it(`${argv.join(' ')} → subcommand at ${JSON.stringify(want)}`, () => {
      expect(subcommandStarts(argv, tool(t))).toEqual(want);
      expect(addon.subcommandStarts(argv, tool(t))).toEqual(want);
    });
  }

  it('TS and native agree on random argument vectors for every tool', () => {
    const words = ['status', 'rm', '-c', '-C', '-n', '-ny', '--context', '--x=1', '--', '-', '--unknown', '-w', 'v', '--no-pager', '-g'];
    for (const t of KNOWN_TOOLS) {
      for (let i = 0; i < 300; i++) {
        const argv = [t, ...Array.from({ length: 1 + (i % 7) }, (_, k) => words[(i * 7 + k * 13 + (i >> 3)) % words.length]!)];
        expect(addon.subcommandStarts(argv, tool(t)), argv.join(' ')).toEqual(subcommandStarts(argv, tool(t)));
      }
    }
  });

  it('a tool is known by the basename of the image its name resolved to, then by the name', () => {
    expect(toolFor(['/usr/lib/node_modules/npm/bin/npm-cli.js', 'npm'])?.name).toBe('npm');
    expect(toolFor(['/opt/x/git'])?.name).toBe('git');
    expect(toolFor(['/usr/bin/curl', 'curl'])).toBeUndefined();
  });

  it('decideProgram: "git status" denied after global options; "git log" allowed; any reading that denies, denies', () => {
    const rules: ProgramRule[] = [
      { rule: 0, effect: 'deny', name: 'git', args: ['status'], tool: tool('git') },
      { rule: 1, effect: 'allow', name: 'git', args: ['log'], tool: tool('git') },
      { rule: 2, effect: 'deny', name: 'npm', args: ['publish'], tool: tool('npm') },
    ];
    const d = (argv: string[]) => decideProgram(rules, `/usr/bin/${argv[0]}`, argv[0]!, argv)?.effect;
    expect(d(['git', '-c', 'k=v', '-C', 'd', '--no-pager', 'status'])).toBe('deny');
    expect(d(['git', '-c', 'k=v', 'log'])).toBe('allow');
    expect(d(['npm', '--some-config', 'publish'])).toBe('deny'); // --some-config may be a flag
    expect(d(['npm', '--some-config', 'x', 'install'])).toBeUndefined();
  });
});

describe('the dynamic loader: ld.so [options] PROG', () => {
  const cases: [string[], number][] = [
    [['ld.so', '/usr/bin/curl', '-x'], 1],
    [['ld.so', '--library-path', 'L', '--preload', 'P', '--audit', 'A', '--argv0', 'z', '/bin/x'], 9],
    [['ld.so', '--inhibit-cache', '--list', './x'], 3],
    [['ld.so', '--help'], 0],
    [['ld.so', '--library-path'], 0],
    [['ld.so', '--library-path=/x', '/bin/x'], -1],
    [['ld.so', '--', '/bin/x'], -1],
    [['ld.so', '--unknown', '/bin/x'], -1],
  ];
  for (const [argv, want] of cases) {
    it(`${argv.join(' ')} → ${want}`, () => expect(addon.loaderProgIndex(argv)).toBe(want));
  }
});

describe('finishing records program images', () => {
  const section = (programs: ProgramRule[]): ExecSection => ({ default: 'allow', paths: [], programs });

  it('a name resolves through PATH to dev/ino + SHA-256 and a tool table; a missing name stays a name rule; loaders are found', () => {
    const bin = join(dir, 'bin');
    rmSync(bin, { recursive: true, force: true });
    mkdirSync(bin);
    writeFileSync(join(bin, 'mytool'), '#!/bin/sh\necho mytool\n');
    chmodSync(join(bin, 'mytool'), 0o755);
    writeFileSync(join(bin, 'git'), '#!/bin/sh\necho fake git\n');
    chmodSync(join(bin, 'git'), 0o755);
    const { exec, warnings } = identifyExec(
      section([
        { rule: 0, effect: 'deny', name: 'mytool', args: [] },
        { rule: 1, effect: 'deny', name: 'no-such-program-here', args: [] },
        { rule: 2, effect: 'deny', name: 'git', args: ['status'] },
      ]),
      { PATH: bin },
    );
    expect(warnings).toEqual([]);
    const [mine, missing, git] = exec.programs;
    expect(mine!.images).toHaveLength(1);
    expect(mine!.images![0]!.path).toBe(join(bin, 'mytool'));
    expect(mine!.images![0]!.sha256).toBe(sha(readFileSync(join(bin, 'mytool'))));
    expect(missing!.images).toEqual([]);
    expect(git!.tool?.name).toBe('git');
    expect(git!.images!.map((i) => i.path)).toContain(join(bin, 'git'));
    const interp = elfInterpreter('/bin/sh');
    if (interp) expect(exec.loaders!.map((l) => l.path)).toContain(realpathSync(interp));
  });

  it('a multi-call binary keeps its name rule only (a warning), so denying one applet does not deny the others', () => {
    const bin = join(dir, 'mc');
    mkdirSync(bin);
    copyFileSync('/bin/true', join(bin, 'busybox'));
    chmodSync(join(bin, 'busybox'), 0o755);
    symlinkSync(join(bin, 'busybox'), join(bin, 'wgetx'));
    const { exec, warnings } = identifyExec(section([{ rule: 0, effect: 'deny', name: 'wgetx', args: [] }]), { PATH: bin });
    expect(exec.programs[0]!.images).toEqual([]);
    expect(warnings.join('\n')).toMatch(/wgetx is the multi-call program .*busybox; it is matched by name only/);
  });

  it('a policy without a program deny is left as it is (nothing hashed)', () => {
    const s = section([{ rule: 0, effect: 'allow', name: 'git', args: ['log'] }]);
    expect(identifyExec(s, { PATH: '/usr/bin' }).exec).toBe(s);
  });
});

describe('subcommandForms: the other ways a tool reads the same subcommand (deny rules)', () => {
  it("npm: unique prefixes and aliases of the command, camelCase for a dashed one; never another command's", () => {
    const words = (c: string) => subcommandForms('npm', [c, 'x']).map((a) => a[0]);
    expect(words('publish')).toEqual(expect.arrayContaining(['publish', 'pub', 'publis']));
    expect(words('publish')).not.toContain('p'); // ambiguous: npm refuses it
    expect(words('uninstall')).toEqual(expect.arrayContaining(['un', 'rm', 'remove', 'r']));
    expect(words('install-test')).toEqual(expect.arrayContaining(['it', 'installTest']));
    expect(words('install-test')).not.toContain('install'); // a command of its own
    expect(subcommandForms('npm', ['publish', '--tag'])).toContainEqual(['pub', '--tag']);
  });

  it("docker: a classic command and its management command's forms, both ways", () => {
    expect(subcommandForms('docker', ['rm', 'x'])).toEqual(expect.arrayContaining([['rm', 'x'], ['container', 'rm', 'x'], ['container', 'remove', 'x']]));
    expect(subcommandForms('docker', ['container', 'run'])).toContainEqual(['run']);
    expect(subcommandForms('docker', ['build'])).toEqual(expect.arrayContaining([['image', 'build'], ['buildx', 'build'], ['builder', 'build']]));
    expect(subcommandForms('docker', ['ps'])).not.toContainEqual(['rm']);
    expect(subcommandForms('git', ['push'])).toEqual([['push']]);
  });
});
