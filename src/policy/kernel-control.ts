/**
 * Where the kernel's process controls live as files: sysfs and the cgroup filesystems. A
 * cgroup's `cgroup.kill` kills every process in it (no check of who may signal whom),
 * `cgroup.freeze` stops them, a write to `cgroup.procs` moves one, a new directory is a new
 * cgroup. On a systemd desktop the user's whole subtree (every terminal's scope, the
 * supervisor's too) is delegated to the user, so these files are theirs: from inside they
 * would reach processes outside the sandbox. They are a built-in write floor (compose.ts):
 * `/sys`, and every sysfs or cgroup mount found elsewhere (a container's, a bind mount).
 */
import { readFileSync } from 'node:fs';

const CONTROL_FS = new Set(['sysfs', 'cgroup', 'cgroup2']);

/** Mount points of sysfs and the cgroup filesystems in `mountinfo` (proc(5) format), `/sys` first. */
export function kernelControlPaths(mountinfo = readMountinfo()): string[] {
  const out = new Set<string>(['/sys']);
  for (const line of mountinfo.split('\n')) {
    // "id parent maj:min root mountpoint options [optional...] - fstype source superoptions"
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0] ?? '';
    const point = line.slice(0, sep).split(' ')[4];
    if (point && CONTROL_FS.has(fstype)) out.add(unescapeMountPath(point));
  }
  return [...out];
}

function readMountinfo(): string {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return ''; // not Linux (macOS profiles): /sys alone
  }
}

/** mountinfo writes space, tab, newline and backslash as octal escapes (\040 …). */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}
