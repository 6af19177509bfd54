// The team rebuilds dist/ and native/ in this tree while the bench runs; a half-written
// dist/ made sbx fail at random. So the bench measures a frozen copy of the built sbx
// (bin, dist, native build, shells) taken once, checked to be stable, under bench/work/.
import fs from 'node:fs';
import path from 'node:path';
import { REPO, WORK } from './paths.mjs';
import { run, tryRun } from './proc.mjs';

export const SNAPSHOT = path.join(WORK, 'sbx-build');
const PARTS = ['bin', 'dist', 'shells', 'package.json', 'direnvrc.sh', path.join('native', 'unotify', 'build', 'Release')];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function copy(dest) {
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  for (const p of PARTS) {
    const from = path.join(REPO, p);
    if (!fs.existsSync(from)) continue;
    fs.mkdirSync(path.dirname(path.join(dest, p)), { recursive: true });
    fs.cpSync(from, path.join(dest, p), { recursive: true, filter: (f) => !f.includes(`${path.sep}obj.target`) });
  }
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dest, 'node_modules'));
}

/** Copies the built sbx until two copies a few seconds apart agree and it runs. Returns a description. */
export async function snapshotSbx() {
  const other = `${SNAPSHOT}.check`;
  for (let attempt = 1; attempt <= 10; attempt++) {
    copy(SNAPSHOT);
    await sleep(3000);
    copy(other);
    const same = tryRun(['diff', '-rq', '--no-dereference', SNAPSHOT, other]).ok;
    fs.rmSync(other, { recursive: true, force: true });
    if (same && tryRun([path.join(SNAPSHOT, 'bin', 'sbx'), '--version'], { timeoutMs: 60_000 }).ok) {
      const rev = run(['git', '-C', REPO, 'rev-parse', '--short', 'HEAD']).trim();
      const dirty = run(['git', '-C', REPO, 'status', '--porcelain', '--untracked-files=no', '--', 'src', 'native', 'bin']).trim() ? ' + uncommitted changes' : '';
      const built = new Date(fs.statSync(path.join(REPO, 'dist', 'cli', 'main.js')).mtimeMs).toISOString();
      return `built tree at ${rev}${dirty}, dist/ built ${built}`;
    }
    await sleep(5000); // a build was in progress: try again
  }
  throw new Error('could not take a stable copy of the built sbx (dist/ kept changing)');
}
