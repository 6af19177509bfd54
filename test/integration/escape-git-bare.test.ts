/**
 * A planted bare repository: git treats any directory holding a valid HEAD (with objects/
 * and refs/) as a git directory, and git run there outside later runs what its `config`
 * names (an alias here; core.pager, core.fsmonitor, sshCommand … the same way) and its
 * hooks on every ref update. The engine (native bare_repo.cc) never lets a HEAD and a config
 * git would run code from, a commondir, or a hook meet in one directory, in either order, by
 * rename, link or symlink, or through a config fd held open from before.
 *
 * Each trick is first done outside (the allowed twin: git then runs the planted command),
 * then inside, where the step that makes the pair is refused and git outside runs nothing.
 * Bare repositories git init/clone make inside (inert config) still work.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execaSync } from 'execa';
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { endWorld, run, sbxExec, tempWorld, trustedStarterProject } from './exec-helpers.js';

// Real git and sessions on a loaded 2-core box: generous limits (no timing is asserted).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

const world = tempWorld('sbx-git-bare-');
const proj = join(world.dir, 'proj');
const marker = join(world.dir, 'PLANTED-CODE-RAN');
const gitEnv = { GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@example.test', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@example.test' };
const evilConfig = `[alias]\n\tplanted = !touch ${marker}\n`;
const head = 'ref: refs/heads/main\n';
/** The reason sbx's denial line gives for a step the git-directory guard refused. */
const why = 'git directory: a HEAD next to a config or commondir git would run code from outside';
/** Whether `stderr` has the guard's denial line for proj/`what`. */
const guardRefused = (stderr: string, what: string) => stderr.split('\n').some((l) => l.startsWith(`sbx: denied write ${join(proj, what)} (${why}`));

/** A shell script run sandboxed by `sbx exec` in the project, under its (trusted) starter policy. */
const inside = (script: string) => sbxExec(['--', 'sh', '-c', script], { cwd: proj, env: { ...world.env, ...gitEnv } });
/** git run outside in `dir`, as the user would later: true when the planted command ran. */
async function plantedRunsIn(dir: string, args = ['planted']): Promise<boolean> {
  if (!existsSync(join(proj, dir))) return false; // never made: nothing for git to run there
  rmSync(marker, { force: true });
  await run('git', args, { cwd: join(proj, dir), env: { ...world.env, ...gitEnv, GIT_TERMINAL_PROMPT: '0' } });
  const ran = existsSync(marker);
  rmSync(marker, { force: true });
  return ran;
}
/** objects/ and refs/heads/ under proj/dir: all a HEAD needs to make it a git directory. */
function skeleton(dir: string): string {
  const d = join(proj, dir);
  mkdirSync(join(d, 'objects'), { recursive: true });
  mkdirSync(join(d, 'refs', 'heads'), { recursive: true });
  return d;
}
const shSkeleton = (dir: string) => `mkdir -p ${dir}/objects ${dir}/refs/heads`;
const shEvil = `'[alias]\\n\\tplanted = !touch ${marker}\\n'`;
/** A hook git runs on every ref update (git fetch, git branch …), in any repository. */
const shHook = (file: string) => `printf '#!/bin/sh\\ntouch ${marker}\\n' > ${file} && chmod +x ${file}`;
/** Rounds 0..n-1 of a race under proj/`dir`/r<i>: where both a HEAD and a config landed, and where neither did. */
function raceRounds(dir: string, n: number): { both: number[]; neither: number[] } {
  const both: number[] = [];
  const neither: number[] = [];
  for (let i = 0; i < n; i++) {
    const d = join(proj, dir, `r${i}`);
    const head = existsSync(join(d, 'HEAD'));
    const config = existsSync(join(d, 'config'));
    if (head && config) both.push(i);
    if (!head && !config) neither.push(i);
  }
  return { both, neither };
}
/** A bare repository with one commit, made outside: the objects a planted one copies. */
const tpl = join(world.dir, 'tpl.git');
/** What runs the hooks outside later: a ref update. */
const branchArgs = ['branch', 'planted-branch'];

beforeAll(() => {
  const src = join(world.dir, 'src-repo');
  execaSync('git', ['init', '-q', '-b', 'main', src]);
  writeFileSync(join(src, 'f'), 'f\n');
  execaSync('git', ['-C', src, 'add', 'f'], { env: { ...process.env, ...gitEnv } });
  execaSync('git', ['-C', src, 'commit', '-qm', 'from-src'], { env: { ...process.env, ...gitEnv } });
  execaSync('git', ['clone', '-q', '--bare', src, tpl]);
  trustedStarterProject(world, proj);
});
afterAll(() => endWorld(world));

