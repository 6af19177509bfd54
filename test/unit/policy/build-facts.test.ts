/**
 * What a policy build reads from the filesystem besides its files (src/policy/expand.ts): the
 * canonical form of each path, existence probes. canonicalPath resolves each directory once
 * (parent memoised) and must agree with the kernel's realpath; the recorded facts must stop
 * holding as soon as any of them changes (the exec policy cache relies on it).
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFactsHold, canonicalPath, isRegularFile, pathExists, recordBuildFacts } from '../../../src/policy/expand.js';

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
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('canonicalPath', () => {
  it('agrees with realpath on every existing path, through relative, absolute, chained and upward links', () => {
    const paths = ['real', 'real/deep/file', 'rel', 'rel/deep/file', 'abs/file', 'chain/er', 'chain/er/up/deep/file', 'real/deep/er/up/deep/er'];
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

  it('a path that does not exist: the existing prefix resolved, the rest as written; a dangling link followed', () => {
    expect(canonicalPath(join(dir, 'chain/not/there'))).toBe(join(dir, 'real/deep/not/there'));
    expect(canonicalPath(join(dir, 'dangling/x'))).toBe(join(dir, 'nowhere/yet/x'));
    expect(canonicalPath(join(dir, 'real/deep/file/below'))).toBe(join(dir, 'real/deep/file/below'));
  });
});

describe('a build\'s facts', () => {
  const record = async (fn: () => void) => {
    return recordBuildFacts(fn).facts;
  };

  it('hold while nothing changes; stop holding when a link they went through is pointed elsewhere', async () => {
    symlinkSync('real/deep', join(dir, 'moving'));
    const facts = await record(() => void canonicalPath(join(dir, 'moving/er')));
    expect(buildFactsHold(facts)).toBe(true);
    unlinkSync(join(dir, 'moving'));
    symlinkSync('real', join(dir, 'moving'));
    expect(buildFactsHold(facts)).toBe(false);
    unlinkSync(join(dir, 'moving'));
    symlinkSync('real/deep', join(dir, 'moving'));
    expect(buildFactsHold(facts)).toBe(true);
  });

  it('stop holding when a probed file appears or a probed path goes', async () => {
    const facts = await record(() => {
      expect(isRegularFile(join(dir, 'real/.sbx.yaml'))).toBe(false);
      expect(pathExists(join(dir, 'real/deep/file'))).toBe(true);
    });
    expect(buildFactsHold(facts)).toBe(true);
    writeFileSync(join(dir, 'real/.sbx.yaml'), 'version: 1\n');
    expect(buildFactsHold(facts)).toBe(false);
    unlinkSync(join(dir, 'real/.sbx.yaml'));
    expect(buildFactsHold(facts)).toBe(true);
    rmSync(join(dir, 'real/deep/file'));
    expect(buildFactsHold(facts)).toBe(false);
  });
});
