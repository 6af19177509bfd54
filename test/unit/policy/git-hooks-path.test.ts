/**
 * core.hooksPath and included configs (src/policy/git-hooks-path.ts): found in the project's
 * repository (a worktree's .git file followed) and the global configs, and recorded as a
 * derived fact, so a cached build stops holding the moment a config names another directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildFactsHold, recordBuildFacts } from '../../../src/policy/expand.js';
import { gitRunFloors, parseGitConfig } from '../../../src/policy/git-hooks-path.js';

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'hookspath-')));
const home = join(dir, 'home');
const xdgGit = join(home, '.config', 'git');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const git = (...args: string[]) => execFileSync('git', args, { env: { ...process.env, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@example.test', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@example.test' } });

describe('git hooks path floors', () => {
  it('parses sections, subsections, quotes, comments and continued lines', () => {
    const parsed = parseGitConfig('[core]\n\thooksPath = ".husky/_" # c\n[includeIf "gitdir:~/w/"]\n path = a\\\nb ; c\n[Core]\nbare\n');
    expect(parsed).toEqual([
      { section: 'core', key: 'hookspath', value: '.husky/_' },
      { section: 'includeif.gitdir:~/w/', key: 'path', value: 'ab' },
      { section: 'core', key: 'bare', value: 'true' },
    ]);
    // git skips a byte-order mark before the first section
    expect(parseGitConfig('\uFEFF[core]\n\thooksPath = x\n')).toEqual([{ section: 'core', key: 'hookspath', value: 'x' }]);
  });

  it("finds the project repository's hooksPath (from a subdirectory and through a worktree's .git file), included files, and a global relative one as a glob", () => {
    mkdirSync(xdgGit, { recursive: true });
    const repo = join(dir, 'repo');
    mkdirSync(join(repo, 'src'), { recursive: true });
    git('init', '-q', repo);
    git('-C', repo, 'config', 'core.hooksPath', '.husky/_');
    git('-C', repo, 'config', 'include.path', '../../shared.cfg'); // relative to .git/, as git reads it
    writeFileSync(join(dir, 'shared.cfg'), '[core]\n\thooksPath = /abs/hooks\n');
    writeFileSync(join(xdgGit, 'config'), '[core]\n\thooksPath = .githooks\n[init]\n\ttemplateDir = ~/git-templates\n');
    expect(gitRunFloors(join(repo, 'src'), home, xdgGit)).toEqual({
      hooks: [join(repo, '.husky/_'), '/abs/hooks'].sort(),
      includes: [join(dir, 'shared.cfg')],
      globs: ['/**/.githooks'],
      templates: [join(home, 'git-templates')],
    });
    // A linked worktree: .git is a file naming its gitdir, whose commondir is the main repository.
    git('-C', repo, 'commit', '-q', '--allow-empty', '-m', 'x', '--no-verify');
    git('-C', repo, 'worktree', 'add', '-q', join(dir, 'wt'));
    expect(gitRunFloors(join(dir, 'wt'), home, xdgGit).hooks).toContain(join(dir, 'wt', '.husky/_'));
  });

  // helper-93 #05, #04, #02: an empty repository made inside a monorepo's package hid the one
  // above; a relative hooksPath counted in the project's work tree only; a global `../x` named `/x`.
  it("every repository whose work tree holds the project counts, in every work tree of each; a global `../` hooksPath is a glob of what follows (twin: the nearest repository alone before)", () => {
    const home2 = join(dir, 'home2');
    const xdg2 = join(home2, '.config', 'git');
    mkdirSync(xdg2, { recursive: true });
    const outer = join(dir, 'mono');
    git('init', '-q', outer);
    git('-C', outer, 'config', 'core.hooksPath', '/abs/mono-hooks');
    const pkg = join(outer, 'pkg');
    mkdirSync(join(pkg, '.git', 'objects'), { recursive: true });
    mkdirSync(join(pkg, '.git', 'refs'), { recursive: true });
    writeFileSync(join(pkg, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    expect(gitRunFloors(pkg, home2, xdg2).hooks).toContain('/abs/mono-hooks');
    // A relative one, in the main work tree and in a linked one made elsewhere.
    const rel = join(dir, 'rel');
    git('init', '-q', rel);
    git('-C', rel, 'commit', '-q', '--allow-empty', '-m', 'x', '--no-verify');
    git('-C', rel, 'config', 'core.hooksPath', 'tools/hooks');
    git('-C', rel, 'worktree', 'add', '-q', join(dir, 'rel-wt'));
    expect(gitRunFloors(rel, home2, xdg2).hooks).toEqual([join(dir, 'rel-wt', 'tools/hooks'), join(rel, 'tools/hooks')].sort());
    writeFileSync(join(xdg2, 'config'), '[core]\n\thooksPath = ../shared-hooks\n');
    expect(gitRunFloors(join(dir, 'nowhere'), home2, xdg2).globs).toEqual(['/**/shared-hooks']);
    writeFileSync(join(xdg2, 'config'), '[core]\n\thooksPath = ..\n');
    expect(gitRunFloors(join(dir, 'nowhere'), home2, xdg2).globs).toContain('/**/pre-commit');
  });

  it('a cached build stops holding when a config names another hooks directory (twin: it holds while nothing changed)', () => {
    const repo = join(dir, 'cached');
    git('init', '-q', repo);
    git('-C', repo, 'config', 'core.hooksPath', 'one');
    const { out, facts } = recordBuildFacts(() => gitRunFloors(repo, home, xdgGit));
    expect(out.hooks).toContain(join(repo, 'one'));
    expect(buildFactsHold(facts)).toBe(true);
    git('-C', repo, 'config', 'core.hooksPath', 'two');
    expect(buildFactsHold(facts)).toBe(false);
  });
});
