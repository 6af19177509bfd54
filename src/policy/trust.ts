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
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SbxError } from '../errors.js';
import { placeOf } from './expand.js';
import { readOwnFile, writeOwnFile } from './own-files.js';
import { trustFile, type Env } from './paths.js';

interface TrustDb {
  version: 1;
  files: Record<string, { sha256: string; trustedAt: string }>;
  /**
   * Policy files the user named (`sbx exec --policy FILE`, direnv's `use sandbox FILE`): not
   * trusted by content (naming one is the trust), but a floor in every sandbox from then on,
   * like the trusted ones — one that only its own session protected was rewritten from
   * another (`mode: audit`), and the user's next run took it.
   */
  named?: Record<string, { namedAt: string; sha256?: string }>;
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

/** Every file the user trusted or named (their places): a write floor in every sandbox (compose.ts). */
export function trustedPaths(env: Env = process.env): string[] {
  const db = readDb(env);
  return [...Object.keys(db.files), ...Object.keys(db.named ?? {})];
}

/**
 * Records policy files the user named (see TrustDb.named); writes the db only for a new one.
 * A db that cannot be written is said by the caller's build, never fatal: the file is still
 * protected in the session it is in force in.
 */
export function recordNamedPolicyFiles(files: string[], env: Env = process.env): void {
  const db = readDb(env);
  const named = { ...(db.named ?? {}) };
  const fresh = files.filter((f) => !(trustPlace(f) in named));
  if (fresh.length === 0) return;
  for (const f of fresh) named[trustPlace(f)] = { namedAt: new Date().toISOString(), ...contentHash(f) };
  writeDb({ ...db, named }, env);
}

function contentHash(file: string): { sha256?: string } {
  try {
    return { sha256: createHash('sha256').update(readFileSync(file)).digest('hex') };
  } catch {
    return {};
  }
}

/**
 * A `--policy FILE` the user runs with: trusted as named the first time, and afterwards while
 * its content is what it was then (or what `sbx trust FILE` approved). Changed since — by the
 * user, or by a program in a sandbox that ran before it was named, or through a hard link —
 * it can only narrow until `sbx trust FILE`: a sandbox's `mode: audit` is not taken.
 */
export function namedContentHolds(file: string, sha256: string, env: Env = process.env): boolean {
  const db = readDb(env);
  const place = trustPlace(file);
  const named = db.named?.[place];
  if (db.files[place]?.sha256 === sha256) return true;
  return named === undefined || named.sha256 === undefined || named.sha256 === sha256;
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

/** Returns false when the file was neither trusted nor named (its protection ends too). */
export function untrust(projectFile: string, env: Env = process.env): boolean {
  const db = readDb(env);
  const key = trustPlace(projectFile);
  if (!(key in db.files) && !(key in (db.named ?? {}))) return false;
  delete db.files[key];
  if (db.named) delete db.named[key];
  writeDb(db, env);
  return true;
}

/**
 * recordNamedPolicyFiles for one file a build was given, as its callers need it: undefined, or
 * a warning when the db could not record it.
 */
export function noteNamedPolicyFile(file: string, env: Env = process.env): string | undefined {
  try {
    recordNamedPolicyFiles([file], env);
    return undefined;
  } catch (err) {
    return `${file} is protected in this sandbox only: ${(err as Error).message}`;
  }
}
