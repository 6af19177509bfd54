/**
 * git's config and hooks run code outside the sandbox later (core.fsmonitor, core.pager,
 * core.hooksPath, aliases, hooks), so they stay in the persistence floor — and yet
 * `git init && git add && git commit` works inside (the engine writes a new repository's
 * inert config itself, native git_config.cc; an empty template makes no hooks).
 *
 * The attack: inside a fresh repository, plant each way git could run code, then run git
 * outside, as the user would: nothing planted may run (a marker file would appear).
 * The twin: the same repository, made and committed to inside, is a working repository outside.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execaSync } from 'execa';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { endWorld, run, sbxExec, tempWorld, trustedStarterProject } from './exec-helpers.js';

// Real git and sessions on a loaded 2-core box: generous limits (no timing is asserted).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

const world = tempWorld('sbx-git-');
const proj = join(world.dir, 'proj');
const marker = join(world.dir, 'PLANTED-CODE-RAN');
const gitEnv = { GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@example.test', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@example.test' };

/** A shell script run sandboxed by `sbx exec` in the project, under its (trusted) starter policy. */
const inside = (script: string) => sbxExec(['--', 'sh', '-c', script], { cwd: proj, env: { ...world.env, ...gitEnv } });
/** git run outside, as the user would later. */
const outside = (args: string[]) =>
  run('git', args, { cwd: proj, env: { ...world.env, ...gitEnv, PAGER: 'cat', GIT_PAGER: '', EDITOR: 'true', GIT_TERMINAL_PROMPT: '0' } });

/** git run outside in `dir`, synchronously (setting up a repository). */
const gitIn = (dir: string, args: string[]) => execaSync('git', ['-C', dir, ...args], { env: { ...process.env, ...gitEnv } });
/** A repository with one commit, `core.hooksPath` set outside, and a linked work tree `wt` in it. */
function repoWithWorktree(repo: string, hooksPath: string): void {
  execaSync('git', ['init', '-q', repo]);
  gitIn(repo, ['commit', '-q', '--allow-empty', '-m', 'init']);
  gitIn(repo, ['config', 'core.hooksPath', hooksPath]);
  gitIn(repo, ['worktree', 'add', '-q', 'wt']);
}
/** Whether a commit outside in `dir` runs a planted hook (it touches `marker`). */
async function commitRunsHook(dir: string, marker: string): Promise<boolean> {
  rmSync(marker, { force: true });
  const c = await run('git', ['-C', dir, 'commit', '-q', '--allow-empty', '-m', 'x'], { env: { ...world.env, ...gitEnv } });
  expect(c.code, c.stderr).toBe(0);
  return existsSync(marker);
}

beforeAll(() => {
  trustedStarterProject(world, proj);
});
afterAll(() => endWorld(world));

