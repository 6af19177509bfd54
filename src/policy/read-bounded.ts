/**
 * Files the supervisor reads on its one JavaScript thread that a sandboxed program can write
 * or name (a project's `.sbx.yaml`, a file named to `sbx trust` from inside, a repository's
 * git files) are read up to a bound: a 150 MB policy file held the supervisor for minutes, and
 * every session with it (their `cd`s, new terminals, `sbx exec`). Read with readSync up to
 * the bound, so a file that grows while it is read cannot take more either.
 */
import { closeSync, constants as fsc, fstatSync, openSync, readSync } from 'node:fs';

/** Thrown for a file past the bound; `code` as for fs errors. */
export class FileTooLargeError extends Error {
  readonly code = 'EFBIG';
  constructor(readonly path: string, readonly limit: number) {
    super(`larger than ${limit / 1024} KiB, more than such a file can need: '${path}'`);
  }
}

/** The text of the regular file open as `fd`, at most `limit` bytes (else FileTooLargeError). */
export function readFdBounded(fd: number, path: string, limit: number): string {
  if (fstatSync(fd).size > limit) throw new FileTooLargeError(path, limit);
  const buf = Buffer.alloc(limit + 1);
  let got = 0;
  for (;;) {
    const n = readSync(fd, buf, got, buf.length - got, null);
    if (n === 0) break;
    got += n;
    if (got > limit) throw new FileTooLargeError(path, limit);
  }
  return buf.subarray(0, got).toString('utf8');
}

/**
 * A regular file's text, at most `limit` bytes. Opened without blocking (a FIFO would hold the
 * thread in open()), then refused unless it is a regular file (a device such as /dev/zero
 * never ends).
 */
export function readRegularBounded(path: string, limit: number): string {
  const fd = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw Object.assign(new Error(`not a regular file: '${path}'`), { code: 'ENOTREG' });
    return readFdBounded(fd, path, limit);
  } finally {
    closeSync(fd);
  }
}
