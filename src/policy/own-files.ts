/**
 * sbx's own files — the user config, the trust db, the last good versions of policy
 * files — are read and written without following a symlink anywhere on their path, and
 * only when every directory on the way and the file itself belong to root or to this
 * user. A sandboxed program that managed to plant a link (say `~/.config` → a directory
 * it controls, when `~/.config` did not exist) must not get its own `config.yaml` read as
 * the user's policy.
 *
 * Linux: each component is opened relative to the previous one (/proc/self/fd/N/name)
 * with O_NOFOLLOW, the equivalent of openat2's RESOLVE_NO_SYMLINKS, so nothing can be
 * swapped between the check and the use. A symlink is tolerated only where this user
 * could not have made it: owned by root inside a root-owned directory, and only when sbx
 * does not run as root (e.g. /home → /usr/home). Elsewhere (no /proc): lstat per component.
 */
import { closeSync, constants as C, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export class UnsafePathError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

const uid = () => (typeof process.getuid === 'function' ? process.getuid() : 0);
const procFd = () => existsSync('/proc/self/fd');

function ownerOk(statUid: number): boolean {
  return statUid === 0 || statUid === uid() || statUid === unmappedUid();
}

let unmapped: number | undefined | null = null;
/**
 * Inside a user namespace (`unshare -r`), files of owners the namespace does not map — root
 * outside included — show as the overflow uid (65534): taken as root there. In the initial
 * namespace nothing is unmapped, and that uid is an ordinary user's.
 */
function unmappedUid(): number | undefined {
  if (unmapped !== null) return unmapped;
  unmapped = undefined;
  try {
    const map = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
    const initial = map.length === 3 && map[0] === '0' && map[1] === '0' && map[2] === '4294967295';
    if (!initial) unmapped = Number(readFileSync('/proc/sys/kernel/overflowuid', 'utf8').trim()) || 65534;
  } catch {
    // no /proc: nothing is taken as root
  }
  return unmapped;
}

function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * Opens the directory `dir` (absolute) component by component. Returns an fd, or
 * undefined when a component is missing (and `create` is false). Throws UnsafePathError.
 */
function openDir(dir: string, create: boolean): number | undefined {
  let fd = openSync('/', C.O_RDONLY | C.O_DIRECTORY);
  let at = '';
  try {
    for (const c of components(dir)) {
      if (c === '..') throw new UnsafePathError(dir, `${dir}: '..' in the path of an sbx file`);
      const next = `/proc/self/fd/${fd}/${c}`;
      const parentUid = fstatSync(fd).uid;
      at = `${at}/${c}`;
      let nfd: number;
      try {
        nfd = openSync(next, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && create) {
          mkdirSync(next, { mode: 0o700 });
          nfd = openSync(next, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
        } else if (code === 'ENOENT') {
          return undefined;
        } else if (code === 'ELOOP' || code === 'ENOTDIR') {
          const st = lstatSync(next);
          if (!st.isSymbolicLink()) throw new UnsafePathError(dir, `${at} is not a directory`);
          if (uid() === 0 || st.uid !== 0 || parentUid !== 0)
            throw new UnsafePathError(dir, `${at} is a symbolic link: sbx reads its own config and state only through real directories (point XDG_CONFIG_HOME / XDG_STATE_HOME at the real place)`);
          nfd = openSync(next, C.O_RDONLY | C.O_DIRECTORY);
        } else throw err;
      }
      closeSync(fd);
      fd = nfd;
      const st = fstatSync(fd);
      if (!ownerOk(st.uid)) throw new UnsafePathError(dir, `${at} belongs to uid ${st.uid}, not to you or root`);
    }
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

function lstatWalk(path: string): boolean {
  let at = '';
  for (const c of components(path)) {
    at = `${at}/${c}`;
    const st = lstatSync(at, { throwIfNoEntry: false });
    if (!st) return false;
    if (st.isSymbolicLink()) throw new UnsafePathError(path, `${at} is a symbolic link: sbx reads its own config and state only through real directories`);
    if (!ownerOk(st.uid)) throw new UnsafePathError(path, `${at} belongs to uid ${st.uid}, not to you or root`);
  }
  return true;
}

/** The content of one of sbx's own files; undefined when it does not exist. Throws UnsafePathError. */
export function readOwnFile(path: string): string | undefined {
  if (!procFd()) return lstatWalk(path) ? readFileSync(path, 'utf8') : undefined;
  const dfd = openDir(dirname(path), false);
  if (dfd === undefined) return undefined;
  try {
    let fd: number;
    try {
      fd = openSync(`/proc/self/fd/${dfd}/${path.slice(path.lastIndexOf('/') + 1)}`, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'ELOOP') throw new UnsafePathError(path, `${path} is a symbolic link: sbx reads its own files only when they are real files`);
      throw err;
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new UnsafePathError(path, `${path} is not a regular file`);
      if (!ownerOk(st.uid)) throw new UnsafePathError(path, `${path} belongs to uid ${st.uid}, not to you or root`);
      return readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } finally {
    closeSync(dfd);
  }
}

/** Writes one of sbx's own files atomically (mode 0600), creating its directories (0700). */
export function writeOwnFile(path: string, text: string): void {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (!procFd()) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    lstatWalk(dirname(path));
    const tmp = `${path}.${process.pid}.tmp`;
    const fd = openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_TRUNC | C.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    return;
  }
  const dfd = openDir(dirname(path), true)!;
  try {
    const base = `/proc/self/fd/${dfd}/`;
    const tmp = `.${name}.${process.pid}.tmp`;
    try {
      unlinkSync(base + tmp);
    } catch {
      // none left over
    }
    const fd = openSync(base + tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    renameSync(base + tmp, base + name);
  } finally {
    closeSync(dfd);
  }
}
