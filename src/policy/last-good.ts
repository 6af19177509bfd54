/**
 * The last good version of each policy file: when a file breaks (a YAML typo, an unknown
 * key, a bad entry), the version that last compiled stays in force — for that file only,
 * across leaving and re-entering its directory and across supervisor restarts. Kept in
 * $XDG_STATE_HOME/sbx/last-good/ (a floor: nothing inside a sandbox can write it), one
 * JSON file per policy file, named by the sha256 of its path. The supervisor records;
 * `sbx check` / `sbx policy` only read, so they explain what a session enforces.
 * A version holds only while its file's directory is the same directory (device, inode, birth):
 * another repository cloned where a trusted project was, with a broken file, must not run
 * under that project's last good policy.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readOwnFile, writeOwnFile } from './own-files.js';
import { stateDir, type Env } from './paths.js';

export interface GoodVersion {
  text: string;
  sha256: string;
}

export interface LastGoodStore {
  get(file: string): GoodVersion | undefined;
  /** Records `text` as the last good version of `file` (a read-only store ignores it). */
  put(file: string, text: string, sha256: string): void;
}

interface Record {
  v: 1;
  file: string;
  /** The directory holding the file, as `dev:ino:birth` when the version was recorded. */
  dir: string;
  sha256: string;
  text: string;
  savedAt: string;
}

/**
 * The identity of the directory holding `file`, or undefined when it is gone: device, inode
 * and birth time (ext4 hands a freed inode number to the next directory made: `rm -rf p; git
 * clone … p` gets the same one).
 */
function dirIdentity(file: string): string | undefined {
  try {
    const st = statSync(dirname(file), { bigint: true });
    return `${st.dev}:${st.ino}:${st.birthtimeNs}`;
  } catch {
    return undefined;
  }
}

export function lastGoodDir(env: Env): string {
  return join(stateDir(env), 'last-good');
}

function recordPath(env: Env, file: string): string {
  return join(lastGoodDir(env), `${createHash('sha256').update(file).digest('hex').slice(0, 40)}.json`);
}

/** The state-dir store; `writable` for the supervisor, read-only for the CLI. */
export function stateLastGood(env: Env, writable: boolean, onError?: (message: string) => void): LastGoodStore {
  const memo = new Map<string, { found: GoodVersion | undefined; dir: string | undefined }>();
  return {
    get(file) {
      const dir = dirIdentity(file);
      if (dir === undefined) return undefined;
      const hit = memo.get(file);
      if (hit) return hit.dir === dir ? hit.found : undefined;
      let found: GoodVersion | undefined;
      let recorded: string | undefined;
      try {
        const text = readOwnFile(recordPath(env, file));
        const r = text === undefined ? undefined : (JSON.parse(text) as Partial<Record>);
        const ok = r && r.v === 1 && r.file === file && typeof r.text === 'string' && typeof r.sha256 === 'string' && typeof r.dir === 'string';
        if (ok && createHash('sha256').update(r.text!).digest('hex') === r.sha256) {
          found = { text: r.text!, sha256: r.sha256! };
          recorded = r.dir;
        }
      } catch (err) {
        onError?.(`last good version of ${file} unreadable: ${(err as Error).message}`);
      }
      // Only the writable store may memoise: the supervisor is the only writer.
      if (writable) memo.set(file, { found, dir: recorded });
      return recorded === dir ? found : undefined;
    },
    put(file, text, sha256) {
      const dir = dirIdentity(file);
      if (!writable || dir === undefined) return;
      const hit = memo.get(file);
      if (hit?.found?.sha256 === sha256 && hit.dir === dir) return;
      const rec: Record = { v: 1, file, dir, sha256, text, savedAt: new Date().toISOString() };
      try {
        writeOwnFile(recordPath(env, file), `${JSON.stringify(rec)}\n`);
        memo.set(file, { found: { text, sha256 }, dir });
      } catch (err) {
        onError?.(`cannot record the last good version of ${file}: ${(err as Error).message}`);
      }
    },
  };
}

/** A store in memory only (tests). */
export function memoryLastGood(): LastGoodStore & { versions: Map<string, GoodVersion> } {
  const versions = new Map<string, GoodVersion>();
  return {
    versions,
    get: (file) => versions.get(file),
    put: (file, text, sha256) => void versions.set(file, { text, sha256 }),
  };
}
