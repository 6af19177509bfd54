/**
 * Nothing a sandbox left behind keeps the terminal it came from (native terminal_release.h).
 * `sbx exec` returns to your unsandboxed shell; a process it left running with the terminal
 * still open (setsid: no job control stops its reads) could read what you type next — to
 * `sudo`, to `ssh` — and write to your screen. Once the command exits, such a process is
 * killed and reported; its twin, started with its terminal let go (`</dev/null >/dev/null`),
 * keeps running. Both ways `sbx exec` runs: in its own process, and served by a supervisor.
 * The terminal is a real pty (script(1)).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { run, sbxBin, tempWorld } from './exec-helpers.js';

const world = tempWorld('sbx-term-');
afterAll(() => world.cleanup());

/** The pids whose command line is exactly `sleep ARG`. */
function sleepers(arg: string): number[] {
  try {
    return execFileSync('pgrep', ['-x', '-f', `sleep ${arg}`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function until(what: string, f: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function leaveTwo(env: Record<string, string>): Promise<{ holder: string; freed: string; out: string }> {
  const holder = `${randomInt(1000, 9000)}.1`;
  const freed = `${randomInt(1000, 9000)}.2`;
  const inner = `setsid sleep ${holder} & setsid sleep ${freed} </dev/null >/dev/null 2>&1 & sleep 0.3; echo started`;
  const cmd = `${sbxBin} exec -- sh -c '${inner}'`;
  const r = await run('script', ['-qec', cmd, '/dev/null'], { env, cwd: world.dir });
  expect(r.stdout, r.stderr).toContain('started');
  return { holder, freed, out: r.stdout };
}

function check(label: string, env: () => Record<string, string>) {
  describe(label, () => {
    it('a process left holding the terminal is killed when the command exits, with a denial line; one that let it go keeps running', async () => {
      const { holder, freed, out } = await leaveTwo(env());
      await until('the holder is killed', () => sleepers(holder).length === 0);
      expect(sleepers(freed)).toHaveLength(1);
      for (const pid of sleepers(freed)) process.kill(pid, 'SIGKILL');
      if (label.startsWith('in its own process')) expect(out).toMatch(/sbx: denied tty \/dev\/pts\/\d+ \(held after the sandbox's command ended: killed\)/);
    });
  });
}

check('in its own process (no supervisor)', () => ({ ...world.env, SBX_NO_FAST: '1' }));

describe('served by a supervisor', () => {
  beforeAll(async () => {
    expect((await run(sbxBin, ['daemon', 'start'], { env: world.env, cwd: world.dir })).code).toBe(0);
  });
  afterAll(async () => {
    await run(sbxBin, ['daemon', 'stop', '--force'], { env: world.env, cwd: world.dir });
  });
  check('the fast path', () => world.env);
  it('the kill is in the log', async () => {
    const r = await run(sbxBin, ['log', '--json'], { env: world.env, cwd: world.dir });
    expect(r.stdout).toMatch(/"op":"tty".*held after the sandbox's command ended: killed/);
  });
});
