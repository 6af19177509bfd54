/**
 * The engine's receiving threads (native/unotify/src/addon/receiver_role.h): one thread
 * receives while decisions are quick; a decision that cannot finish (here an open waiting
 * for a lease break) must not hold up the rest of the session.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { fixtureBin, policy, run, tempDir } from './engine-harness.js';

/** Runs the session while an outside process holds a read lease on `leased`; returns the holder's verdict. */
async function whileLeaseHeld(threads: number): Promise<{ verdict: string; stdout: string; code: number | null }> {
  const d = tempDir();
  const leased = join(d, 'leased');
  const marker = join(d, 'marker');
  writeFileSync(leased, 'x\n');
  const holder = execa(fixtureBin('lease_hold'), [leased, marker, '4000'], { reject: false, buffer: true });
  let out = '';
  holder.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  while (!out.includes('held') && holder.exitCode === null) await new Promise((r) => setTimeout(r, 10));
  expect(out).toContain('held');
  // The background job's open for writing waits for the lease break. The shell then waits
  // 0.3 s without a trapped call (a busy loop on $EPOCHREALTIME), so no two calls contend
  // and the other threads sleep; then a new process (its exec, its opens) and the shell
  // write the marker the holder waits for.
  const script = [
    '{ echo more >> leased; echo appended; } &',
    's=${EPOCHREALTIME/./}; while (( ${EPOCHREALTIME/./} - s < 300000 )); do :; done',
    '/bin/cat leased >/dev/null && echo marked > marker; wait',
  ].join('\n');
  const r = await run({
    policies: [policy(1)],
    threads,
    cwd: d,
    argv: ['/bin/bash', '-c', script],
  });
  await holder;
  return { verdict: out.split('\n').filter(Boolean).pop()!, stdout: r.stdout, code: r.code };
}

describe('engine: receiving threads', () => {
  it('a decision stuck on a lease break does not hold up the session: another process is answered meanwhile', async () => {
    const r = await whileLeaseHeld(2);
    expect(r.verdict).toBe('seen'); // the marker was written while the lease open still waited
    expect(r.stdout).toBe('appended\n');
    expect(r.code).toBe(0);
  });

  it('twin: with a single receiving thread the same session waits for the stuck decision (the fixture really holds one)', async () => {
    const r = await whileLeaseHeld(1);
    expect(r.verdict).toBe('timeout');
    expect(r.stdout).toBe('appended\n');
    expect(r.code).toBe(0);
  });
});
