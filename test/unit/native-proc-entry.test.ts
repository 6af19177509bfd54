/**
 * The native rule for ANOTHER process's /proc/<pid>/ entries (DESIGN invariant 3): an
 * allow-list of what `ps`, `top` and `pgrep` read; everything that reaches the process's
 * fds, memory, environment, cwd or root is refused, and nothing of it can be written.
 * Resolution asks at every component, so every prefix of an allowed path is allowed too.
 */
import { describe, expect, it } from 'vitest';
import { nativeProcEntryAllowed } from '../../src/native/engine.js';

type Row = [below: string, write: boolean, allowed: boolean];

const table: Row[] = [
  // what ps / top / pgrep read
  ['', false, true],
  ['stat', false, true],
  ['status', false, true],
  ['cmdline', false, true],
  ['comm', false, true],
  ['statm', false, true],
  ['task', false, true],
  ['task/123', false, true],
  ['task/123/stat', false, true],
  ['task/123/status', false, true],
  // nothing of another process is written
  ['status', true, false],
  ['oom_score_adj', true, false],
  ['comm', true, false],
  ['', true, false],
  // its fds, memory, environment, cwd, root and the rest
  ['fd', false, false],
  ['fd/3', false, false],
  ['fdinfo', false, false],
  ['fdinfo/3', false, false],
  ['map_files', false, false],
  ['mem', false, false],
  ['environ', false, false],
  ['cwd', false, false],
  ['root', false, false],
  ['exe', false, false],
  ['auxv', false, false],
  ['syscall', false, false],
  ['pagemap', false, false],
  ['stack', false, false],
  ['personality', false, false],
  ['timers', false, false],
  ['ns', false, false],
  ['ns/mnt', false, false],
  ['net', false, false],
  ['maps', false, false],
  ['smaps', false, false],
  ['io', false, false],
  ['attr/current', false, false],
  // the same below task/<tid>, and task/ is not a way around it
  ['task/123/fd', false, false],
  ['task/123/fd/0', false, false],
  ['task/123/mem', false, false],
  ['task/123/environ', false, false],
  ['task/123/cwd', false, false],
  ['task/123/task', false, false],
  ['task/self', false, false],
  ['task/0123', false, false],
  ['task/..', false, false],
  // a harmless file is not a directory
  ['stat/x', false, false],
  ['status/..', false, false],
];

describe('native procEntryAllowed (another process, not protected)', () => {
  it.each(table)('%s (write=%s) -> %s', (below, write, allowed) => {
    expect(nativeProcEntryAllowed(below, write)).toBe(allowed);
  });
});

/**
 * A process the caller may debug (same session, a policy no wider: debug.cc) also shows a
 * debugger its memory (read and written: breakpoints), mappings, auxiliary vector and
 * environment and image (exe, decided again by the file's own path); its other magic links
 * (fd/, cwd, root, map_files/) stay its own, and nothing
 * else of it is written.
 */
const debugTable: Row[] = [
  ['mem', false, true],
  ['mem', true, true],
  ['maps', false, true],
  ['smaps', false, true],
  ['auxv', false, true],
  ['environ', false, true],
  ['task/123/mem', true, true],
  ['task/123/maps', false, true],
  ['status', false, true],
  ['task/123/stat', false, true],
  ['maps', true, false],
  ['environ', true, false],
  ['status', true, false],
  ['fd', false, false],
  ['fd/3', false, false],
  ['cwd', false, false],
  ['root', false, false],
  ['exe', false, true],
  ['exe', true, false],
  ['map_files', false, false],
  ['task/123/fd/0', false, false],
  ['task/self/mem', false, false],
  ['task/0123/mem', false, false],
  ['mem/x', false, false],
];

describe('native procEntryAllowed (a process the caller may debug)', () => {
  it.each(debugTable)('%s (write=%s) -> %s', (below, write, allowed) => {
    expect(nativeProcEntryAllowed(below, write, true)).toBe(allowed);
  });
});
