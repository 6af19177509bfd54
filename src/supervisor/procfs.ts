/**
 * The few /proc facts the supervisor reads itself. Which process runs under which policy
 * is the native engine's alone (native/unotify/src/addon/procs.h).
 */
import { readlinkSync } from 'node:fs';

/** The terminal on the process's stdin, if it is one. */
export function ttyOf(pid: number): string | undefined {
  try {
    const t = readlinkSync(`/proc/${pid}/fd/0`);
    return t.startsWith('/dev/pts/') || t.startsWith('/dev/tty') ? t : undefined;
  } catch {
    return undefined;
  }
}

/** Resident set size of this process in bytes. */
export function selfRss(): number {
  return process.memoryUsage.rss();
}
