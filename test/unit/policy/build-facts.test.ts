/**
 * What a policy build reads from the filesystem besides its files (src/policy/expand.ts): the
 * canonical form of each path, existence probes. canonicalPath resolves each directory once
 * (parent memoised) and must agree with the kernel's realpath; the recorded facts must stop
 * holding as soon as any of them changes (the exec policy cache relies on it).
 */
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFactsHold, canonicalPath, isRegularFile, nodePathKinds, pathExists, planFactsCheck, recordBuildFacts, stampsFromNumbers, type PathKinds, type PathStamps } from '../../../src/policy/expand.js';
import { loadNative } from '../../../src/native/load.js';

const nativeKinds: PathKinds = (paths, follow) => loadNative().pathKinds(paths, follow);
const nativeStamps: PathStamps = { of: (paths) => stampsFromNumbers(loadNative().pathStamps(paths)), mounts: () => loadNative().mountGeneration() };

/** The facts of making `names` canonical, planned with directory stamps once their directory settled (over a second old), as a cache plans them. */
async function settledPlan(names: string[], kinds: PathKinds = nativeKinds) {
  const { facts } = recordBuildFacts(() => names.map((p) => canonicalPath(p)));
  await new Promise((r) => setTimeout(r, 1100));
  return planFactsCheck(facts, nativeStamps, kinds);
}