describe('git inside a sandbox', () => {
  it('allowed: git init && git add && git commit inside; outside it is an ordinary repository with an inert config', async () => {
    const r = await inside('git init -q && echo hi > a.txt && git add a.txt && git commit -qm first && git log --format=%s');
    expect(r.stderr).not.toMatch(/denied/);
    expect({ code: r.code, out: r.stdout.trim() }).toEqual({ code: 0, out: 'first' });
    const log = await outside(['log', '--format=%s']);
    expect(log.stdout.trim()).toBe('first');
    const config = readFileSync(join(proj, '.git', 'config'), 'utf8');
    expect(config).toMatch(/repositoryformatversion = 0/);
    expect(config).toMatch(/filemode = true/); // git's chmod probe worked
    expect(existsSync(join(proj, '.git', 'hooks'))).toBe(false);
  });

  it('denied: every way to plant code git runs outside later (config keys, lock+rename, append, hooks, a replaced .git) — and git outside runs none of it', async () => {
    const cmd = `touch ${marker}`;
    const attempts = {
      fsmonitor: `git config core.fsmonitor '${cmd}'`,
      pager: `git config core.pager '${cmd}; cat'`,
      hooksPath: `git config core.hooksPath ${join(world.dir, 'evil-hooks')}`,
      alias: `git config alias.st '!${cmd}'`,
      include: `git config include.path ${join(world.dir, 'evil.cfg')}`,
      lockRename: `printf '[core]\\n\\trepositoryformatversion = 0\\n\\tfsmonitor = ${cmd}\\n' > .git/config.lock && mv .git/config.lock .git/config`,
      append: `printf '[core]\\n\\tfsmonitor = ${cmd}\\n' >> .git/config`,
      truncate: `: > .git/config`,
      unlink: `rm .git/config`,
      hooks: `mkdir -p .git/hooks && printf '#!/bin/sh\\n${cmd}\\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit`,
      replaceGitDir: `mv .git .git-old && mkdir .git`,
      symlinkConfig: `ln -sf ${join(world.dir, 'evil.cfg')} .git/config`,
      chmodWorldWritable: `chmod 666 .git/config`,
      // git reads config and hooks from $GIT_DIR/commondir when it exists (worktrees): a
      // copy of the repository elsewhere, with an fsmonitor, named by a one-line file.
      commondir: `E=${join(world.dir, 'evil-common')}; mkdir -p $E && cp -r .git/. $E/ && printf '[core]\\n\\trepositoryformatversion = 0\\n\\tfsmonitor = ${cmd}\\n' > $E/config && echo $E > .git/commondir`,
    };
    writeFileSync(join(world.dir, 'evil.cfg'), `[core]\n\tfsmonitor = ${cmd}\n`);
    mkdirSync(join(world.dir, 'evil-hooks'), { recursive: true });
    writeFileSync(join(world.dir, 'evil-hooks', 'pre-commit'), `#!/bin/sh\n${cmd}\n`, { mode: 0o755 });
    // One sandboxed shell tries them all, each in its own subshell, and reports each status.
    const script = Object.entries(attempts)
      .map(([name, a]) => `( ${a} ) >/dev/null 2>&1; echo "${name}=$?"`)
      .join('\n');
    const r = await inside(script);
    const results = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split('=') as [string, string]));
    expect(Object.keys(results)).toEqual(Object.keys(attempts));
    // Each attempt failed inside …
    expect(Object.entries(results).filter(([, code]) => code === '0')).toEqual([]);
    const config = readFileSync(join(proj, '.git', 'config'), 'utf8');
    expect(config).not.toMatch(/fsmonitor|pager|hooksPath|alias|include/i);
    // … and git outside, doing what would run each of them, runs nothing planted.
    await outside(['status']);
    await outside(['-p', 'log']);
    await outside(['st']);
    writeFileSync(join(proj, 'b.txt'), 'b\n');
    await outside(['add', 'b.txt']);
    const commit = await outside(['commit', '-qm', 'outside']);
    expect(commit.code).toBe(0); // the repository still works outside
    expect(existsSync(marker)).toBe(false);
    // The probe works: the same fsmonitor, in a repository configured outside, does run.
    const probe = join(world.dir, 'probe');
    execaSync('git', ['init', '-q', probe]);
    execaSync('git', ['-C', probe, 'config', 'core.fsmonitor', cmd]);
    await run('git', ['status'], { cwd: probe, env: world.env });
    expect(existsSync(marker)).toBe(true);
  });

  it("denied: an existing repository's own config (remotes, settings) is never replaced, even with inert content", async () => {
    const other = join(world.dir, 'proj', 'sub');
    mkdirSync(other);
    execaSync('git', ['init', '-q', other]);
    execaSync('git', ['-C', other, 'remote', 'add', 'origin', 'https://example.test/r.git']);
    const before = readFileSync(join(other, '.git', 'config'), 'utf8');
    const r = await inside(`cd sub && printf '[core]\\n\\tbare = false\\n' > .git/config.lock && mv .git/config.lock .git/config`);
    expect(r.code).not.toBe(0);
    expect(readFileSync(join(other, '.git', 'config'), 'utf8')).toBe(before);
    // The twin: a new, inert config replacing the engine-written one of a repo made inside works.
    const twin = await inside(`git init -q twin && cd twin && git config core.bare false && git config core.logallrefupdates true && echo ok`);
    expect({ code: twin.code, out: twin.stdout.trim() }).toEqual({ code: 0, out: 'ok' });
  });

  it("denied: git's legacy remote files (.git/remotes/NAME, .git/branches/NAME), which point `git fetch NAME` outside at a URL the sandbox chose (twins: written outside, git fetches from them; refs and FETCH_HEAD are written inside)", async () => {
    const repo = join(proj, 'legacy');
    const evil = join(world.dir, 'evil-src');
    execaSync('git', ['init', '-q', repo]);
    gitIn(repo, ['commit', '-q', '--allow-empty', '-m', 'mine']);
    execaSync('git', ['init', '-q', evil]);
    gitIn(evil, ['commit', '-q', '--allow-empty', '-m', 'planted']);
    const r = await inside(
      `cd legacy && (mkdir -p .git/remotes && printf 'URL: ${evil}\\n' > .git/remotes/up) 2>/dev/null; echo "remotes=$?"; ` +
        `(mkdir -p .git/branches && echo ${evil} > .git/branches/up2) 2>/dev/null; echo "branches=$?"; ` +
        // the twin inside: ordinary ref writes in the same repository work
        `git update-ref refs/heads/inside HEAD && echo x > .git/FETCH_HEAD && echo "refs=$?"`,
    );
    const codes = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split('=') as [string, string]));
    expect(codes.refs, r.stderr).toBe('0');
    expect([codes.remotes, codes.branches]).not.toContain('0');
    expect(existsSync(join(repo, '.git', 'remotes', 'up')) || existsSync(join(repo, '.git', 'branches', 'up2'))).toBe(false);
    // The twin outside: the same files, written outside, make `git fetch NAME` fetch the planted history.
    mkdirSync(join(repo, '.git', 'remotes'), { recursive: true });
    writeFileSync(join(repo, '.git', 'remotes', 'up'), `URL: ${evil}\nPull: refs/heads/*:refs/remotes/up/*\n`);
    const f = await run('git', ['-C', repo, 'fetch', '-q', 'up'], { env: { ...world.env, ...gitEnv } });
    expect(f.code, f.stderr).toBe(0);
    expect(gitIn(repo, ['log', '--format=%s', 'FETCH_HEAD']).stdout.trim()).toBe('planted');
  });
});

