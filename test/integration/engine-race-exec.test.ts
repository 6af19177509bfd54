/**
 * Invariant 1 for exec: what the engine checks at the execve notification can change before
 * the kernel opens the file — a thread rewriting the path buffer, or a rename swapping the
 * file under the same name. Whatever wins, a denied image never gets a decided syscall: it
 * is SIGKILLed at verification, before its first trapped syscall is answered (exec.cc). The
 * images are exec_probe copies (static) whose first action is an open creating
 * `<image>.opened`: that file never appears for the denied one; the allowed one's does.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { run as runOutside } from './exec-helpers.js';
import { fixtureBin, policy, rule, run, tempDir } from './engine-harness.js';

function probes() {
  const d = tempDir();
  for (const n of ['allow', 'deny']) {
    mkdirSync(join(d, n));
    copyFileSync(fixtureBin('exec_probe'), join(d, n, 'probe'));
  }
  return { d, allow: join(d, 'allow', 'probe'), deny: join(d, 'deny', 'probe') };
}
const denyDir = (d: string) => policy(1, { exec: { default: 'allow', paths: [rule(0, 'deny', join(d, 'deny'))], programs: [] } });

it('execve racing a path-buffer flip never gives the denied image a decided syscall (10 s)', async () => {
  const { d, allow, deny } = probes();
  const r = await run({ policies: [denyDir(d)], argv: [fixtureBin('engine_race_exec'), allow, deny, '10'] });
  const m = /ran=(\d+) refused=(\d+) killed=(\d+) other=(\d+) leaked=(\d+)/.exec(r.stderr);
  expect(m, r.stdout + r.stderr).not.toBeNull();
  console.log(`exec race (path buffer): ${m![0]}`);
  expect(Number(m![5])).toBe(0);
  expect(existsSync(`${deny}.opened`)).toBe(false);
  // the allowed twin ran, and its first open was answered
  expect(Number(m![1])).toBeGreaterThan(0);
  expect(existsSync(`${allow}.opened`)).toBe(true);
  expect(Number(m![2]) + Number(m![3])).toBeGreaterThan(0);
}, 60_000);

it('execve racing a rename that swaps the file under the same name is caught at verification (10 s)', async () => {
  const { d, allow, deny } = probes();
  // Outside, the same race runs the denied image (the fixture really races).
  const out = await runOutside(fixtureBin('race_rename_exec'), [d, allow, deny, '1']);
  expect(out.stdout).toMatch(/leaked=[1-9]/);
  expect(existsSync(`${deny}.opened`)).toBe(true);
  rmSync(`${deny}.opened`);
  rmSync(`${allow}.opened`, { force: true });

  const r = await run({ policies: [denyDir(d)], argv: [fixtureBin('race_rename_exec'), d, allow, deny, '10'] });
  const m = /allowed=(\d+) leaked=(\d+) refused=(\d+) killed=(\d+) swaps=(\d+)/.exec(r.stdout);
  expect(m, r.stdout + r.stderr).not.toBeNull();
  console.log(`exec race (rename): ${m![0]}`);
  expect(Number(m![5])).toBeGreaterThan(0); // the swaps happened inside too
  expect(Number(m![2])).toBe(0);
  expect(existsSync(`${deny}.opened`)).toBe(false);
  expect(Number(m![1])).toBeGreaterThan(0);
  expect(existsSync(`${allow}.opened`)).toBe(true);
  // Refused at the notification when the check saw the denied file; killed when the kernel
  // opened it after the check had seen the allowed one: the verification's catch.
  expect(Number(m![3])).toBeGreaterThan(0);
  expect(Number(m![4])).toBeGreaterThan(0);
  expect(r.events.some((e) => e.op === 'exec' && e.kind === 'deny' && e.target === deny)).toBe(true);
}, 90_000);
