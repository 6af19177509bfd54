/**
 * Trust by content hash (like `direnv allow`): $XDG_STATE_HOME/sbx/trust.json maps a
 * policy file's place (a project's `.sbx.yaml`, or any file direnv's `use sandbox FILE`
 * names) to the sha256 of the content the user approved. Any edit changes the hash and the
 * file is untrusted again. The place is the file's own: its directory canonical, the file
 * itself not followed. A link is trusted only where it is (a cloned repository shipping
 * `.sbx.yaml -> ../mine/.sbx.yaml` would otherwise get another project's trusted rules,
 * its relative entries applied to itself). The db is read and written without
 * following symlinks (own-files.ts): one that cannot be read safely trusts nothing.
 */
import { SbxError } from '../errors.js';
import { placeOf } from './expand.js';
import { readOwnFile, writeOwnFile } from './own-files.js';
import { trustFile, type Env } from './paths.js';

interface TrustDb {
  version: 1;
  files: Record<string, { sha256: string; trustedAt: string }>;
}

function readDb(env: Env): TrustDb {
  const file = trustFile(env);
  let text: string | undefined;
  try {
    text = readOwnFile(file);
  } catch {
    text = undefined;
  }
  if (text === undefined) return { version: 1, files: {} };
  try {
    const db = JSON.parse(text) as TrustDb;
    if (db && db.version === 1 && typeof db.files === 'object' && db.files !== null) return db;
  } catch {
    // fall through
  }
  // A corrupt db trusts nothing (fail closed) but says so when someone tries to change it.
  return { version: 1, files: {} };
}

function writeDb(db: TrustDb, env: Env): void {
  const file = trustFile(env);
  try {
    writeOwnFile(file, `${JSON.stringify(db, null, 2)}\n`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SbxError(`cannot write the trust db ${file} (${code ?? (err as Error).message})`, {
      hint:
        code === 'EACCES' || code === 'EPERM'
          ? 'the sandbox protects it: run `sbx trust` from a terminal outside the sandbox'
          : undefined,
      cause: err,
    });
  }
}

/** Where a policy file is, as the trust db names it: its canonical directory + its own name (not followed). */
export function trustPlace(file: string): string {
  return placeOf(file);
}

/** Every file the user trusted (their places): a write floor in every sandbox (compose.ts). */
export function trustedPaths(env: Env = process.env): string[] {
  return Object.keys(readDb(env).files);
}

/** Whether this exact content of the project file was trusted. */
export function isTrusted(projectFile: string, sha256: string, env: Env = process.env): boolean {
  return readDb(env).files[trustPlace(projectFile)]?.sha256 === sha256;
}

export function trust(projectFile: string, sha256: string, env: Env = process.env): void {
  const db = readDb(env);
  db.files[trustPlace(projectFile)] = { sha256, trustedAt: new Date().toISOString() };
  writeDb(db, env);
}

/** Returns false when the file was not trusted. */
export function untrust(projectFile: string, env: Env = process.env): boolean {
  const db = readDb(env);
  const key = trustPlace(projectFile);
  if (!(key in db.files)) return false;
  delete db.files[key];
  writeDb(db, env);
  return true;
}
