// The sandboxes compared side by side. Each column is a command prefix; the workload runs
// inside it under bin/timeit, so a column's one-time start-up is measured separately (launch).
// Policies are kept comparable: reads open except secrets, writes to bench/work and /tmp, no network.
import fs from 'node:fs';
import path from 'node:path';
import { BIN, HOME, MISE, SBX, SRT, SRT_SETTINGS, WORK } from './paths.mjs';
import { tryRun } from './proc.mjs';

const writable = [`--allow-write=${WORK}`, '--allow-write=/tmp'];

export const COLUMNS = [
  { id: 'none', label: 'unsandboxed', prefix: () => [] },
  // Not a sandbox: the least any user-notify sandbox that emulates opens crash-safely and
  // decides execs pays on a workload (bench/c/min_unotify.c: openat answered by the two-step
  // injection, execve/execveat CONTINUE, synchronous wake-ups, no policy).
  { id: 'min-floor', label: 'floor: min C loop', prefix: () => [path.join(BIN, 'min_unotify'), '-m', 'addfd-then-send', '-s', '-x', '--'] },
  { id: 'sbx-shell', label: 'sbx session', prefix: () => [SBX, 'shell', '--'] },
  { id: 'sbx-exec', label: 'sbx exec', prefix: () => [SBX, 'exec', '--deny-net', ...writable, '--'] },
  { id: 'mise', label: 'mise x --deny-net --allow-write', prefix: () => [MISE, 'x', '--deny-net', ...writable, '--'] },
  { id: 'srt', label: 'srt', prefix: () => [SRT, '--settings', SRT_SETTINGS, '--'] },
  {
    id: 'bwrap',
    label: 'bwrap',
    prefix: () => ['bwrap', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--bind', WORK, WORK,
      '--bind', '/tmp', '/tmp', '--unshare-net', '--unshare-pid', '--die-with-parent', '--'],
  },
];

/** The floor for a user-notify sandbox (bench/c/min_unotify.c): traps openat, answers CONTINUE. */
export const MIN_UNOTIFY = { id: 'min-unotify', label: 'min C user-notify loop', prefix: () => [path.join(BIN, 'min_unotify'), '--'] };

/**
 * The same C supervisor answering openat the ways an emulating sandbox must (min_unotify -m):
 * each adds one piece of sbx's work, so the per-syscall section can show the floor of each.
 * They run in the per-syscall section (and the profile) whenever min-unotify does.
 */
const minMode = (id, mode, label, step) => ({ id, mode, label, step, prefix: () => [path.join(BIN, 'min_unotify'), '-m', mode, '--'] });
export const MIN_VARIANTS = [
  minMode('min-addfd-send', 'addfd-send', 'min C loop, one-step injection',
    'supervisor reads the path, opens the file, injects it with ADDFD|FLAG_SEND (one ioctl)'),
  minMode('min-addfd-then-send', 'addfd-then-send', 'min C loop, two-step injection',
    'same, but ADDFD then SEND with the fd number, as sbx does (crash-safe; wakes the tracee twice)'),
  minMode('min-emulate', 'emulate-full', 'min C loop, full emulation',
    "two-step plus the rest of sbx's per-open syscalls without policy: epoll+poll before RECV, openat2 O_PATH, fstat, reopen via /proc/self/fd/N"),
];

export function column(id) {
  return [...COLUMNS, MIN_UNOTIFY, ...MIN_VARIANTS].find((c) => c.id === id);
}

/** srt reads its policy from a file: secrets unreadable, writes to the scratch tree and /tmp, no hosts. */
export function writeSrtSettings() {
  const settings = {
    filesystem: { denyRead: [path.join(HOME, '.ssh'), path.join(HOME, '.aws')], allowWrite: [WORK, '/tmp'], denyWrite: [] },
    network: { allowedDomains: [], deniedDomains: [] },
  };
  fs.writeFileSync(SRT_SETTINGS, `${JSON.stringify(settings, null, 2)}\n`);
}

/** Can this column run a program at all right now? { ok } or { ok: false, reason }. */
export function probe(col) {
  const r = tryRun([...col.prefix(), path.join(BIN, 'timeit'), '1', '--', 'true'], { timeoutMs: 60_000 });
  return r.ok ? { ok: true } : { ok: false, reason: r.reason };
}