describe('hooks git runs from elsewhere (core.hooksPath set outside, as husky does) and included config files', () => {
  it('denied: the hooks directory a repository or a global config names, and a file a config includes; git outside runs nothing planted (twins: writable outside; siblings written inside)', async () => {
    const repo = join(world.dir, 'husky-proj');
    const hookMarker = join(world.dir, 'HOOK-RAN');
    mkdirSync(join(repo, '.husky', '_'), { recursive: true });
    execaSync('git', ['init', '-q', repo]);
    // Set outside, as `husky` (core.hooksPath=.husky/_) and a shared config include do.
    execaSync('git', ['-C', repo, 'config', 'core.hooksPath', '.husky/_']);
    const shared = join(world.dir, 'team.gitconfig');
    writeFileSync(shared, '[user]\n\tname = team\n');
    execaSync('git', ['-C', repo, 'config', 'include.path', shared]);
    // A global config whose relative hooksPath names that directory in every repository.
    const home = world.env.HOME!;
    writeFileSync(join(home, '.gitconfig'), '[core]\n\thooksPath = .githooks\n');
    try {
      const hook = join(repo, '.husky', '_', 'pre-commit');
      const globalHook = join(repo, '.githooks', 'pre-commit');
      // husky 9: .husky/_/pre-commit runs the user's .husky/pre-commit.
      const places = [hook, join(repo, '.husky', 'pre-commit'), globalHook, shared];
      for (const p of places) {
        mkdirSync(join(p, '..'), { recursive: true });
        writeFileSync(`${p}.outside-twin`, 'outside\n');
      }
      const script = [...places, join(repo, '.husky-notes.txt'), join(repo, 'src.txt')]
        .map((p) => `(printf '#!/bin/sh\\ntouch ${hookMarker}\\n' > ${p} && chmod +x ${p}) 2>/dev/null && echo "ok ${p}" || echo "refused ${p}"`)
        .join('\n');
      const r = await sbxExec(['--', 'sh', '-c', script], { cwd: repo, env: { ...world.env, ...gitEnv } });
      for (const p of places) expect(r.stdout, r.stderr).toContain(`refused ${p}`);
      expect(r.stdout).toContain(`ok ${join(repo, '.husky-notes.txt')}`);
      expect(r.stdout).toContain(`ok ${join(repo, 'src.txt')}`);
      expect(r.stderr).toContain(`sbx: denied write ${hook}`);
      const commit = await run('git', ['-C', repo, 'commit', '-q', '--allow-empty', '-m', 'x'], { env: { ...world.env, ...gitEnv } });
      expect(commit.code, commit.stderr).toBe(0);
      expect(existsSync(hookMarker)).toBe(false);
      // Twin: the same hook written outside runs at the next commit.
      writeFileSync(hook, `#!/bin/sh\ntouch ${hookMarker}\n`, { mode: 0o755 });
      expect((await run('git', ['-C', repo, 'commit', '-q', '--allow-empty', '-m', 'y'], { env: { ...world.env, ...gitEnv } })).code).toBe(0);
      expect(existsSync(hookMarker)).toBe(true);
    } finally {
      rmSync(join(home, '.gitconfig'), { force: true });
    }
  });

  // helper-92 #01: a relative core.hooksPath was floored only against the project's own work
  // tree; git resolves it against the top of whichever work tree it runs in.
  it('denied: the hooks directory of another work tree of the repository, of a repository nested in it, of a repository elsewhere (husky), and a config file a nested repository includes; outside each runs at the next commit (twins: sibling directories written inside)', async () => {
    const repo = join(world.dir, 'hp-proj');
    const other = join(world.dir, 'hp-other');
    const ranMarker = join(world.dir, 'HP-HOOK-RAN');
    repoWithWorktree(repo, '.githooks');
    execaSync('git', ['init', '-q', join(repo, 'nested')]);
    gitIn(join(repo, 'nested'), ['config', 'core.hooksPath', 'tools/hooks']);
    gitIn(join(repo, 'nested'), ['config', 'include.path', '../team.gitconfig']);
    writeFileSync(join(repo, 'nested', 'team.gitconfig'), '[user]\n\tname = team\n');
    execaSync('git', ['init', '-q', other]);
    gitIn(other, ['config', 'core.hooksPath', '.husky/_']);
    const hooks = {
      worktree: join(repo, 'wt', '.githooks', 'pre-commit'),
      nested: join(repo, 'nested', 'tools', 'hooks', 'pre-commit'),
      husky: join(other, '.husky', '_', 'pre-commit'),
      huskyUser: join(other, '.husky', 'pre-commit'),
    };
    // The hooks directories are there already, as in a checkout of a repository that has them.
    for (const p of Object.values(hooks)) mkdirSync(join(p, '..'), { recursive: true });
    const include = join(repo, 'nested', 'team.gitconfig');
    const siblings = [join(repo, 'wt', 'notes', 'pre-commit'), join(repo, 'nested', 'tools', 'pre-commit'), join(other, 'husky-notes', 'pre-commit')];
    const hook = `#!/bin/sh\ntouch ${ranMarker}\n`;
    const plant = (p: string) => `(mkdir -p $(dirname ${p}) && printf '${hook.replace(/\n/g, '\\n')}' > ${p} && chmod +x ${p}) 2>/dev/null && echo "ok ${p}" || echo "refused ${p}"`;
    // A directory above a hooks directory moved away (another could then be moved in); twin: a sibling.
    const moves = [`mv ${repo}/nested/tools ${repo}/nested/tools-old && echo "moved tools" || echo "kept tools"`, `mkdir ${repo}/nested/docs && mv ${repo}/nested/docs ${repo}/nested/docs-old && echo "moved docs"`];
    const r = await sbxExec(['--', 'sh', '-c', [...Object.values(hooks), ...siblings].map(plant).concat(`printf '[core]\\n\\tfsmonitor = "touch ${ranMarker}; false"\\n' >> ${include} && echo "ok ${include}" || echo "refused ${include}"`, ...moves).join('\n')], {
      cwd: repo,
      env: { ...world.env, ...gitEnv },
    });
    for (const p of [...Object.values(hooks), include]) expect(r.stdout, r.stderr).toContain(`refused ${p}`);
    for (const p of siblings) expect(r.stdout, r.stderr).toContain(`ok ${p}`);
    expect(r.stdout).toMatch(/^kept tools$/m);
    expect(r.stdout).toMatch(/^moved docs$/m);
    // The project's own work trees are floors of the policy; other repositories' are the engine's.
    expect(r.stderr).toContain(`sbx: denied write ${hooks.worktree} (`);
    expect(r.stderr).toContain(`sbx: denied write ${hooks.nested} (git runs hooks from here: core.hooksPath of the repository at ${join(repo, 'nested')}`);
    expect(r.stderr).toContain(`sbx: denied write ${include} (a config file the repository at ${join(repo, 'nested')} includes`);
    // What each runs at the next commit (or status) outside: nothing planted inside; the
    // same file written outside (the twin) runs.
    const commitIn = (dir: string) => commitRunsHook(dir, ranMarker);
    const where = { worktree: join(repo, 'wt'), nested: join(repo, 'nested'), husky: other, huskyUser: other };
    for (const [k, dir] of Object.entries(where)) expect(await commitIn(dir), `inside: ${k}`).toBe(false);
    for (const [k, p] of Object.entries(hooks)) {
      mkdirSync(join(p, '..'), { recursive: true });
      writeFileSync(p, k === 'husky' ? `#!/bin/sh\n. "$(dirname "$0")/../pre-commit"\n` : hook, { mode: 0o755 });
    }
    for (const [k, dir] of Object.entries(where)) expect(await commitIn(dir), `outside twin: ${k}`).toBe(true);
  });

  // helper-93 #01: a symlink made where a directory above a hooks directory would be leads git
  // into a directory the sandbox filled.
  it('denied: a symlink (made, or a second name of one) where a directory above a work tree\'s hooks directory would be; outside it runs at the next commit (twin: a symlink beside it)', async () => {
    const repo = join(world.dir, 'hl-proj');
    const ranMarker = join(world.dir, 'HL-HOOK-RAN');
    const planted = join(world.dir, 'hl-planted');
    const second = join(world.dir, 'hl-second');
    repoWithWorktree(repo, 'tools/hooks');
    const hook = `#!/bin/sh\ntouch ${ranMarker}\n`;
    const filled = (d: string) => `mkdir -p ${d}/hooks && printf '${hook.replace(/\n/g, '\\n')}' > ${d}/hooks/pre-commit && chmod +x ${d}/hooks/pre-commit`;
    const r = await sbxExec(
      [
        '--',
        'sh',
        '-c',
        [
          filled(planted),
          `ln -s ${planted} ${repo}/wt/tools && echo "ok symlink" || echo "refused symlink"`,
          `ln -s ${planted} ${second} && ln -P ${second} ${repo}/wt/tools && echo "ok second" || echo "refused second"`,
          `ln -s ${planted} ${repo}/wt/tools-notes && echo "ok beside"`,
        ].join('\n'),
      ],
      { cwd: repo, env: { ...world.env, ...gitEnv } },
    );
    expect(r.stdout, r.stderr).toMatch(/^refused symlink$/m);
    expect(r.stdout).toMatch(/^refused second$/m);
    expect(r.stdout).toMatch(/^ok beside$/m);
    expect(r.stderr).toContain(`sbx: denied write ${join(repo, 'wt', 'tools')} (git runs hooks from here`);
    const commitIn = (dir: string) => commitRunsHook(dir, ranMarker);
    expect(await commitIn(join(repo, 'wt'))).toBe(false);
    // Outside twin: the same symlink runs the hook.
    execaSync('sh', ['-c', `${filled(join(world.dir, 'hl-out'))} && ln -s ${join(world.dir, 'hl-out')} ${repo}/wt/tools`]);
    expect(await commitIn(join(repo, 'wt'))).toBe(true);
  });

  // helper-93 #03: past its read limit a config was skipped, and the hooks directory it names
  // with it (a .gitmodules of long URLs that git submodule copies into .git/config grows it).
  it('a repository whose config is too big for sbx to read is not written in at all (fail closed); twin: the same repository with a small config is', async () => {
    const big = join(world.dir, 'big-proj');
    execaSync('git', ['init', '-q', big]);
    const cfg = join(big, '.git', 'config');
    writeFileSync(cfg, `${readFileSync(cfg, 'utf8')}${'# padding\n'.repeat(120_000)}[core]\n\thooksPath = .githooks\n`);
    mkdirSync(join(big, '.githooks'));
    const write = () => sbxExec(['--', 'sh', '-c', `echo x > ${big}/notes.txt && echo "wrote" || echo "refused"`], { cwd: big, env: { ...world.env, ...gitEnv } });
    const r = await write();
    expect(r.stdout).toMatch(/^refused$/m);
    expect(r.stderr).toContain(`sbx: denied write ${join(big, 'notes.txt')} (the config ${cfg} of the repository at ${big} is over 1 MiB`);
    writeFileSync(cfg, '[core]\n\thooksPath = .githooks\n');
    expect((await write()).stdout).toMatch(/^wrote$/m);
  });

  it("denied: the template directory git copies into every new repository (init.templateDir): a hook planted there would run in the next `git clone` outside (twin: written outside, it runs there; a sibling directory is written inside)", async () => {
    const home = world.env.HOME!;
    const templates = join(home, 'git-templates');
    const sibling = join(home, 'git-notes');
    const hookMarker = join(world.dir, 'TEMPLATE-HOOK-RAN');
    mkdirSync(join(templates, 'hooks'), { recursive: true });
    mkdirSync(sibling, { recursive: true });
    writeFileSync(join(home, '.gitconfig'), `[init]\n\ttemplateDir = ~/git-templates\n`);
    const origin = join(world.dir, 'origin-repo');
    try {
      execaSync('git', ['init', '-q', origin]);
      execaSync('git', ['-C', origin, 'commit', '-q', '--allow-empty', '-m', 'x'], { env: { ...process.env, ...gitEnv } });
      const hook = join(templates, 'hooks', 'post-checkout');
      const script = [hook, join(sibling, 'post-checkout')]
        .map((p) => `(printf '#!/bin/sh\\ntouch ${hookMarker}\\n' > ${p} && chmod +x ${p}) 2>/dev/null && echo "ok ${p}" || echo "refused ${p}"`)
        .join('\n');
      const r = await sbxExec(['--', 'sh', '-c', script], { cwd: proj, env: { ...world.env, ...gitEnv } });
      expect(r.stdout, r.stderr).toContain(`refused ${hook}`);
      expect(r.stdout).toContain(`ok ${join(sibling, 'post-checkout')}`);
      expect(r.stderr).toContain(`sbx: denied write ${hook}`);
      const clone = await run('git', ['clone', '-q', origin, join(world.dir, 'clone-1')], { env: { ...world.env, ...gitEnv } });
      expect(clone.code, clone.stderr).toBe(0);
      expect(existsSync(hookMarker)).toBe(false);
      // Twin: the same hook written outside runs during the clone itself.
      writeFileSync(hook, `#!/bin/sh\ntouch ${hookMarker}\n`, { mode: 0o755 });
      expect((await run('git', ['clone', '-q', origin, join(world.dir, 'clone-2')], { env: { ...world.env, ...gitEnv } })).code).toBe(0);
      expect(existsSync(hookMarker)).toBe(true);
    } finally {
      rmSync(join(home, '.gitconfig'), { force: true });
    }
  });
});
