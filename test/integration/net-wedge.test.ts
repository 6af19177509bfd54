/**
 * A sandbox cannot tie up its supervisor through the sends and connects the engine performs
 * (finding F2 of the network review). The engine samples O_NONBLOCK once; another thread of
 * the program clears it before the engine sends. A receiver thread must then still never
 * wait on the program's peer (every send/connect of a receiver is non-blocking), and the
 * helper threads a blocking caller gets give up when the caller is gone, so a session whose
 * processes are all gone ends and the supervisor can be stopped.
 *
 * recv_block (the reviewer's reproducer): with `park`, the peers of the blocked sends ride in
 * the SCM_RIGHTS of a send that never completes, so only the supervisor holds them once the
 * program is gone; without, they die with the program (the twin).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { fixtures, makeSandbox, sleep, until, type Sandbox } from './supervisor-helpers.js';

const recvBlock = join(fixtures, 'recv_block');

/** The session list empties (the cap is generous: a session ends within a tick or two). */
async function sessionsGone(sb: Sandbox): Promise<boolean> {
  try {
    await until('the sessions to end', () => sb.status().sessions.length === 0, 15_000);
    return true;
  } catch {
    return false;
  }
}

describe('the engine never waits on a program on a receiver thread', () => {
  const sb = makeSandbox('net-wedge');
  afterAll(() => sb.cleanup());

  it('twin: the flip race without parking: the session ends when the program does', { timeout: 120_000 }, async () => {
    expect(sb.sbx(['daemon', 'start']).code).toBe(0);
    const r = await sb.spawnSbx(['exec', '--', recvBlock, 'plain', '40']).done;
    expect(r.stdout, r.stderr).toMatch(/^exiting$/m);
    expect(await sessionsGone(sb)).toBe(true);
  });

  it('a program that parks the peers of its blocked sends in the supervisor: other sessions are decided meanwhile, its session ends once it is gone, and the supervisor stops', { timeout: 180_000 }, async () => {
    writeFileSync(join(sb.home, 'public.txt'), 'PUBLIC\n');
    const parked = sb.spawnSbx(['exec', '--', recvBlock, 'park', '40']);
    let out = '';
    parked.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until('the peers to be parked', () => out.includes('parked the peers'), 30_000);
    // Another sandbox's trapped opens are decided while the first one races.
    const other = sb.sbx(['exec', '--', 'cat', 'public.txt'], { timeout: 30_000 });
    expect(other.stdout).toBe('PUBLIC\n');
    const r = await parked.done;
    expect(r.stdout, r.stderr).toMatch(/^exiting$/m);
    // Every blocked send waited on a helper thread: the program's own opens were answered.
    expect(r.stdout).not.toMatch(/gets NO answer/);
    expect(await sessionsGone(sb), JSON.stringify(sb.status().sessions)).toBe(true);
    expect(sb.sbx(['exec', '--', 'cat', 'public.txt'], { timeout: 30_000 }).stdout).toBe('PUBLIC\n');
    const stop = sb.sbx(['daemon', 'stop'], { timeout: 20_000 });
    expect(stop.code, stop.stderr).toBe(0);
    await sleep(100);
  });
});
