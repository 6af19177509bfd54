/**
 * Exec rules identify images, not names (through `./bin/sbx exec` on the real kernel).
 * Each way around a program rule — a copy, a hard link, the dynamic loader, an anonymous
 * image, a tool's global options before the subcommand — first works OUTSIDE, then is
 * refused INSIDE, next to its allowed twin that runs inside under the same policy.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { appendFileSync, chmodSync, copyFileSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { elfInterpreter } from '../../src/policy/exec-images.js';
import { fixture, type Result, run, sbxBin, sbxExec, servedBySupervisor, tempWorld } from './exec-helpers.js';

// Each case runs several `sbx exec`s (a second or more each on a loaded 2-core CI box).
vi.setConfig({ testTimeout: 120_000 });

const world = tempWorld('sbx-execid-');
servedBySupervisor(world);
const tools = join(world.dir, 'tools');
const pub = join(world.dir, 'pub');
const repo = join(world.dir, 'repo');
const denyPolicy = join(world.dir, 'deny.yaml');
const noExecPolicy = join(world.dir, 'no-exec-rules.yaml');
const env = { ...world.env, PATH: `${tools}:${world.env.PATH}` };
const loader = realpathSync(elfInterpreter('/bin/sh') ?? '/lib64/ld-linux-x86-64.so.2');

const inside = (args: string[], policy = denyPolicy) => sbxExec(['--policy', policy, '--', ...args], { env, cwd: world.dir });
const outside = (args: string[]) => run(args[0]!, args.slice(1), { env, cwd: world.dir });
const CURL = /^curl \d/m;
const WGET = /GNU Wget/;

function expectDenied(r: Result, what: RegExp = /sbx: denied (exec|identity) /): void {
  expect(r.stdout).not.toMatch(CURL);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(what);
}

function script(name: string): void {
  const p = join(tools, name);
  writeFileSync(p, `#!/bin/sh\necho "${name}-fixture: $*"\n`);
  chmodSync(p, 0o755);
}

beforeAll(async () => {
  for (const d of [tools, pub, repo]) mkdirSync(d);
  // Two programs of our own with unique content (wget + a trailer: still runs), one denied.
  for (const [name, tag] of [['hlprog', 'denied'], ['okprog', 'allowed']] as const) {
    copyFileSync('/usr/bin/wget', join(tools, name));
    appendFileSync(join(tools, name), `\n${tag}\n`);
    chmodSync(join(tools, name), 0o755);
  }
  // Stand-ins for the real tools: a real kubectl/docker/npm would need a cluster, a daemon, a registry.
  for (const t of ['kubectl', 'docker', 'npm', 'deployer', 'builder']) script(t);
  writeFileSync(denyPolicy, 'version: 1\nexec: { deny: ["curl", "hlprog", "git status", "kubectl delete", "docker rm", "npm publish", "deployer"] }\n');
  writeFileSync(noExecPolicy, 'version: 1\nread: { deny: ["~/.nothing-here"] }\n');
  const git = (...a: string[]) => run('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-C', repo, ...a], { env });
  expect((await git('init', '-q')).code).toBe(0);
  writeFileSync(join(repo, 'f'), 'x\n');
  await git('add', 'f');
  expect((await git('commit', '-q', '-m', 'first-commit')).code).toBe(0);
});
afterAll(() => world.cleanup());

describe('copies and hard links of a denied program', () => {
  it('a copy of curl made inside is refused under another name; a copy of wget made the same way runs', async () => {
    copyFileSync('/usr/bin/curl', join(world.dir, 'outside-copy'));
    chmodSync(join(world.dir, 'outside-copy'), 0o755);
    expect((await outside([join(world.dir, 'outside-copy'), '--version'])).stdout).toMatch(CURL);
    const no = await inside(['sh', '-c', `cp /usr/bin/curl ${pub}/fetch && exec ${pub}/fetch --version`]);
    expectDenied(no, new RegExp(`denied exec ${pub}/fetch \\(.*curl\\)`));
    const ok = await inside(['sh', '-c', `cp /usr/bin/wget ${pub}/fetch2 && exec ${pub}/fetch2 --version`]);
    expect(ok.stdout).toMatch(WGET);
    expect(ok.code).toBe(0);
  });

  it('the denied program under its own name is refused; an allowed one runs (twin)', async () => {
    expectDenied(await inside(['curl', '--version']));
    expectDenied(await inside(['hlprog', '--version']));
    expect((await inside(['okprog', '--version'])).stdout).toMatch(WGET);
  });

  // In a project whose own bin/ is on PATH (node_modules/.bin and the like: the project's, so
  // writable); a PATH directory of anyone else is a floor, and no hard link is made out of one.
  it('a hard link of a denied program is refused; a hard link of an allowed one runs', async () => {
    const proj = join(world.dir, 'hl-project');
    const bin = join(proj, 'bin');
    mkdirSync(bin, { recursive: true });
    for (const name of ['hlprog', 'okprog']) copyFileSync(join(tools, name), join(bin, name));
    for (const name of ['hlprog', 'okprog']) chmodSync(join(bin, name), 0o755);
    const inProject = (cmd: string) => sbxExec(['--policy', denyPolicy, '--', 'sh', '-c', cmd], { env: { ...env, PATH: `${bin}:${env.PATH}` }, cwd: proj });
    const no = await inProject(`ln ${bin}/hlprog ${proj}/renamed && exec ${proj}/renamed --version`);
    expect(no.stdout).not.toMatch(WGET);
    expect(no.code).not.toBe(0);
    expect(no.stderr).toMatch(new RegExp(`denied exec ${proj}/renamed \\(.*hlprog\\)`));
    const ok = await inProject(`ln ${bin}/okprog ${proj}/renamed-ok && exec ${proj}/renamed-ok --version`);
    expect(ok.stdout).toMatch(WGET);
    expect(ok.code).toBe(0);
  });
});

// A session's policy is built and finished by the supervisor, whose own PATH may not have the
// directory a rule's program is in (here: the world's supervisor started without tools/): the
// name must mean what the session's PATH finds, or its copies are not known to be it.
describe("in a session the supervisor serves, a rule's program is the one the session's PATH finds", () => {
  const proj = join(world.dir, 'proj-session');
  beforeAll(() => {
    mkdirSync(proj);
    writeFileSync(join(proj, '.sbx.yaml'), 'version: 1\nexec: { deny: ["hlprog"] }\n');
  });
  const inSession = (cmd: string) => run(sbxBin, ['shell', '--', 'sh', '-c', cmd], { env, cwd: proj });

  // (A hard link cannot be made at all: the session's PATH directories are floors.)
  it('a copy of the denied program is refused; a copy of an allowed one runs', async () => {
    const no = await inSession(`cp ${tools}/hlprog ${pub}/session-copy && exec ${pub}/session-copy --version`);
    expect(no.stdout).not.toMatch(WGET);
    expect(no.code).not.toBe(0);
    expect(no.stderr).toMatch(/session-copy: Permission denied/); // (the session's denial lines go to `sbx log`)
    const ok = await inSession(`cp ${tools}/okprog ${pub}/session-copy-ok && exec ${pub}/session-copy-ok --version`);
    expect(ok.stdout).toMatch(WGET);
    expect(ok.code).toBe(0);
  });
});

describe('the dynamic loader runs the program it is given', () => {
  const forms: { name: string; args: (prog: string) => string[] }[] = [
    { name: 'ld.so PROG', args: (p) => [loader, `/usr/bin/${p}`, '--version'] },
    { name: 'ld.so --library-path X PROG', args: (p) => [loader, '--library-path', '/usr/lib', `/usr/bin/${p}`, '--version'] },
    { name: 'ld.so --inhibit-cache --argv0 X PROG', args: (p) => [loader, '--inhibit-cache', '--argv0', 'innocent', `/usr/bin/${p}`, '--version'] },
    { name: 'ld.so --preload X PROG', args: (p) => [loader, '--preload', '/nonexistent-lib.so', `/usr/bin/${p}`, '--version'] },
    { name: 'ld.so ./PROG (relative to the cwd)', args: (p) => ['sh', '-c', `cd /usr/bin && exec ${loader} ./${p} --version`] },
    { name: 'a copy of ld.so', args: (p) => ['sh', '-c', `cp ${loader} ${pub}/myld-${p} && exec ${pub}/myld-${p} /usr/bin/${p} --version`] },
  ];
  for (const f of forms) {
    it(`${f.name}: curl works outside, is refused inside; wget runs inside`, async () => {
      if (!f.name.startsWith('a copy')) expect((await outside(f.args('curl'))).stdout).toMatch(CURL);
      expectDenied(await inside(f.args('curl')), /denied exec \/usr\/bin\/curl \(run by the dynamic loader/);
      const ok = await inside(f.args('wget'));
      expect(ok.stdout).toMatch(WGET);
      expect(ok.code).toBe(0);
    }, 120_000);
  }

  it('ld.so NAME (no slash: a library-path search sbx cannot prove) is refused while programs are denied; reaches the loader without exec rules', async () => {
    const args = ['sh', '-c', `cd /usr/bin && exec ${loader} --library-path /usr/bin wget --version`];
    expectDenied(await inside(args), /denied exec .*the dynamic loader running wget: sbx cannot prove which file that is/);
    // Without exec rules the loader itself runs (and, glibc, looks for "wget" as a library).
    const ok = await inside(args, noExecPolicy);
    expect(ok.stderr).not.toMatch(/sbx: denied/);
    expect(ok.stdout + ok.stderr).toMatch(/GNU Wget|cannot open shared object file/);
  });

  // helper-77 #03: argv was read up to 1 MiB, and options past it hid the program.
  it('ld.so with more than a MiB of options before PROG: curl works outside, is refused inside; wget runs inside', async () => {
    const args = (p: string) => ['sh', '-c', `a=$(head -c 120000 /dev/zero | tr '\\0' x); exec ${loader} --inhibit-cache ${'--argv0 $a '.repeat(9)}/usr/bin/${p} --version`];
    expect((await outside(args('curl'))).stdout).toMatch(CURL);
    expectDenied(await inside(args('curl')), /denied exec \/usr\/bin\/curl \(run by the dynamic loader/);
    const ok = await inside(args('wget'));
    expect(ok.stdout).toMatch(WGET);
    expect(ok.code).toBe(0);
  });

  it('ld.so with an option form sbx cannot read (--x=y) is refused while programs are denied', async () => {
    expectDenied(await inside([loader, '--library-path=/usr/lib', '/usr/bin/wget', '--version']), /options sbx cannot read with certainty/);
    expect((await inside([loader, '--library-path', '/usr/lib', '/usr/bin/wget', '--version'])).stdout).toMatch(WGET);
  });
});

// helper-92 #03: a script's interpreter, given the file, runs it as fully as an exec does.
describe('a denied script given to its interpreter', () => {
  const deployer = join(tools, 'deployer');
  const forms = (file: string) => [`sh ${file} go`, `bash ${file} go`, `sh /dev/stdin go < ${file}`, `sh -c "$(cat ${file})" x go`];
  it('runs outside in every form; inside each is refused (the file is not read either); twin: an allowed script runs in every form', async () => {
    for (const f of forms(deployer)) expect((await outside(['sh', '-c', f])).stdout, f).toContain('deployer-fixture: go');
    expectDenied(await inside(['deployer', 'go']));
    for (const f of forms(deployer)) {
      const r = await inside(['sh', '-c', f]);
      expect(r.stdout, f).not.toContain('deployer-fixture');
      expect(r.stderr, f).toContain(`sbx: denied read ${deployer}`);
    }
    for (const f of forms(join(tools, 'builder'))) expect((await inside(['sh', '-c', f])).stdout, f).toContain('builder-fixture: go');
  });
});

describe('anonymous images', () => {
  const modes = ['fexecve', 'procfd', 'deleted'];
  for (const m of modes) {
    it(`${m}: runs outside; refused inside while exec rules exist (even an allowed program); runs inside without exec rules`, async () => {
      const mode = m === 'deleted' ? `deleted:${pub}` : m;
      expect((await outside([fixture('memfd_exec'), mode, '/usr/bin/curl', '--version'])).stdout).toMatch(CURL);
      for (const prog of ['/usr/bin/curl', '/usr/bin/wget']) {
        const no = await inside([fixture('memfd_exec'), mode, prog, '--version']);
        expect(no.stdout).toContain('memfd_exec: start');
        expect(no.stdout).toMatch(new RegExp(`memfd_exec: ${m}: Permission denied`));
        expect(no.stdout).not.toMatch(/Wget|^curl/m);
        expect(no.stderr).toMatch(/denied identity .*an anonymous image/);
      }
      const ok = await inside([fixture('memfd_exec'), mode, '/usr/bin/curl', '--version'], noExecPolicy);
      expect(ok.stdout).toMatch(CURL);
      expect(ok.code).toBe(0);
    }, 120_000);
  }
});

describe('argument rules read the global options of git, kubectl, docker, npm', () => {
  const git = (...a: string[]) => ['git', ...a];
  const cases: { name: string; denied: string[][]; allowed: string[][]; ran: RegExp }[] = [
    {
      name: 'git status denied, git log allowed',
      denied: [
        git('-C', repo, 'status'),
        git('-c', 'k.v=1', '-C', repo, '--no-pager', 'status'),
        git('--git-dir', join(repo, '.git'), '--work-tree', repo, 'status'),
        git('-C', repo, '--git-dir=.git', 'status'),
        ['sh', '-c', `cp /usr/bin/git ${pub}/g && exec ${pub}/g -c k.v=1 -C ${repo} status`],
        // More than a MiB of global options before the subcommand (helper-77 #03).
        ['sh', '-c', `exec git -C ${repo} $(yes -- --literal-pathspecs | head -n 60000) status`],
        // git's dashed form (git-core's programs): git-status is `git status`.
        ['sh', '-c', `cd ${repo} && exec /usr/lib/git-core/git-status`],
      ],
      allowed: [
        git('-c', 'k.v=1', '-C', repo, '--no-pager', 'log', '-1', '--format=%s'),
        ['sh', '-c', `cp /usr/bin/git ${pub}/g2 && exec ${pub}/g2 -C ${repo} log -1 --format=%s`],
        ['sh', '-c', `exec git -C ${repo} $(yes -- --literal-pathspecs | head -n 60000) log -1 --format=%s`],
        ['sh', '-c', `cd ${repo} && exec /usr/lib/git-core/git-log -1 --format=%s`],
      ],
      ran: /first-commit/,
    },
    {
      name: 'kubectl delete denied, kubectl get allowed',
      denied: [['kubectl', '--context', 'x', '-n', 'y', 'delete', 'pod', 'a'], ['kubectl', '--namespace=y', 'delete', 'pod', 'a'], ['kubectl', '-ny', '--as', 'u', 'delete']],
      allowed: [['kubectl', '--context', 'x', '-n', 'y', 'get', 'pods']],
      ran: /kubectl-fixture: --context x -n y get pods/,
    },
    {
      name: 'docker rm denied, docker ps allowed',
      denied: [
        ['docker', '-H', 'h', '--context', 'c', 'rm', 'x'],
        ['docker', '--debug', '--log-level', 'info', 'rm', 'x'],
        // The management command's form of the same subcommand.
        ['docker', 'container', 'rm', 'x'],
        ['docker', '-H', 'h', 'container', 'remove', 'x'],
      ],
      allowed: [['docker', '-H', 'h', '--context', 'c', 'ps']],
      ran: /docker-fixture: -H h --context c ps/,
    },
    {
      name: 'npm publish denied, npm install allowed',
      denied: [
        ['npm', '--prefix', 'p', 'publish'],
        ['npm', '-w', 'ws', 'publish'],
        ['npm', '--registry=r', 'publish'],
        ['npm', '--some-config', 'v', 'publish'],
        // More options than the exec's early check reads: a script's own argv is decided when
        // its interpreter is verified (helper-77 #03).
        ['sh', '-c', 'exec npm $(yes -- --offline | head -n 70) publish'],
        // npm takes any unique prefix of a command (helper-77 #05).
        ['npm', 'pub'],
        ['npm', '-w', 'ws', 'publis'],
        // A boolean option takes a value when one follows (helper-79 #08).
        ['npm', '--dry-run', 'true', 'publish'],
        ['npm', '--color', 'always', 'publish'],
      ],
      allowed: [['npm', '--prefix', 'p', 'install'], ['npm', '-w', 'ws', 'install'], ['sh', '-c', 'exec npm -w ws $(yes -- --offline | head -n 70) install']],
      ran: /npm-fixture: (--prefix p|-w ws)( --offline)* install/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      for (const d of c.denied) {
        const out = await outside(d);
        expect(out.code, `outside: ${d.join(' ')}`).toBe(0);
        const r = await inside(d);
        expect(r.code, `inside: ${d.join(' ')}`).not.toBe(0);
        expect(r.stderr, d.join(' ')).toMatch(/sbx: denied exec /);
        expect(r.stdout).not.toMatch(/-fixture:|On branch|nothing to commit/);
      }
      for (const a of c.allowed) {
        const r = await inside(a);
        expect(r.stdout, a.join(' ')).toMatch(c.ran);
        expect(r.code, a.join(' ')).toBe(0);
      }
    }, 300_000);
  }
});
