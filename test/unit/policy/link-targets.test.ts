/** Where links in protected places lead (src/policy/link-targets.ts). */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { homeLinkTargets, linkTargets } from '../../../src/policy/link-targets.js';

function world() {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sbx-links-')));
  const home = join(dir, 'home');
  mkdirSync(home);
  return { dir, home, done: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('linkTargets', () => {
  it('follows links below a floor, a dangling one to where it would create (its target can be made later); twin: a plain file there adds nothing', () => {
    const w = world();
    try {
      mkdirSync(join(w.home, '.ssh'));
      mkdirSync(join(w.home, 'dots'));
      writeFileSync(join(w.home, 'dots', 'config'), '');
      symlinkSync(join(w.home, 'dots', 'config'), join(w.home, '.ssh', 'config'));
      symlinkSync('../dots/not-yet', join(w.home, '.ssh', 'rc'));
      writeFileSync(join(w.home, '.ssh', 'known_hosts'), '');
      const r = linkTargets({ home: w.home, floors: [join(w.home, '.ssh')], secrets: [], pathDirs: [] });
      expect(r.floors).toEqual([join(w.home, 'dots', 'config'), join(w.home, 'dots', 'not-yet')]);
      expect(r.truncated).toBe(false);
    } finally {
      w.done();
    }
  });

  it('never a target that would take the home or /, nor a system directory (the project is the caller\'s to leave out: presets.ts)', () => {
    const w = world();
    try {
      const project = join(w.home, 'work', 'p');
      mkdirSync(project, { recursive: true });
      mkdirSync(join(w.home, '.ssh'));
      symlinkSync(w.home, join(w.home, '.ssh', 'home'));
      symlinkSync(join(w.home, 'work'), join(w.home, '.ssh', 'work'));
      symlinkSync('/', join(w.home, '.ssh', 'root'));
      symlinkSync('/usr/bin/env', join(w.home, '.ssh', 'env'));
      symlinkSync(join(project, 'notes'), join(w.home, '.ssh', 'inside-project'));
      const r = linkTargets({ home: w.home, floors: [], secrets: [join(w.home, '.ssh')], pathDirs: [] });
      expect(r.secrets).toEqual([join(w.home, 'work'), join(project, 'notes')]);
    } finally {
      w.done();
    }
  });

  it("a PATH dir's link: the package above its target (package.json), or the target's directory (the one above a bin/)", () => {
    const w = world();
    try {
      const bin = join(w.home, 'prefix', 'bin');
      mkdirSync(bin, { recursive: true });
      mkdirSync(join(w.home, 'prefix', 'lib', 'node_modules', 'tool', 'dist'), { recursive: true });
      writeFileSync(join(w.home, 'prefix', 'lib', 'node_modules', 'tool', 'package.json'), '{}');
      writeFileSync(join(w.home, 'prefix', 'lib', 'node_modules', 'tool', 'dist', 'cli.js'), '');
      symlinkSync('../lib/node_modules/tool/dist/cli.js', join(bin, 'tool'));
      mkdirSync(join(w.home, 'prefix', 'Cellar', 'x', '1.0', 'bin'), { recursive: true });
      writeFileSync(join(w.home, 'prefix', 'Cellar', 'x', '1.0', 'bin', 'x'), '');
      symlinkSync('../Cellar/x/1.0/bin/x', join(bin, 'x'));
      const r = linkTargets({ home: w.home, floors: [], secrets: [], pathDirs: [bin] });
      expect(r.floors.sort()).toEqual([join(w.home, 'prefix', 'Cellar', 'x', '1.0'), join(w.home, 'prefix', 'lib', 'node_modules', 'tool')]);
    } finally {
      w.done();
    }
  });
});

describe('homeLinkTargets', () => {
  it("the home's dot-entries that are links, and links below them (depth 3); not below caches; not targets inside the dot-entries (denied there already)", () => {
    const w = world();
    try {
      mkdirSync(join(w.home, 'dots', 'nvim'), { recursive: true });
      writeFileSync(join(w.home, 'dots', 'tmux.conf'), '');
      symlinkSync(join(w.home, 'dots', 'tmux.conf'), join(w.home, '.tmux.conf'));
      mkdirSync(join(w.home, '.config'));
      symlinkSync(join(w.home, 'dots', 'nvim'), join(w.home, '.config', 'nvim'));
      mkdirSync(join(w.home, '.cache', 'x'), { recursive: true });
      symlinkSync(join(w.home, 'dots'), join(w.home, '.cache', 'x', 'dots'));
      symlinkSync(join(w.home, '.config', 'nvim'), join(w.home, '.vim'));
      mkdirSync(join(w.home, 'projects'));
      symlinkSync(join(w.home, 'dots'), join(w.home, 'projects', 'dots'));
      expect(homeLinkTargets(w.home)).toEqual({ targets: [join(w.home, 'dots', 'nvim'), join(w.home, 'dots', 'tmux.conf')], links: [] });
    } finally {
      w.done();
    }
  });
});

describe('links on the way', () => {
  it('a link reached through another link: the target, and the link on the way (the sandbox could point it elsewhere)', () => {
    const w = world();
    try {
      mkdirSync(join(w.home, 'repo', 'tmux'), { recursive: true });
      writeFileSync(join(w.home, 'repo', 'tmux', 'tmux.conf'), '');
      symlinkSync(join(w.home, 'repo'), join(w.home, 'cfg'));
      symlinkSync('cfg/tmux/tmux.conf', join(w.home, '.tmux.conf'));
      expect(homeLinkTargets(w.home)).toEqual({ targets: [join(w.home, 'repo', 'tmux', 'tmux.conf')], links: [join(w.home, 'cfg')] });
      mkdirSync(join(w.home, '.ssh'));
      symlinkSync('../cfg/tmux/tmux.conf', join(w.home, '.ssh', 'config'));
      const r = linkTargets({ home: w.home, floors: [], secrets: [join(w.home, '.ssh')], pathDirs: [] });
      expect(r.secrets).toEqual([join(w.home, 'repo', 'tmux', 'tmux.conf')]);
      expect(r.floors).toEqual([join(w.home, 'cfg')]);
    } finally {
      w.done();
    }
  });
});

describe('following a link as the kernel does', () => {
  it('`..` after a link on the way goes up from where that link leads, not from its name', () => {
    const w = world();
    try {
      mkdirSync(join(w.dir, 'other', 'deep'), { recursive: true });
      writeFileSync(join(w.dir, 'other', 'f'), '');
      mkdirSync(join(w.home, 'sub'), { recursive: true });
      symlinkSync(join(w.dir, 'other', 'deep'), join(w.home, 'sub', 'up'));
      mkdirSync(join(w.home, '.ssh'));
      symlinkSync('../sub/up/../f', join(w.home, '.ssh', 'config'));
      const r = linkTargets({ home: w.home, floors: [join(w.home, '.ssh')], secrets: [], pathDirs: [] });
      expect(r.floors.sort()).toEqual([join(w.dir, 'other', 'f'), join(w.home, 'sub', 'up')].sort());
    } finally {
      w.done();
    }
  });
});
