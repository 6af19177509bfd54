/**
 * What a name holds, when something outside uses it later by that name.
 *   - A rename is decided on what the source name holds; a sibling thread swapping a file and
 *     a prepared directory under that name once had the check made on the file and the
 *     directory moved: `~/.local/share/fish` replaced by one holding `vendor_conf.d`, which
 *     every fish runs at start, outside.
 *   - A symlink at a home dot-entry is followed by the tool that owns the name
 *     (`~/.bash_history` by readline): made by symlink(2) it was checked once, and a rename
 *     or hard link of a symlink made elsewhere was not checked at all.
 *   - A FIFO at `~/.bash_history` hangs every new bash.
 * Each refusal has its twin: outside the same step works, and inside a regular file still
 * takes the name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { sbxExec, servedBySupervisor, tempWorld } from './exec-helpers.js';

const world = tempWorld('sbx-names-');
servedBySupervisor(world);
const home = world.env.HOME!;
const env = Object.fromEntries(Object.entries(world.env).filter(([k]) => !/^XDG_(CONFIG|STATE|CACHE|DATA)_HOME$/.test(k)));
const project = join(world.dir, 'proj');
const race = join(import.meta.dirname, '..', 'fixtures', 'bin', 'rename_swap_race');
const fishData = join(home, '.local', 'share', 'fish');

/** A work dir holding F (a plain file) and D (a directory prepared with vendor_conf.d/x.fish). */
function prepare(name: string): string {
  const w = join(world.dir, name);
  mkdirSync(join(w, 'D', 'vendor_conf.d'), { recursive: true });
  writeFileSync(join(w, 'D', 'vendor_conf.d', 'x.fish'), 'echo planted\n');
  writeFileSync(join(w, 'F'), 'plain\n');
  return w;
}

beforeAll(() => {
  mkdirSync(project, { recursive: true });
  mkdirSync(fishData, { recursive: true });
  writeFileSync(join(home, '.bashrc'), '# rc\n');
});
afterAll(() => world.cleanup());

describe('a rename is decided on the object it moves', () => {
  it('racing a file and a prepared directory under the source name never lands the directory on ~/.local/share/fish (twin: outside it does)', { timeout: 120_000 }, async () => {
    // Outside: the fixture wins, so the race is real here.
    const twinDest = join(world.dir, 'twin-dest');
    mkdirSync(twinDest);
    const outside = execaSync(race, [prepare('twin'), twinDest, '20'], { reject: false });
    expect(outside.stdout).toMatch(/^WON/);
    expect(existsSync(join(twinDest, 'vendor_conf.d', 'x.fish'))).toBe(true);

    const r = await sbxExec(['--', race, prepare('inside'), fishData, '4'], { env, cwd: project, timeout: 60_000 });
    expect(r.stdout).toMatch(/^lost \d+/);
    expect(existsSync(join(fishData, 'vendor_conf.d'))).toBe(false);
    expect(lstatSync(fishData).isDirectory()).toBe(true);
  });
});

describe('home dot-entries hold files and directories only', () => {
  it('a symlink made, moved or hard-linked to ~/.bash_history or ~/.python_history is refused; a regular file takes the name (twin), and a symlink elsewhere is made', { timeout: 60_000 }, async () => {
    const stage = join(world.dir, 'stage');
    mkdirSync(join(stage, 'L'), { recursive: true });
    writeFileSync(join(stage, 'L', '.bashrc'), 'payload\n');
    const script = [
      `ln -s ${stage}/L/.bashrc ~/.python_history 2>/dev/null && echo made-python-link || echo refused-python-link`,
      `ln -s .bashrc ${stage}/h && mv ${stage}/h ~/.bash_history 2>/dev/null && echo moved-link || echo refused-moved-link`,
      `ln -s .bashrc ${stage}/h2 && ln -P ${stage}/h2 ~/.lesshst 2>/dev/null && echo hardlinked-link || echo refused-hardlinked-link`,
      `mkfifo ~/.zsh_history 2>/dev/null && echo made-fifo || echo refused-fifo`,
      `echo hist > ${stage}/plain && mv ${stage}/plain ~/.bash_history && echo moved-file`,
      `ln -s ${stage}/L ${project}/link && echo made-project-link`,
      `mkfifo ${project}/fifo && echo made-project-fifo`,
    ].join('\n');
    const r = await sbxExec(['--', 'sh', '-c', script], { env, cwd: project });
    expect(r.stdout.split('\n')).toEqual(
      expect.arrayContaining(['refused-python-link', 'refused-moved-link', 'refused-hardlinked-link', 'refused-fifo', 'moved-file', 'made-project-link', 'made-project-fifo']),
    );
    expect(lstatSync(join(home, '.bash_history')).isFile()).toBe(true);
    expect(existsSync(join(home, '.python_history'))).toBe(false);
    expect(r.stderr).toMatch(/sbx: denied write .*\.python_history \(.*symlink as a home dot-entry/);

    // Outside, the same steps work: what refuses them is the sandbox.
    const out = execaSync('sh', ['-c', `ln -s .bashrc ${stage}/h3 && mv ${stage}/h3 ${home}/.node_repl_history && echo outside-moved-link`], { reject: false });
    expect(out.stdout).toBe('outside-moved-link');
  });
});

describe('a symlink is never re-pointed into protected places', () => {
  it('a link to a directory with protected places below (the home, its parent) is refused, so a link made earlier through its name (a reflog into ~/.bash_aliases) cannot be re-pointed; twin: a link to a plain directory is made', { timeout: 60_000 }, async () => {
    const stage = join(world.dir, 'repoint');
    mkdirSync(join(stage, 'L', 'u'), { recursive: true });
    mkdirSync(join(stage, 'plain'), { recursive: true });
    const up = join(home, '..');
    const script = [
      `ln -s ${stage}/L/home/.bash_aliases ${project}/reflog && echo first-link-made`,
      `mv ${stage}/L ${stage}/L.old && (ln -s ${up} ${stage}/L 2>/dev/null && echo repointed || echo refused-repoint)`,
      `ln -s ${home} ${stage}/H 2>/dev/null && echo home-link || echo refused-home-link`,
      `ln -s ${stage}/plain ${stage}/P && echo plain-link`,
      `mkfifo ${home}/.local/share/fish/fish_history 2>/dev/null && echo fifo-below || echo refused-fifo-below`,
    ].join('\n');
    const r = await sbxExec(['--', 'sh', '-c', script], { env, cwd: project });
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['first-link-made', 'refused-repoint', 'refused-home-link', 'plain-link', 'refused-fifo-below']);
    expect(r.stderr).toMatch(/a directory with protected places below/);
    expect(existsSync(join(home, '.bash_aliases'))).toBe(false);
  });
});
