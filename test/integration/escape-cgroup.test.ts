/**
 * cgroups a user may write are out of reach from inside. On a systemd desktop the user's
 * whole cgroup subtree (user@UID.service: every terminal's scope, the supervisor's too) is
 * delegated to the user: its files belong to them. A cgroup's `cgroup.kill` kills every
 * process in it with no check of who may signal whom, `cgroup.freeze` stops them all, a
 * write to `cgroup.procs` moves a process, and a new directory is a new cgroup. From inside,
 * any of these would reach processes outside the sandbox: the supervisor, keepers, your
 * unsandboxed shells.
 *
 * The delegation is made here as systemd makes it (root chowns a cgroup to the user); the
 * sandbox then runs as that user (nobody), under the default policy (no project file: writes
 * are refused by the floors only). Twin: the same script as the same user outside the sandbox
 * does all four. Root only (only root can delegate a cgroup), with a cgroup2 mount.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { run, sbxBin, servedBySupervisor, tempWorld } from './exec-helpers.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

/** Where cgroup2 is mounted (the unified hierarchy), if it is. */
function cgroup2Mount(): string | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (right?.startsWith('cgroup2 ')) return left!.split(' ')[4];
  }
  return undefined;
}

const world = tempWorld('sbx-cgroup-');
servedBySupervisor(world);
const made: string[] = [];
const victims: ChildProcess[] = [];
afterAll(async () => {
  for (const v of victims) v.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 200));
  for (const d of made) removeCgroup(d);
  world.cleanup();
});

/** A cgroup and every cgroup below it (each must be empty of processes: the victims are dead). */
function removeCgroup(d: string): void {
  if (!existsSync(d)) return;
  for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) removeCgroup(join(d, e.name));
  rmdirSync(d);
}

/** A cgroup delegated to nobody as systemd delegates one, with a child and a victim in it. */
function delegated(mount: string): { cg: string; sub: string; victim: ChildProcess } {
  const cg = join(mount, `sbx-test-${randomInt(1e9)}`);
  mkdirSync(cg);
  made.push(cg);
  const sub = join(cg, 'sub');
  mkdirSync(sub);
  for (const d of [cg, sub]) {
    chownSync(d, NOBODY, NOBODY);
    for (const f of ['cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control', 'cgroup.kill', 'cgroup.freeze']) chownSync(join(d, f), NOBODY, NOBODY);
  }
  const victim = spawn('sleep', ['1000'], { stdio: 'ignore' });
  victims.push(victim);
  writeFileSync(join(cg, 'cgroup.procs'), String(victim.pid));
  return { cg, sub, victim };
}

/** The four ways, in this order (move before kill: the victim must still be alive). */
function script(cg: string, sub: string, victim: number): string {
  const t = (name: string, cmd: string) => `if ${cmd} 2>/dev/null; then echo "${name} ok"; else echo "${name} denied"; fi`;
  return [
    t('mkdir', `mkdir ${cg}/made-inside`),
    t('move', `echo ${victim} > ${sub}/cgroup.procs`),
    t('freeze', `echo 1 > ${cg}/cgroup.freeze`),
    t('kill', `echo 1 > ${cg}/cgroup.kill`),
  ].join('; ');
}

const asNobody = (argv: string[]) =>
  run('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv], { env: world.env, cwd: world.dir });

describe('cgroups delegated to the user', () => {
  it('a sandboxed process can neither make a cgroup, move a process, freeze nor kill one; twin: the same user outside can', async (ctx) => {
    if (!isRoot) return ctx.skip('not applicable: only root can delegate a cgroup to a user here (systemd does it on a desktop); the root run covers it');
    const mount = cgroup2Mount();
    if (!mount) return ctx.skip('not applicable: no cgroup2 mount on this machine');
    chownSync(world.dir, NOBODY, NOBODY);
    for (const d of ['home', 'config', 'state', 'runtime', 'cache']) chownSync(join(world.dir, d), NOBODY, NOBODY);

    const inside = delegated(mount);
    const r = await asNobody([process.execPath, sbxBin, 'exec', '--', 'sh', '-c', script(inside.cg, inside.sub, inside.victim.pid!)]);
    expect(r.stdout, r.stderr).toMatch(/^mkdir /m); // the script ran
    for (const op of ['mkdir', 'move', 'freeze', 'kill']) expect(r.stdout, r.stderr).toContain(`${op} denied`);
    expect(existsSync(join(inside.cg, 'made-inside'))).toBe(false);
    expect(readFileSync(join(inside.sub, 'cgroup.procs'), 'utf8')).toBe('');
    expect(readFileSync(join(inside.cg, 'cgroup.freeze'), 'utf8').trim()).toBe('0');
    expect(inside.victim.exitCode === null && inside.victim.signalCode === null).toBe(true);
    expect(r.stderr).toMatch(/sbx: denied write .*cgroup\.kill/);

    const outside = delegated(mount);
    const exited = new Promise((res) => outside.victim.once('exit', res));
    const o = await asNobody(['sh', '-c', script(outside.cg, outside.sub, outside.victim.pid!)]);
    for (const op of ['mkdir', 'move', 'freeze', 'kill']) expect(o.stdout, o.stderr).toContain(`${op} ok`);
    await exited;
    expect(outside.victim.signalCode).toBe('SIGKILL');
  });
});