describe('escape-git-bare: a planted bare repository', () => {
  it('twins outside: each order makes a git directory whose config or hook git runs', async () => {
    // config, then HEAD
    let d = skeleton('out-config-head');
    writeFileSync(join(d, 'config'), evilConfig);
    writeFileSync(join(d, 'HEAD'), head);
    expect(await plantedRunsIn('out-config-head')).toBe(true);
    // HEAD, then config
    d = skeleton('out-head-config');
    writeFileSync(join(d, 'HEAD'), head);
    writeFileSync(join(d, 'config'), evilConfig);
    expect(await plantedRunsIn('out-head-config')).toBe(true);
    // HEAD as a hard link and as a symlink
    writeFileSync(join(proj, 'head-src'), head);
    // git takes a symlinked HEAD only as a link to "refs/...".
    d = skeleton('out-link');
    writeFileSync(join(d, 'config'), evilConfig);
    linkSync(join(proj, 'head-src'), join(d, 'HEAD'));
    expect(await plantedRunsIn('out-link')).toBe(true);
    d = skeleton('out-symlink');
    writeFileSync(join(d, 'config'), evilConfig);
    symlinkSync('refs/heads/main', join(d, 'HEAD'));
    expect(await plantedRunsIn('out-symlink')).toBe(true);
    // an inert config held open for writing, HEAD made, then the config written
    d = skeleton('out-fd');
    writeFileSync(join(d, 'config'), '');
    const fd = openSync(join(d, 'config'), 'a');
    writeFileSync(join(d, 'HEAD'), head);
    writeSync(fd, evilConfig);
    closeSync(fd);
    expect(await plantedRunsIn('out-fd')).toBe(true);
    // a commondir naming a config elsewhere (no HEAD there)
    d = skeleton('out-common');
    const common = skeleton('out-common-target');
    writeFileSync(join(common, 'config'), evilConfig);
    writeFileSync(join(d, 'HEAD'), head);
    writeFileSync(join(d, 'commondir'), `${common}\n`);
    expect(await plantedRunsIn('out-common')).toBe(true);
    // a hook in a bare repository: run by a ref update
    execaSync('cp', ['-r', tpl, join(proj, 'out-hook')]);
    mkdirSync(join(proj, 'out-hook', 'hooks'), { recursive: true });
    writeFileSync(join(proj, 'out-hook', 'hooks', 'reference-transaction'), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    expect(await plantedRunsIn('out-hook', branchArgs)).toBe(true);
  });

  it('denied: every order inside — config then HEAD, HEAD then config, git config, link, symlink, retained fd, second name, commondir, a moved directory, hooks — and git outside runs nothing', async () => {
    // A prepared git directory (made outside) that a sandboxed mv would bring into place.
    const staged = skeleton('staged');
    writeFileSync(join(staged, 'config'), evilConfig);
    writeFileSync(join(staged, 'HEAD'), head);
    const attempts: Record<string, [dir: string, script: string]> = {
      configThenHead: ['a1', `${shSkeleton('a1')} && printf ${shEvil} > a1/config && echo '${head.trim()}' > a1/HEAD`],
      headThenConfig: ['a2', `${shSkeleton('a2')} && echo '${head.trim()}' > a2/HEAD && printf ${shEvil} > a2/config`],
      headThenAppend: ['a3', `git init -q --bare a3 && printf ${shEvil} >> a3/config`],
      gitConfig: ['a4', `git init -q --bare a4 && git -C a4 config alias.planted '!touch ${marker}'`],
      lockRename: ['a5', `git init -q --bare a5 && printf ${shEvil} > a5/config.lock && mv a5/config.lock a5/config`],
      renameConfigIn: ['a6', `git init -q --bare a6 && printf ${shEvil} > evil6 && mv evil6 a6/config`],
      renameHeadIn: ['a7', `${shSkeleton('a7')} && printf ${shEvil} > a7/config && echo '${head.trim()}' > head7 && mv head7 a7/HEAD`],
      linkHead: ['a8', `${shSkeleton('a8')} && printf ${shEvil} > a8/config && echo '${head.trim()}' > head8 && ln head8 a8/HEAD`],
      symlinkHead: ['a9', `${shSkeleton('a9')} && printf ${shEvil} > a9/config && ln -s refs/heads/main a9/HEAD`],
      linkConfigIn: ['a10', `git init -q --bare a10 && printf ${shEvil} > evil10 && ln -f evil10 a10/config`],
      symlinkConfigIn: ['a11', `git init -q --bare a11 && printf ${shEvil} > evil11 && ln -sf ../evil11 a11/config`],
      // The config is inert and empty when HEAD is made; fd 3 still writes it afterwards.
      retainedFd: ['a12', `${shSkeleton('a12')} && : > a12/config && exec 3>>a12/config && echo '${head.trim()}' > a12/HEAD; printf ${shEvil} >&3; exec 3>&-; test -e a12/HEAD`],
      // A second name for the config, made before HEAD, written after.
      secondName: ['a13', `${shSkeleton('a13')} && : > a13/config && ln a13/config alias13 && echo '${head.trim()}' > a13/HEAD; printf ${shEvil} >> alias13; test -e a13/HEAD`],
      secondNameAfter: ['a14', `git init -q --bare a14 && ln a14/config alias14 && printf ${shEvil} >> alias14`],
      commondir: ['a15', `${shSkeleton('a15')} && mkdir -p c15 && printf ${shEvil} > c15/config && echo '${head.trim()}' > a15/HEAD && echo $PWD/c15 > a15/commondir`],
      movedDir: ['a16', `mv staged a16`],
    };
    // Hooks: run outside by any ref update in that repository (git fetch in a module cache).
    const hookAttempts: Record<string, [dir: string, script: string]> = {
      hookInHooks: ['h1', `git clone -q --bare ${tpl} h1 && mkdir -p h1/hooks && ${shHook('h1/hooks/reference-transaction')}`],
      hooksDirMovedIn: ['h2', `git clone -q --bare ${tpl} h2 && mkdir -p hk2 && ${shHook('hk2/reference-transaction')} && mv hk2 h2/hooks`],
      hooksThenHead: ['h3', `mkdir -p h3/hooks && ${shHook('h3/hooks/reference-transaction')} && cp -r ${tpl}/objects ${tpl}/refs ${tpl}/packed-refs h3/ && cp ${tpl}/HEAD h3/HEAD`],
      sampleRenamed: ['h4', `git clone -q --bare ${tpl} h4 && mkdir -p h4/hooks && ${shHook('h4/hooks/x.sample')} && mv h4/hooks/x.sample h4/hooks/reference-transaction`],
      hooksSymlink: ['h5', `git clone -q --bare ${tpl} h5 && mkdir -p hk5 && ${shHook('hk5/reference-transaction')} && ln -s ../hk5 h5/hooks`],
    };
    const script = Object.entries({ ...attempts, ...hookAttempts })
      .map(([name, [, a]]) => `( ${a} ) >/dev/null 2>&1; echo "${name}=$?"`)
      .join('\n');
    const r = await inside(script);
    const results = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split('=') as [string, string]));
    expect(Object.keys(results)).toEqual(Object.keys({ ...attempts, ...hookAttempts }));
    // Each attempt failed inside …
    expect(Object.entries(results).filter(([, code]) => code === '0')).toEqual([]);
    // … each by the git-directory guard, with a line that says what and why.
    const refused = (what: string) => guardRefused(r.stderr, what);
    const step: Record<string, string> = { a1: 'HEAD', a2: 'config', a3: 'config', a4: 'config', a5: 'config', a6: 'config', a7: 'HEAD', a8: 'HEAD', a9: 'HEAD', a10: 'config', a11: 'config', a12: 'HEAD', a13: 'HEAD', a14: 'config', a15: 'commondir' };
    for (const [dir, name] of Object.entries(step)) expect({ dir, refused: refused(`${dir}/${name}`) }).toEqual({ dir, refused: true });
    expect(refused('staged')).toBe(true);
    const hookStep: Record<string, string> = { h1: 'hooks/reference-transaction', h2: 'hooks', h3: 'HEAD', h4: 'hooks/reference-transaction', h5: 'hooks' };
    for (const [dir, name] of Object.entries(hookStep)) expect({ dir, refused: refused(`${dir}/${name}`) }).toEqual({ dir, refused: true });
    // … and git outside, in each directory, runs nothing planted.
    expect(existsSync(join(proj, 'staged', 'HEAD'))).toBe(true); // not moved
    for (const [name, [dir]] of Object.entries(attempts)) expect({ name, ran: await plantedRunsIn(dir) }).toEqual({ name, ran: false });
    for (const [name, [dir]] of Object.entries(hookAttempts)) expect({ name, ran: await plantedRunsIn(dir, branchArgs) }).toEqual({ name, ran: false });
    // The repositories made inside still work outside: the ref update itself succeeded.
    expect(execaSync('git', ['-C', join(proj, 'h1'), 'branch', '--list', 'planted-branch'], { reject: false }).stdout).toMatch(/planted-branch/);
  });

  it('denied: an existing hook made executable (chmod, fchmod of a read fd) or cut short (truncate), a config cut short — where there is a HEAD; allowed twins: outside, a plain directory, a *.sample hook', async () => {
    const hookFile = (dir: string) => join(proj, dir, 'hooks', 'reference-transaction');
    // A new branch each time: a ref update runs the hook (an existing name would update nothing).
    let branches = 0;
    const newBranch = () => ['branch', `twin-${++branches}`];
    // A copy of the bare repository with a hook disabled by its x bit, or one whose prefix runs
    // the planted command (the whole file touches another name).
    const disabled = (dir: string, repo = true) => {
      if (repo) execaSync('cp', ['-r', tpl, join(proj, dir)]);
      mkdirSync(join(proj, dir, 'hooks'), { recursive: true });
      writeFileSync(hookFile(dir), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o644 });
      writeFileSync(join(proj, dir, 'hooks', 'pre-commit.sample'), '#!/bin/sh\n', { mode: 0o644 });
    };
    const prefix = `#!/bin/sh\ntouch ${marker}`;
    const longer = (dir: string, repo = true) => {
      if (repo) execaSync('cp', ['-r', tpl, join(proj, dir)]);
      mkdirSync(join(proj, dir, 'hooks'), { recursive: true });
      writeFileSync(hookFile(dir), `${prefix}.off\n`, { mode: 0o755 });
    };
    // Twins outside: the disabled hook runs once made executable, the longer one once cut short.
    disabled('t-chmod');
    expect(await plantedRunsIn('t-chmod', newBranch())).toBe(false);
    execaSync('chmod', ['+x', hookFile('t-chmod')]);
    expect(await plantedRunsIn('t-chmod', newBranch())).toBe(true);
    longer('t-trunc');
    expect(await plantedRunsIn('t-trunc', newBranch())).toBe(false);
    execaSync('truncate', ['-s', String(prefix.length), hookFile('t-trunc')]);
    expect(await plantedRunsIn('t-trunc', newBranch())).toBe(true);

    for (const d of ['k-chmod', 'k-fchmod']) disabled(d);
    longer('k-trunc');
    execaSync('cp', ['-r', tpl, join(proj, 'k-config')]);
    for (const d of ['p-chmod', 'p-fchmod']) disabled(d, false);
    longer('p-trunc', false);
    mkdirSync(join(proj, 'p-config'));
    writeFileSync(join(proj, 'p-config', 'config'), readFileSync(join(tpl, 'config')));
    const configSize = readFileSync(join(tpl, 'config')).length;
    const fchmod = (f: string) => `perl -e 'open(my $f, "<", $ARGV[0]) or exit 9; chmod(0755, $f) or exit 1' ${f}`;
    const truncate = (f: string, size: number) => `perl -e 'truncate($ARGV[0], $ARGV[1]) or exit 1' ${f} ${size}`;
    const steps: Record<string, string> = {};
    for (const side of ['k', 'p']) {
      steps[`${side}-chmod`] = `chmod +x ${side}-chmod/hooks/reference-transaction`;
      steps[`${side}-fchmod`] = fchmod(`${side}-fchmod/hooks/reference-transaction`);
      steps[`${side}-trunc`] = truncate(`${side}-trunc/hooks/reference-transaction`, prefix.length);
      steps[`${side}-config`] = truncate(`${side}-config/config`, Math.floor(configSize / 2));
    }
    steps['k-sample'] = 'chmod +x k-chmod/hooks/pre-commit.sample';
    const r = await inside(Object.entries(steps).map(([name, sh]) => `${sh} 2>/dev/null; echo "${name}=$?"`).join('\n'));
    const codes = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split('=') as [string, string]));
    expect(codes).toEqual({
      'k-chmod': '1', 'k-fchmod': '1', 'k-trunc': '1', 'k-config': '1',
      'p-chmod': '0', 'p-fchmod': '0', 'p-trunc': '0', 'p-config': '0', 'k-sample': '0',
    });
    for (const f of ['k-chmod/hooks/reference-transaction', 'k-fchmod/hooks/reference-transaction', 'k-trunc/hooks/reference-transaction', 'k-config/config'])
      expect({ f, refused: guardRefused(r.stderr, f) }).toEqual({ f, refused: true });
    // Nothing changed where it was refused, and git outside runs nothing planted there.
    expect(readFileSync(hookFile('k-trunc'), 'utf8')).toBe(`${prefix}.off\n`);
    expect(readFileSync(join(proj, 'k-config', 'config')).length).toBe(configSize);
    for (const d of ['k-chmod', 'k-fchmod', 'k-trunc']) expect({ d, ran: await plantedRunsIn(d, newBranch()) }).toEqual({ d, ran: false });
    // The allowed twins did change.
    expect(readFileSync(hookFile('p-trunc'), 'utf8')).toBe(prefix);
  });

  it('race: a HEAD and an evil config made at the same moment, 150 times — exactly one of them lands each time, never both', async () => {
    const n = 150;
    const r = await inside(
      `i=0; while [ $i -lt ${n} ]; do mkdir -p race/r$i; ` +
        `(echo 'ref: refs/heads/main' > race/r$i/HEAD) 2>/dev/null & (printf ${shEvil} > race/r$i/config) 2>/dev/null & wait; ` +
        `i=$((i+1)); done; echo done`,
    );
    expect(r.stdout.trim()).toBe('done');
    expect(raceRounds('race', n)).toEqual({ both: [], neither: [] });
  });

  it('race across engines: two `sbx exec` processes (each its own engine) make a HEAD and an evil config in step, 150 times — never both', async () => {
    const n = 150;
    mkdirSync(join(proj, 'xrace'));
    // B makes r$i and go$i, then the config at once; A waits for go$i, then makes the HEAD at
    // once, then done$i, which B waits for before the next round: both act in the same moment.
    const a = inside(
      `: > xrace/readyA; i=0; while [ $i -lt ${n} ]; do while [ ! -e xrace/go$i ]; do :; done; ` +
        `(echo 'ref: refs/heads/main' > xrace/r$i/HEAD) 2>/dev/null; : > xrace/done$i; i=$((i+1)); done; echo A`,
    );
    const b = inside(
      `while [ ! -e xrace/readyA ]; do :; done; i=0; while [ $i -lt ${n} ]; do mkdir xrace/r$i; : > xrace/go$i; ` +
        `(printf ${shEvil} > xrace/r$i/config) 2>/dev/null; while [ ! -e xrace/done$i ]; do :; done; i=$((i+1)); done; echo B`,
    );
    const [ra, rb] = await Promise.all([a, b]);
    expect([ra.stdout.trim(), rb.stdout.trim()]).toEqual(['A', 'B']);
    expect(raceRounds('xrace', n)).toEqual({ both: [], neither: [] });
  });

  // helper-92 #04: with extensions.worktreeConfig on (git sparse-checkout turns it on), git
  // reads config.worktree as the repository's config, in every git directory: a submodule's
  // (.git/modules/<name>) and one not named .git (--separate-git-dir).
  it("denied: a config.worktree where git reads one (a separate git dir's, a submodule's), or a HEAD next to one; outside each runs its fsmonitor; allowed twin: a config.worktree with no HEAD", async () => {
    const git = (args: string[]) => execaSync('git', args, { cwd: proj, env: { ...process.env, ...gitEnv } });
    git(['init', '-q', '--separate-git-dir', join(proj, 'wtc-sepgd'), join(proj, 'wtc-sep')]);
    git(['init', '-q', join(proj, 'wtc-outer')]);
    mkdirSync(join(proj, 'wtc-outer', '.git', 'modules'));
    git(['init', '-q', '--separate-git-dir', join(proj, 'wtc-outer', '.git', 'modules', 'sub'), join(proj, 'wtc-outer', 'sub')]);
    // core.fsmonitor runs at `git status` (aliases are read before config.worktree is).
    const monitor = `[core]\n\tfsmonitor = "touch ${marker}; false"\n`;
    const shMonitor = `'[core]\\n\\tfsmonitor = "touch ${marker}; false"\\n'`;
    const dirs = { 'wtc-sep': join(proj, 'wtc-sepgd'), 'wtc-outer/sub': join(proj, 'wtc-outer', '.git', 'modules', 'sub') };
    for (const [wt, gd] of Object.entries(dirs)) {
      git(['-C', wt, 'config', 'extensions.worktreeConfig', 'true']);
      writeFileSync(join(gd, 'config.worktree'), monitor);
      expect(await plantedRunsIn(wt, ['status']), `outside: ${wt}`).toBe(true);
      rmSync(join(gd, 'config.worktree'));
    }
    const r = await inside(
      [
        `printf ${shMonitor} > wtc-sepgd/config.worktree; echo "sep $?"`,
        `printf ${shMonitor} > wtc-outer/.git/modules/sub/config.worktree; echo "sub $?"`,
        `mkdir -p wtc-plain && printf ${shMonitor} > wtc-plain/config.worktree; echo "plain $?"`,
        `${shSkeleton('wtc-head')} && printf ${shMonitor} > wtc-head/config.worktree && echo '${head.trim()}' > wtc-head/HEAD; echo "head $?"`,
      ].join('\n'),
    );
    expect(r.stdout).toMatch(/^sep [1-9]/m);
    expect(r.stdout).toMatch(/^sub [1-9]/m);
    expect(r.stderr).toMatch(/sbx: denied write .*wtc-sepgd\/config\.worktree/);
    expect(r.stdout).toMatch(/^plain 0$/m);
    expect(r.stdout).toMatch(/^head [1-9]/m);
    expect(existsSync(join(proj, 'wtc-head', 'HEAD'))).toBe(false);
    for (const wt of Object.keys(dirs)) expect(await plantedRunsIn(wt, ['status']), `inside: ${wt}`).toBe(false);
  });

  it('allowed: git init --bare (also with git\'s sample hooks), git clone --bare, git remote add, HEAD updates, and a config with no HEAD work inside', async () => {
    const src = join(world.dir, 'src-repo');
    const r = await inside(
      [
        'set -e',
        'git init -q --bare b1',
        'git -C b1 config core.logallrefupdates true',
        'git -C b1 symbolic-ref HEAD refs/heads/other', // HEAD.lock over an existing HEAD
        `git clone -q --bare ${src} b2`,
        'git -C b2 log --format=%s',
        // Go's module cache: git init --bare, then git remote add origin.
        'git init -q --bare b3 && git -C b3 remote add origin -- https://example.test/r.git',
        // git's own template: hooks/*.sample (never run) next to the new HEAD.
        'git init -q --bare --template=/usr/share/git-core/templates b4',
        'printf x > b4/hooks/post-update.sample',
        // libgit2's order (cargo): an inert config first, then HEAD — closed, one link, no
        // writer left (the read lease is granted); then a ref update and HEAD replaced.
        `${shSkeleton('b5')} && printf '[core]\\n\\tbare = true\\n\\trepositoryformatversion = 0\\n' > b5/config && echo 'ref: refs/heads/main' > b5/HEAD`,
        'git -C b5 symbolic-ref HEAD refs/heads/dev',
        // A config with no HEAD is an ordinary file.
        `mkdir -p plain && printf ${shEvil} > plain/config && printf '\\n' >> plain/config && cat plain/config >/dev/null`,
        // A config directory (Rails' config/) is nothing git reads: a HEAD next to it is fine.
        'mkdir -p rails/config && echo ref > rails/HEAD',
        'echo done',
      ].join('\n'),
    );
    expect(r.stderr).not.toMatch(/denied/);
    expect({ code: r.code, out: r.stdout.trim() }).toEqual({ code: 0, out: 'from-src\ndone' });
    const outside = (args: string[]) => execaSync('git', args, { cwd: proj, env: { ...world.env, ...gitEnv }, extendEnv: false, reject: false });
    expect(outside(['-C', 'b2', 'log', '--format=%s']).stdout.trim()).toBe('from-src');
    expect(outside(['-C', 'b1', 'symbolic-ref', 'HEAD']).stdout.trim()).toBe('refs/heads/other');
    expect(outside(['-C', 'b5', 'symbolic-ref', 'HEAD']).stdout.trim()).toBe('refs/heads/dev');
    expect(readFileSync(join(proj, 'b2', 'config'), 'utf8')).toMatch(/\[remote "origin"\]\n\turl = /);
    expect(readFileSync(join(proj, 'b3', 'config'), 'utf8')).toMatch(/fetch = \+refs\/heads\/\*:refs\/remotes\/origin\/\*/);
    expect(readFileSync(join(proj, 'plain', 'config'), 'utf8')).toBe(evilConfig + '\n');
  });
});
