/**
 * `sbx check`, `sbx policy`, `sbx init`, `sbx trust`/`untrust`: the real ./bin/sbx in real
 * processes, with HOME and XDG_* in a throwaway tree (under /var/tmp, away from the
 * temp dirs some presets keep writable). Each sbx run is ~0.2 s; the generous timeouts
 * are for a CI box busy with the kernel tests in parallel.
 */
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '..', '..');
const sbx = join(repo, 'bin', 'sbx');

let root: string;
let home: string;
let proj: string;
let env: Record<string, string>;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], opts: { cwd?: string; extraEnv?: Record<string, string>; input?: string; detached?: boolean } = {}): Promise<Run> {
  return execa(sbx, args, {
    cwd: opts.cwd ?? proj,
    env: { ...env, ...opts.extraEnv },
    extendEnv: false,
    // detached = setsid: no controlling terminal, like a background process in a session
    detached: opts.detached ?? false,
    input: opts.input ?? '',
    stripFinalNewline: false,
    reject: false, // the tests read the exit code
  }).then((r) => {
    if (r.exitCode === undefined && r.signal === undefined) throw r; // could not start: the error names the command
    return { code: r.exitCode ?? null, stdout: r.stdout, stderr: r.stderr };
  });
}

beforeAll(() => {
  root = realpathSync(mkdtempSync(join(existsSync('/var/tmp') ? '/var/tmp' : tmpdir(), 'sbx-policy-cli-')));
  home = join(root, 'home');
  proj = join(home, 'proj');
  mkdirSync(join(proj, 'src'), { recursive: true });
  writeFileSync(join(root, 'hosts'), '140.82.121.4 github.com\n');
  writeFileSync(join(root, 'resolv.conf'), 'nameserver 127.0.0.53\n');
  env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_STATE_HOME: join(home, '.local/state'),
    XDG_RUNTIME_DIR: join(root, 'run'),
    SBX_HOSTS_FILE: join(root, 'hosts'),
    SBX_RESOLV_CONF: join(root, 'resolv.conf'),
    LANG: 'C.UTF-8',
  };
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

function userConfig(text: string | undefined): void {
  const f = join(home, '.config/sbx/config.yaml');
  if (text === undefined) rmSync(f, { force: true });
  else {
    mkdirSync(join(home, '.config/sbx'), { recursive: true });
    writeFileSync(f, text);
  }
}

describe('sbx check', { timeout: 120_000 }, () => {
  it('denied: exit 1 with the deciding rule and its origin; allowed twin: exit 0', async () => {
    userConfig(undefined);
    const denied = await run(['check', 'read', join(home, '.ssh/id_rsa')]);
    expect(denied.code).toBe(1);
    expect(denied.stdout).toBe(
      `denied: read ${home}/.ssh/id_rsa\n  by: protect rule "~/.ssh" from default protect (protect: preset secrets)\n  (a protected floor: no project policy can lift it)\n  policy: built-in defaults (preset secrets)\n`,
    );
    const allowed = await run(['check', 'read', 'src/main.ts']);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toBe(`allowed: read ${proj}/src/main.ts\n  by: no rule matches: read defaults to allow\n  policy: built-in defaults (preset secrets)\n`);
  });

  it('names file:line:col of the deciding rule', async () => {
    userConfig('version: 1\nnet:\n  allow: ["github.com"]\n  deny: ["10.0.0.0/8"]\n');
    const r = await run(['check', 'net', '10.1.2.3:5432']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`denied: net 10.1.2.3:5432\n  by: net rule "10.0.0.0/8" from ${home}/.config/sbx/config.yaml:4:10\n`);
    const ok = await run(['check', 'net', 'github.com']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`allowed: net github.com:443\n  by: net rule "github.com" from ${home}/.config/sbx/config.yaml:3:11 (for 140.82.121.4)\n`);
    const local = await run(['check', 'net', 'localhost:8080']);
    expect(local.code).toBe(1);
    userConfig('version: 1\nnet:\n  allow: ["localhost:8080", "140.82.121.4"]\n');
    const local2 = await run(['check', 'net', 'localhost:8080']);
    expect(local2.code).toBe(0);
    expect(local2.stdout).toContain(`by: net rule "localhost:8080" from ${home}/.config/sbx/config.yaml:3:11 (for 127.0.0.1)`);
    const byAddress = await run(['check', 'net', 'github.com']);
    expect(byAddress.code).toBe(0);
    expect(byAddress.stdout).toContain('(for 140.82.121.4)');
    const other = await run(['check', 'net', 'example.org:80']);
    expect(other.code).toBe(1);
    expect(other.stdout).toContain('by: no rule matches: net defaults to deny (example.org does not resolve)');
  });

  it('--dir decides with another directory’s policy; exec with argv prefix; env; --json', async () => {
    userConfig(undefined);
    const other = join(home, 'other');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, '.sbx.yaml'), 'version: 1\nexec: { deny: ["kubectl delete"] }\nenv: { deny: ["AWS_*"] }\n');
    const bin = join(root, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'kubectl'), '#!/bin/sh\n', { mode: 0o755 });
    const extraEnv = { PATH: `${bin}:${env.PATH}` };
    const del = await run(['check', '--dir', other, 'exec', 'kubectl', 'delete', 'pod', 'x'], { extraEnv });
    expect(del.code).toBe(1);
    expect(del.stdout).toContain(`denied: exec ${bin}/kubectl delete pod x\n  by: exec rule "kubectl delete" from ${other}/.sbx.yaml:2:16\n`);
    const get = await run(['check', '--dir', other, 'exec', 'kubectl', 'get', 'pods'], { extraEnv });
    expect(get.code).toBe(0);
    const here = await run(['check', 'exec', 'kubectl', 'delete', 'pod', 'x'], { extraEnv });
    expect(here.code).toBe(0);
    const envDenied = await run(['check', 'env', 'AWS_SECRET_ACCESS_KEY', '--dir', other]);
    expect(envDenied.code).toBe(1);
    expect(envDenied.stdout).toContain('by: env deny pattern "AWS_*"');
    const envOk = await run(['check', 'env', 'EDITOR', '--dir', other]);
    expect(envOk.code).toBe(0);
    const json = await run(['check', 'read', join(home, '.aws/credentials'), '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ op: 'read', allowed: false, floor: true, origin: { text: '~/.aws', section: 'protect' } });
  });

  it('a broken file: the verdict of what a session enforces (strict fallback here), every problem with file:line:col on stderr', async () => {
    userConfig('version: 1\nread:\n  deny: [42]\n');
    const problem = `sbx: ${home}/.config/sbx/config.yaml: invalid policy file (1 problem); no good version is known: the strict fallback is in force\n  ${home}/.config/sbx/config.yaml:3:10: read.deny[0]: expected a string (got 42)\n`;
    const inProject = await run(['check', 'read', 'x']);
    expect(inProject.code).toBe(0);
    expect(inProject.stderr).toBe(problem);
    const elsewhere = await run(['check', 'read', '/srv/sbx-elsewhere/x']); // (this test's home is under /var/tmp, which the fallback keeps)
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stdout).toContain('strict fallback');
    expect(elsewhere.stderr).toBe(problem);
  });

  it('errors exit 2: unknown op, missing target, unknown program', async () => {
    userConfig(undefined);
    expect((await run(['check', 'bogus', 'x'])).code).toBe(2);
    expect((await run(['check', 'read'])).code).toBe(2);
    const nf = await run(['check', 'exec', 'no-such-program-xyz']);
    expect(nf.code).toBe(2);
    expect(nf.stderr).toBe('sbx: no-such-program-xyz: command not found\n');
    expect((await run(['check', 'read', 'x'])).code).toBe(0);
  });
});

