/**
 * The few /proc facts the supervisor reads itself. Which process runs under which policy
 * is the native engine's alone (native/unotify/src/addon/procs.h).
 */
import { readFileSync, readlinkSync } from 'node:fs';

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
/**
 * Start time in clock ticks since boot (field 22), or undefined when the process is gone:
 * with the pid, what tells one shell process from a later one reusing its pid (notices).
 */
export function startTime(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: fields start after the last ')'.
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Where a process is now (its cwd), if it is still there. */
export function cwdOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

/** Fields 5–8 of /proc/<pid>/stat: process group, session, controlling tty (device number, 0 = none), its foreground group. */
export function ttyFacts(pid: number): { pgrp: number; session: number; ttyNr: number; tpgid: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { pgrp: Number(f[2]), session: Number(f[3]), ttyNr: Number(f[4]), tpgid: Number(f[5]) };
  } catch {
    return undefined;
  }
}

/** The device path of a tty number (new_encode_dev form) for ptys and virtual consoles; undefined otherwise. */
export function ttyPath(ttyNr: number): string | undefined {
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `/dev/pts/${(major - 136) * 256 + minor}`;
  if (major === 4 && minor < 64) return `/dev/tty${minor}`;
  return undefined;
}

export function selfRss(): number {
  try {
    return process.memoryUsage.rss();
  } catch {
    return 0; // it reads /proc, which fails when the supervisor is out of fds: status still answers
  }
}

/** The parent pid of pid (the PPid: line of /proc/<pid>/status), or undefined when it is gone. */
export function parentOf(pid: number): number | undefined {
  try {
    const m = /^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
