/**
 * Canned supervisor replies laid out as files, for hook tests that exercise the shell side alone:
 * the hook's push prefix (__sbx_proc, a shell variable set after the eval, never from the
 * environment) points here, so `cd/<dir>` opens FAKE/cd/<dir>. Each reply carries a notice, so
 * the number of pushes can be counted on the screen.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { formatReply, type HookReply } from '../../src/protocol/hook-reply.js';

export function fakeReply(fakeRoot: string, request: string, reply: Partial<HookReply> & { prompt: string }): void {
  const file = join(fakeRoot, request);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, formatReply({ policy: '', notices: [], envDeny: [], envAllow: [], ...reply }));
}