let dir: string;
beforeAll(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'facts-')));
  mkdirSync(join(dir, 'real/deep/er'), { recursive: true });
  writeFileSync(join(dir, 'real/deep/file'), 'x');
  symlinkSync('real', join(dir, 'rel')); // relative
  symlinkSync(join(dir, 'real/deep'), join(dir, 'abs')); // absolute
  symlinkSync('rel/deep', join(dir, 'chain')); // a link through a link
  symlinkSync('../..', join(dir, 'real/deep/er/up')); // back up the tree
  symlinkSync('nowhere/yet', join(dir, 'dangling'));
  // `..` right after a link in a target: the kernel goes up from where the link leads.
  symlinkSync('real/deep', join(dir, 'sync'));
  symlinkSync('sync/../deep/file', join(dir, 'viaup'));
  symlinkSync('sync/../deep', join(dir, 'viaupdir'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('canonicalPath', () => {
  it('agrees with realpath on every existing path, through relative, absolute, chained and upward links', () => {
    const paths = ['real', 'real/deep/file', 'rel', 'rel/deep/file', 'abs/file', 'chain/er', 'chain/er/up/deep/file', 'real/deep/er/up/deep/er', 'viaup', 'viaupdir/file'];
    for (const p of paths) expect(canonicalPath(join(dir, p)), p).toBe(realpathSync.native(join(dir, p)));
  });

  it('a chain of dangling links longer than the hop limit does not stand for its directory in later paths (one build)', async () => {
    // C0 -> C1 -> … -> C39 -> rel/nonexistent: the last hop runs out of budget inside `rel`.
    mkdirSync(join(dir, 'chain40'));
    let prev = join(dir, 'rel/nonexistent');
    for (let i = 39; i >= 0; i--) {
      symlinkSync(prev, join(dir, `chain40/C${i}`));
      prev = join(dir, `chain40/C${i}`);
    }
    recordBuildFacts(() => {
      canonicalPath(join(dir, 'chain40/C0'));
      expect(canonicalPath(join(dir, 'rel/deep/file'))).toBe(join(dir, 'real/deep/file'));
    });
  });

  it('a dangling relative link in a directory reached through a link: followed from where it really is, as the kernel does', () => {
    mkdirSync(join(dir, 'real/other'), { recursive: true });
    symlinkSync('real/other', join(dir, 'lsub'));
    symlinkSync('../up/x', join(dir, 'real/other/dangle'));
    const before = canonicalPath(join(dir, 'lsub/dangle'));
    // What the kernel does once the target exists.
    mkdirSync(join(dir, 'real/up'));
    writeFileSync(join(dir, 'real/up/x'), '');
    expect(before).toBe(realpathSync.native(join(dir, 'lsub/dangle')));
  });

  it('links that name whoever follows them (/proc/self, /dev/fd, /dev/stdin) are kept as written', () => {
    for (const p of ['/proc/self/cwd', '/proc/self', '/proc/thread-self/root', '/dev/fd/0', '/dev/stdin', '/dev/stdout/x'])
      expect(canonicalPath(p)).toBe(p);
    expect(canonicalPath('/proc/selfish')).toBe('/proc/selfish');
  });

  it('a link to /proc/self/… or /dev/fd/N is kept as that text (twin: the names themselves), never the process that resolves it', () => {
    // Links to those names, to a link to them, and to /proc, / and /dev (reached through another name).
    const links: Array<[string, string]> = [
      ['to-self', '/proc/self/status'],
      ['to-fd3', '/dev/fd/3'],
      ['to-to-self', 'to-self'],
      ['p', '/proc'],
      ['r', '/'],
      ['d', '/dev'],
      ['to-sys', '/proc/sys'],
    ];
    for (const [name, target] of links) symlinkSync(target, join(dir, name));
    const expected: Array<[string, string]> = [
      [join(dir, 'to-self'), '/proc/self/status'],
      [join(dir, 'to-to-self'), '/proc/self/status'],
      [join(dir, 'to-fd3'), '/dev/fd/3'],
      ['/proc/self/status', '/proc/self/status'],
      [join(dir, 'p/self/environ'), '/proc/self/environ'],
      [join(dir, 'r/proc/self/cwd'), '/proc/self/cwd'],
      [join(dir, 'd/fd/1'), '/dev/fd/1'],
      [join(dir, 'p/1/status'), '/proc/1/status'], // the twin: another process's entry
      [join(dir, 'to-sys/kernel'), '/proc/sys/kernel'], // another link into /proc resolves like any other
    ];
    for (const [path, out] of expected) expect(canonicalPath(path), path).toBe(out);
  });

  it('links that loop through each other and `..` are followed at most 40 times in all, as the kernel (this would not finish if each branch had its own count)', () => {
    const d = join(dir, 'loops');
    mkdirSync(d);
    for (const [n, t] of [['a', 'b/../a/x'], ['b', 'a/../b/x'], ['c', 'a/../b/../c']]) symlinkSync(t!, join(d, n!));
    for (const n of ['a', 'b', 'c', 'a/deeper/still']) expect(typeof canonicalPath(join(d, n))).toBe('string');
    // Long targets through chains of links: the walk is bounded (MAX_STEPS), not 40 × every component.
    mkdirSync(join(d, 'x'));
    symlinkSync(Array(800).fill('x/..').join('/'), join(d, 'L0'));
    for (let i = 1; i <= 44; i++) symlinkSync(Array(200).fill(`L${i - 1}`).join('/../'), join(d, `L${i}`));
    expect(typeof canonicalPath(join(d, 'L44'))).toBe('string');
    expect(typeof canonicalPath(join(d, ...Array(200).fill('L0')))).toBe('string');
  });

  it('a dangling link whose target goes up after a link: the place a write through it would create, as the kernel walks it', () => {
    symlinkSync('sync/../made-later', join(dir, 'dangling-up'));
    const before = canonicalPath(join(dir, 'dangling-up'));
    writeFileSync(join(dir, 'dangling-up'), 'x'); // the kernel creates the target
    expect(before).toBe(realpathSync.native(join(dir, 'dangling-up')));
    expect(before).toBe(join(dir, 'real/made-later'));
  });

  it('a path that does not exist: the existing prefix resolved, the rest as written; a dangling link followed', () => {
    expect(canonicalPath(join(dir, 'chain/not/there'))).toBe(join(dir, 'real/deep/not/there'));
    expect(canonicalPath(join(dir, 'dangling/x'))).toBe(join(dir, 'nowhere/yet/x'));
    expect(canonicalPath(join(dir, 'real/deep/file/below'))).toBe(join(dir, 'real/deep/file/below'));
  });
});

// Each check runs with both stat batches: Node's fs (the default) and the supervisor's native one.
describe.each([
  ['node fs', nodePathKinds],
  ['native batch', nativeKinds],
])("a build's facts (%s)", (_name, kinds) => {
  const record = (fn: () => void) => recordBuildFacts(fn).facts;
  const hold = (facts: ReadonlyMap<string, string>) => buildFactsHold(facts, kinds);

  it('hold while nothing changes; stop holding when a link they went through is pointed elsewhere', () => {
    const moving = join(dir, `moving-${_name.length}`);
    symlinkSync('real/deep', moving);
    const facts = record(() => void canonicalPath(join(moving, 'er')));
    expect(hold(facts)).toBe(true);
    unlinkSync(moving);
    symlinkSync('real', moving);
    expect(hold(facts)).toBe(false);
    unlinkSync(moving);
    symlinkSync('real/deep', moving);
    expect(hold(facts)).toBe(true);
  });

  it('stop holding when a directory they went through becomes a link, or a link a directory', () => {
    const swap = join(dir, `swap-${_name.length}`);
    mkdirSync(join(swap, 'inner'), { recursive: true });
    const facts = record(() => void canonicalPath(join(swap, 'inner/x')));
    expect(hold(facts)).toBe(true);
    rmSync(swap, { recursive: true });
    symlinkSync('real/deep', swap);
    mkdirSync(join(dir, 'real/deep/inner'), { recursive: true });
    expect(hold(facts)).toBe(false);
    unlinkSync(swap);
    mkdirSync(join(swap, 'inner'), { recursive: true });
    expect(hold(facts)).toBe(true);
    // A deeper entry turned into a link: only its own fact sees it.
    rmSync(join(swap, 'inner'), { recursive: true });
    symlinkSync('/', join(swap, 'inner'));
    expect(hold(facts)).toBe(false);
  });

  it('stop holding when a probed file appears or a probed path goes', () => {
    const sub = join(dir, `probe-${_name.length}`);
    mkdirSync(sub);
    writeFileSync(join(sub, 'file'), 'x');
    const facts = record(() => {
      expect(isRegularFile(join(sub, '.sbx.yaml'))).toBe(false);
      expect(pathExists(join(sub, 'file'))).toBe(true);
    });
    expect(hold(facts)).toBe(true);
    writeFileSync(join(sub, '.sbx.yaml'), 'version: 1\n');
    expect(hold(facts)).toBe(false);
    unlinkSync(join(sub, '.sbx.yaml'));
    expect(hold(facts)).toBe(true);
    // A directory where a file was probed: still no regular file, the fact holds.
    mkdirSync(join(sub, '.sbx.yaml'));
    expect(hold(facts)).toBe(true);
    rmSync(join(sub, '.sbx.yaml'), { recursive: true });
    rmSync(join(sub, 'file'));
    expect(hold(facts)).toBe(false);
  });

  it('a link loop at the hop limit: the check answers as a fresh build of the same path (its answer does not depend on what was resolved before)', () => {
    const d = join(dir, `loop-${_name.length}`);
    mkdirSync(join(d, 'a'), { recursive: true });
    symlinkSync(d, join(d, 'r')); // r -> d
    const p = join(d, 'r/a/a');
    const facts = record(() => void canonicalPath(p));
    expect(recordBuildFacts(() => canonicalPath(p)).out).toBe(join(d, 'a/a'));
    symlinkSync(p, join(d, 'a/a')); // a/a -> r/a/a: a loop through r
    const fresh = recordBuildFacts(() => canonicalPath(p)).out;
    expect(hold(facts)).toBe(fresh === join(d, 'a/a'));
  });

  // The quick check (one stat per fact, parents' recorded values) must answer exactly as the
  // facts recomputed from scratch would: random trees of files, directories and links
  // (relative, absolute, dangling, looping), random paths recorded, random changes.
  it('answers exactly as a fresh computation of every fact, over random trees and changes', () => {
    let seed = 0x5eed + _name.length;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const names = ['a', 'b', 'c', 'l'];
    const randomPath = (root: string) => {
      const depth = 1 + rand(4);
      return join(root, ...Array.from({ length: depth }, () => names[rand(names.length)]!));
    };
    const mutate = (root: string) => {
      const p = randomPath(root);
      const what = rand(7);
      const name = () => names[rand(names.length)]!;
      try {
        rmSync(p, { recursive: true, force: true });
        if (what === 0) writeFileSync(p, '');
        else if (what === 1) mkdirSync(p);
        else if (what === 2) symlinkSync(randomPath(root), p);
        else if (what === 3) symlinkSync(name(), p);
        else if (what === 4) symlinkSync(`../${name()}`, p);
        else if (what === 5) symlinkSync(`${name()}/../${name()}`, p); // `..` after what may be a link
      } catch {
        // parent missing or not a directory: this change is a removal
      }
    };
    const fresh = (facts: ReadonlyMap<string, string>) =>
      [...facts].every(([key, was]) => {
        const path = key.slice(1);
        const now = recordBuildFacts(() => (key[0] === 'c' ? canonicalPath(path) : key[0] === 'e' ? String(+pathExists(path)) : String(+isRegularFile(path)))).out;
        return now === was;
      });
    let changed = 0;
    let agreed = 0;
    for (let round = 0; round < 30; round++) {
      // One level down: a `../x` link leads out of the tree, never out of this round's directory.
      const root = join(dir, `rand-${_name.length}-${round}`, 'r');
      mkdirSync(root, { recursive: true });
      for (let i = 0; i < 12; i++) mutate(root);
      const facts = record(() => {
        for (let i = 0; i < 6; i++) {
          canonicalPath(randomPath(root));
          pathExists(randomPath(root));
          isRegularFile(randomPath(root));
        }
      });
      expect(hold(facts)).toBe(true);
      // And canonicalPath itself agrees with the kernel wherever the kernel resolves the path.
      for (let i = 0; i < 6; i++) {
        const q = randomPath(root);
        let real: string | undefined;
        try {
          real = realpathSync.native(q);
        } catch {
          real = undefined; // dangling, looping, or a file in the middle
        }
        if (real !== undefined) expect(recordBuildFacts(() => canonicalPath(q)).out, q).toBe(real);
      }
      for (let step = 0; step < 4; step++) {
        mutate(root);
        const expected = fresh(facts);
        expect(hold(facts), `round ${round} step ${step}`).toBe(expected);
        if (!expected) changed++;
        else agreed++;
      }
    }
    // Both answers were exercised, not one of them only.
    expect(changed).toBeGreaterThan(10);
    expect(agreed).toBeGreaterThan(10);
  });
});

describe('pathKinds (native) agrees with Node fs', () => {
  it('on files, directories, links, dangling links, a fifo, a file in the middle, a NUL and an unreadable directory', () => {
    const k = join(dir, 'kinds');
    mkdirSync(join(k, 'locked/inner'), { recursive: true });
    writeFileSync(join(k, 'file'), '');
    symlinkSync('file', join(k, 'link'));
    symlinkSync('nowhere', join(k, 'dangling'));
    execFileSync('mkfifo', [join(k, 'fifo')]);
    chmodSync(join(k, 'locked'), 0o000);
    const paths = ['file', 'link', 'dangling', 'fifo', 'file/below', 'nothing', 'locked', 'locked/inner', 'a\0b', ''].map((p) => join(k, p));
    try {
      for (const follow of [false, true]) {
        const native = [...nativeKinds(paths, follow)];
        expect(native).toEqual([...nodePathKinds(paths, follow)]);
        // The kinds themselves, as documented: 1 file, 2 directory, 3 symlink, 4 other, 0 absent.
        expect(native.slice(0, 6)).toEqual(follow ? [1, 1, 0, 4, 0, 0] : [1, 3, 3, 4, 0, 0]);
      }
    } finally {
      chmodSync(join(k, 'locked'), 0o755);
    }
  });

  it('refuses what is not an array of strings and a boolean (a usage message)', () => {
    const addon = loadNative() as unknown as { pathKinds: (...a: unknown[]) => unknown };
    expect(() => addon.pathKinds(['/'])).toThrow(/pathKinds\(paths, follow\)/);
    expect(() => addon.pathKinds([1], false)).toThrow(/paths\[0\] must be a string/);
    expect(() => addon.pathKinds(['/'], 1)).toThrow(/follow must be a boolean/);
  });
});

describe('planFactsCheck', () => {
  it('one plan, checked again and again (as the caches do), sees each change to the facts and their repair', () => {
    const p = join(dir, 'planned');
    mkdirSync(join(p, 'a/b'), { recursive: true });
    writeFileSync(join(p, 'a/b/file'), '');
    const { facts } = recordBuildFacts(() => [canonicalPath(join(p, 'a/b/file')), pathExists(join(p, 'a/missing')), isRegularFile(join(p, 'a/b/file'))]);
    const plan = planFactsCheck(facts);
    for (const kinds of [nodePathKinds, nativeKinds]) {
      expect(plan.holds(kinds)).toBe(true);
      // a name on the path becomes a link (to the same place: still a changed fact)
      renameSync(join(p, 'a/b'), join(p, 'a/real-b'));
      symlinkSync('real-b', join(p, 'a/b'));
      expect(plan.holds(kinds)).toBe(false);
      rmSync(join(p, 'a/b'));
      renameSync(join(p, 'a/real-b'), join(p, 'a/b'));
      expect(plan.holds(kinds)).toBe(true);
      // a probed absence becomes a presence
      writeFileSync(join(p, 'a/missing'), '');
      expect(plan.holds(kinds)).toBe(false);
      rmSync(join(p, 'a/missing'));
      expect(plan.holds(kinds)).toBe(true);
      expect(buildFactsHold(facts, kinds)).toBe(true);
    }
  });
});

describe('planFactsCheck with directory stamps', () => {
  /** kinds that records every path it is asked about. */
  const recording = () => {
    const asked = new Set<string>();
    const kinds: PathKinds = (paths, follow) => {
      for (const p of paths) asked.add(p);
      return nativeKinds(paths, follow);
    };
    return { asked, kinds };
  };

  it('pathStamps (native) gives what lstat gives for a directory, zeros for anything else and on /proc', () => {
    const d = join(dir, 'stamps-native');
    mkdirSync(join(d, 'sub'), { recursive: true });
    writeFileSync(join(d, 'file'), '');
    symlinkSync('sub', join(d, 'link'));
    const n = loadNative().pathStamps([join(d, 'sub'), join(d, 'file'), join(d, 'link'), join(d, 'none')]);
    const st = lstatSync(join(d, 'sub'), { bigint: true });
    expect([...n.slice(0, 4)]).toEqual([st.dev, st.ino, st.mtimeNs, st.ctimeNs]);
    expect([...n.slice(4)]).toEqual(Array(12).fill(0n));
    // Not a filesystem whose directory times it trusts (/proc makes them up): zeros.
    expect([...loadNative().pathStamps(['/proc/sys'])]).toEqual([0n, 0n, 0n, 0n]);
    expect(lstatSync('/proc/sys').isDirectory()).toBe(true);
    // A directory changed within the last second is not trusted yet ('').
    expect(stampsFromNumbers(n)[0]).toBe('');
  });

  it('names in a settled directory are vouched for by its stamp; a swap to a link, even with the old mtime put back, is seen; so is its repair', async () => {
    const d = join(dir, 'stamped');
    mkdirSync(join(d, 'sub'), { recursive: true });
    for (const n of ['a', 'b', 'c']) writeFileSync(join(d, 'sub', n), '');
    mkdirSync(join(dir, 'stamped-elsewhere'), { recursive: true });
    const names = ['a', 'b', 'c', 'absent'].map((n) => join(d, 'sub', n));
    const r = recording();
    const plan = await settledPlan(names, r.kinds);
    r.asked.clear();
    expect(plan.holds(r.kinds)).toBe(true);
    expect(names.filter((p) => r.asked.has(p))).toEqual([]); // vouched for: not one lstat
    expect(nativeStamps.of([join(d, 'sub')])[0]).not.toBe('');

    // b becomes a link elsewhere, and the directory's mtime is put back as it was.
    const before = lstatSync(join(d, 'sub'), { bigint: true });
    renameSync(join(d, 'sub', 'b'), join(d, 'b.old'));
    symlinkSync(join(dir, 'stamped-elsewhere'), join(d, 'sub', 'b'));
    const ns = before.mtimeNs;
    execFileSync('touch', ['-m', '-d', `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`, join(d, 'sub')]);
    expect(lstatSync(join(d, 'sub'), { bigint: true }).mtimeNs).toBe(ns);
    await new Promise((r) => setTimeout(r, 1100)); // settled again: only its ctime tells
    r.asked.clear();
    expect(plan.holds(r.kinds)).toBe(false);
    expect(r.asked.has(join(d, 'sub', 'b'))).toBe(true);

    // Repaired: holds again (looked at name by name now: the stamp moved).
    rmSync(join(d, 'sub', 'b'));
    renameSync(join(d, 'b.old'), join(d, 'sub', 'b'));
    expect(plan.holds(r.kinds)).toBe(true);
    // Twin: an unrelated new name in the directory changes the stamp, not the answer.
    writeFileSync(join(d, 'sub', 'unrelated'), '');
    expect(plan.holds(r.kinds)).toBe(true);
  });

  it('a directory changed within the last second when planned is not stamped: its names are looked at each time', () => {
    const d = join(dir, 'fresh-dir');
    mkdirSync(d, { recursive: true });
    for (const n of ['a', 'b', 'c']) writeFileSync(join(d, n), '');
    const names = ['a', 'b', 'c'].map((n) => join(d, n));
    const { facts } = recordBuildFacts(() => names.map((p) => canonicalPath(p)));
    const r = recording();
    const plan = planFactsCheck(facts, nativeStamps, r.kinds);
    r.asked.clear();
    expect(plan.holds(r.kinds)).toBe(true);
    expect(names.every((p) => r.asked.has(p))).toBe(true);
  });
});

// Root only (mounts): the supervisor's own mount table, as a program outside could change it.
describe.skipIf(process.getuid?.() !== 0)('directory stamps and mounts (root)', () => {
  /** Mounts the symlink `link` over `name` (open_tree + move_mount: mount(8) follows links). */
  const mountLink = (link: string, name: string) =>
    execFileSync('python3', ['-c', `import ctypes,sys; l=ctypes.CDLL(None,use_errno=True)
fd=l.syscall(428,-100,sys.argv[1].encode(),1|0x100|0o2000000)
assert fd>=0, ctypes.get_errno()
assert l.syscall(429,fd,b"",-100,sys.argv[2].encode(),4)==0, ctypes.get_errno()`, link, name]);
  const unmount = (name: string) => execFileSync('python3', ['-c', `import ctypes,sys; ctypes.CDLL(None).umount2(sys.argv[1].encode(), 2|8)`, name]);

  it('a symlink mounted over a name in a stamped directory leaves its times alone: seen all the same (the mount table moved); unmounted, it holds again', async () => {
    const d = join(dir, 'mounted');
    mkdirSync(join(d, 'p'), { recursive: true });
    mkdirSync(join(d, 'q'), { recursive: true });
    for (const n of ['s', 'e', 'f']) writeFileSync(join(d, 'p', n), '');
    writeFileSync(join(d, 'q', 'secret'), '');
    symlinkSync(join(d, 'q', 'secret'), join(d, 'link'));
    const plan = await settledPlan(['s', 'e', 'f'].map((n) => join(d, 'p', n)));
    expect(plan.holds(nativeKinds)).toBe(true);
    const before = lstatSync(join(d, 'p'), { bigint: true });
    mountLink(join(d, 'link'), join(d, 'p', 's'));
    try {
      expect(lstatSync(join(d, 'p', 's')).isSymbolicLink()).toBe(true);
      const after = lstatSync(join(d, 'p'), { bigint: true });
      expect([after.mtimeNs, after.ctimeNs]).toEqual([before.mtimeNs, before.ctimeNs]); // the directory's stamp did not move
      expect(plan.holds(nativeKinds)).toBe(false);
    } finally {
      unmount(join(d, 'p', 's'));
    }
    expect(plan.holds(nativeKinds)).toBe(true);
  });

  it('btrfs is not stamped: a snapshot put in place of a subvolume brings back its directory with the same dev, ino, mtime and ctime, a name in it now a link (no mount)', async (ctx) => {
    const d = join(dir, 'btrfs');
    const img = join(dir, 'btrfs.img');
    const mnt = join(d, 'mnt');
    mkdirSync(mnt, { recursive: true });
    try {
      execFileSync('sh', ['-c', `truncate -s 320M ${img} && mkfs.btrfs -q -f ${img} >/dev/null && mount -o loop ${img} ${mnt}`], { stdio: 'pipe' });
    } catch (e) {
      return ctx.skip(`not applicable: no btrfs filesystem to try it on (${String((e as Error).message).split('\n')[0]})`);
    }
    try {
      writeFileSync(join(mnt, 'secret'), '');
      execFileSync('btrfs', ['subvolume', 'create', join(mnt, 'A')], { stdio: 'ignore' });
      mkdirSync(join(mnt, 'A/P'));
      for (const n of ['e', 'f', 'x']) writeFileSync(join(mnt, 'A/P', n), '');
      symlinkSync(join(mnt, 'secret'), join(mnt, 'A/P/y'));
      execFileSync('btrfs', ['subvolume', 'snapshot', join(mnt, 'A'), join(mnt, 'B')], { stdio: 'ignore' });
      // In one clock tick: A/P gets a plain s, B/P (same inode) an s that is a link.
      execFileSync('python3', ['-c', `import os,sys; os.rename(sys.argv[1]+'/A/P/x', sys.argv[1]+'/A/P/s'); os.rename(sys.argv[1]+'/B/P/y', sys.argv[1]+'/B/P/s')`, mnt]);
      const plan = await settledPlan(['s', 'e', 'f'].map((n) => join(mnt, 'A/P', n)));
      expect(plan.holds(nativeKinds)).toBe(true);
      const was = lstatSync(join(mnt, 'A/P'), { bigint: true });
      execFileSync('sh', ['-c', `rm -rf ${mnt}/A/P && btrfs subvolume delete -c ${mnt}/A >/dev/null && btrfs subvolume snapshot ${mnt}/B ${mnt}/A >/dev/null`]);
      const now = lstatSync(join(mnt, 'A/P'), { bigint: true });
      expect(lstatSync(join(mnt, 'A/P/s')).isSymbolicLink()).toBe(true);
      // What makes it a test of the stamp: the directory is back with the identity and times it had.
      if ([now.dev, now.ino, now.mtimeNs, now.ctimeNs].join() !== [was.dev, was.ino, was.mtimeNs, was.ctimeNs].join())
        return ctx.skip('not applicable: the snapshot did not bring back the same device number and times here');
      expect(plan.holds(nativeKinds)).toBe(false);
    } finally {
      execFileSync('sh', ['-c', `umount -l ${mnt}; rm -f ${img}`]);
    }
  });

  it('overlayfs is not stamped (a merged directory shows its upper layer times: a lower-layer change moves none)', () => {
    const d = join(dir, 'ovl');
    for (const s of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(d, s), { recursive: true });
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${join(d, 'lower')},upperdir=${join(d, 'upper')},workdir=${join(d, 'work')}`, join(d, 'merged')]);
    try {
      expect([...loadNative().pathStamps([join(d, 'merged')])]).toEqual([0n, 0n, 0n, 0n]);
      expect([...loadNative().pathStamps([join(d, 'lower')])]).not.toEqual([0n, 0n, 0n, 0n]); // twin: the ext4/tmpfs directory beside it
    } finally {
      execFileSync('umount', [join(d, 'merged')]);
    }
  });
});
