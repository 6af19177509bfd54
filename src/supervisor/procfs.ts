/**
 * The few /proc facts the supervisor trusts (rather than what a hook claims): a process's
 * start time (to tell a reused pid), its parent, children and real cwd.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: fields start after the last ')'.
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Start time in clock ticks since boot (field 22), or undefined when the process is gone. */
export function startTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

export function parentPid(pid: number): number | undefined {
  const f = statFields(pid);
  return f ? Number(f[1]) : undefined;
}

export function isAlive(pid: number, start?: string): boolean {
  const s = startTime(pid);
  return s !== undefined && (start === undefined || s === start);
}

/** Direct children of every thread of pid. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ')) if (c.trim()) out.push(Number(c));
    } catch {
      // thread exited meanwhile
    }
  }
  return out;
}

export function cwdOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

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