describe('sbx policy', { timeout: 120_000 }, () => {
  it('prints the merged policy with origins; --json is machine-readable', async () => {
    userConfig('version: 1\nextends: [secrets, shell-rc]\n');
    const p = join(home, 'pp');
    mkdirSync(p, { recursive: true });
    writeFileSync(join(p, '.sbx.yaml'), 'version: 1\nread: { allow: ["~/.ssh/known_hosts"] }\nwrite: { allow: ["."] }\n');
    const r = await run(['policy', '--dir', p]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`policy for ${p}\nfrom: project ${p}/.sbx.yaml (untrusted: can only narrow what applies here without it)\n`);
    expect(r.stdout).toContain(`dropped: ${p}/.sbx.yaml:2:17: read.allow "~/.ssh/known_hosts" (untrusted: the policy below does not allow it)`);
    expect(r.stdout).toContain(`  deny  floor ${home}/.ssh    "~/.ssh"  ← default protect (protect: preset secrets)`);
    expect(r.stdout).toContain(`  deny  glob /**/.vscode    "/**/.vscode"  ← preset shell-rc (extends in ${home}/.config/sbx/config.yaml:2:20)`);
    expect(r.stdout).toContain(`  deny  floor ${home}/.bashrc    "${home}/.bashrc"  ← default protect (protect: preset persistence)`);
    expect(r.stdout).toContain(`write (default deny):`);
    expect(r.stdout).toContain(`  allow ${p}    "."  ← ${p}/.sbx.yaml:3:18`);
    const j = await run(['policy', '--dir', p, '--json']);
    expect(j.code).toBe(0);
    const parsed = JSON.parse(j.stdout);
    expect(parsed.trusted).toBe(false);
    expect(parsed.files).toEqual([`${home}/.config/sbx/config.yaml`, `${p}/.sbx.yaml`]);
    expect(parsed.policy.write.default).toBe('deny');
  });

  it('--seatbelt prints the macOS profile generated from the same policy', async () => {
    userConfig(undefined);
    const r = await run(['policy', '--seatbelt']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('(version 1)\n')).toBe(true);
    expect(r.stdout).toContain(`${home}/.ssh`);
  });

  it('a broken project file: exit 2, every problem listed, and the strict fallback in force shown', async () => {
    userConfig(undefined);
    const p = join(home, 'broken');
    mkdirSync(p, { recursive: true });
    writeFileSync(join(p, '.sbx.yaml'), 'version: 1\nraed: {}\nnet: { allow: ["https://x"] }\n');
    const r = await run(['policy', '--dir', p]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`sbx: ${p}/.sbx.yaml: invalid policy file (1 problem); no good version is known: the strict fallback is in force\n  ${p}/.sbx.yaml:2:1: raed: unknown key (did you mean 'read'?)\n`);
    expect(r.stdout).toContain('built-in: strict fallback');
    writeFileSync(join(p, '.sbx.yaml'), 'version: 1\nnet: { allow: ["https://x"] }\n');
    const r2 = await run(['policy', '--dir', p]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain(`${p}/.sbx.yaml:2:16: net.allow[0]: not a host, IP, CIDR or host:port (leave out the scheme) (got "https://x")`);
  });
});

describe('sbx init', { timeout: 120_000 }, () => {
  it('writes a commented starter that loads, and refuses to overwrite it', async () => {
    userConfig(undefined);
    const p = join(home, 'fresh');
    mkdirSync(p, { recursive: true });
    const r = await run(['init'], { cwd: p });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${p}/.sbx.yaml`);
    const text = readFileSync(join(p, '.sbx.yaml'), 'utf8');
    expect(text).toMatch(/^# sbx project policy/);
    const pol = await run(['policy', '--dir', p]);
    expect(pol.code).toBe(0);
    const again = await run(['init', '--dir', p]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`sbx: ${p}/.sbx.yaml already exists; not overwriting it\nhint: edit it, or remove it first\n`);
    expect(readFileSync(join(p, '.sbx.yaml'), 'utf8')).toBe(text);
  });
});

describe('sbx trust / untrust', { timeout: 120_000 }, () => {
  const setup = () => {
    userConfig('version: 1\nwrite: { allow: ["~/work"] }\n');
    const p = join(home, 'tp');
    mkdirSync(p, { recursive: true });
    writeFileSync(join(p, '.sbx.yaml'), 'version: 1\nwrite: { allow: ["."] }\n');
    return p;
  };

  it('untrusted narrows; trusted widens; an edit untrusts; untrust forgets', async () => {
    const p = setup();
    const target = join(p, 'out.txt');
    expect((await run(['check', 'write', target, '--dir', p])).code).toBe(1);
    const t = await run(['trust', p]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(new RegExp(`^trusted: ${p}/.sbx.yaml \\(sha256 [0-9a-f]{12}\\); editing it makes it untrusted again\\n$`));
    expect((await run(['check', 'write', target, '--dir', p])).code).toBe(0);
    expect((await run(['trust', p])).stdout).toBe(`already trusted: ${p}/.sbx.yaml\n`);
    writeFileSync(join(p, '.sbx.yaml'), 'version: 1\nwrite: { allow: [".", "/etc"] }\n');
    expect((await run(['check', 'write', target, '--dir', p])).code).toBe(1);
    expect((await run(['trust'], { cwd: join(p) })).code).toBe(0);
    expect((await run(['check', 'write', target, '--dir', p])).code).toBe(0);
    const u = await run(['untrust', p]);
    expect(u.stdout).toBe(`untrusted: ${p}/.sbx.yaml\n`);
    expect((await run(['check', 'write', target, '--dir', p])).code).toBe(1);
    expect((await run(['untrust', p])).stdout).toBe(`was not trusted: ${p}/.sbx.yaml\n`);
  });

  it('no project file: a clear error', async () => {
    const r = await run(['trust', root]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`sbx: no .sbx.yaml at or above ${root}\nhint: create one with \`sbx init\`\n`);
  });

  it('SBX_SESSION alone does not make a process "inside": outside a session trust is recorded as usual (the real inside path: test/e2e/shell-inside.test.ts)', async () => {
    const p = setup();
    await run(['untrust', p]);
    const r = await run(['trust', p], { extraEnv: { SBX_SESSION: '1' }, detached: true, input: 'yes\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`trusted: ${p}/.sbx.yaml`);
    expect((await run(['check', 'write', join(p, 'x'), '--dir', p])).code).toBe(0);
    await run(['untrust', p]);
  });
});
