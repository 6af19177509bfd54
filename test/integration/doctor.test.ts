/**
 * `./bin/sbx doctor` on the real kernel, plus the mapping from probed features to
 * verdicts (which features are required, and what breaks without each).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { kernelChecks } from '../../src/platform/linux/doctor.js';
import type { KernelFeatures } from '../../native/unotify/native.js';
import { run, sbxBin, tempWorld } from './exec-helpers.js';

const world = tempWorld('sbx-doctor-');
afterAll(() => world.cleanup());

const full: KernelFeatures = {
  kernel: '6.18.0', arch: 'x86_64', seccompFilter: true, userNotify: true, waitKillableRecv: true,
  addfd: true, addfdSend: true, pidfdOpen: true, pidfdGetfd: true, landlockAbi: 7, ptraceOthers: true,
};

describe('sbx doctor on this machine (CI runs a kernel with user-notify)', () => {
  it('reports usable and exits 0, naming each feature', async () => {
    const r = await run(sbxBin, ['doctor'], { env: world.env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const name of ['user notification', 'ADDFD', 'ADDFD_SEND', 'WAIT_KILLABLE_RECV', 'pidfd_getfd', 'ptrace access', 'Landlock']) {
      expect(r.stdout).toContain(`ok   ${name}:`);
    }
    expect(r.stdout).toContain('sbx can sandbox on this machine.');
  });

  it('--json gives the same report as data', async () => {
    const r = await run(sbxBin, ['doctor', '--json'], { env: world.env });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { platform: string; usable: boolean; checks: { name: string; ok: boolean }[] };
    expect(report.platform).toBe('linux');
    expect(report.usable).toBe(true);
    expect(report.checks.find((c) => c.name === 'user notification')?.ok).toBe(true);
  });

  it('an unknown flag is a usage error (exit 2)', async () => {
    const r = await run(sbxBin, ['doctor', '--verbose'], { env: world.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown flag '--verbose'");
  });
});

describe('verdicts from probed features', () => {
  const verdict = (f: KernelFeatures) => kernelChecks(f).every(({ check, required }) => check.ok || !required);

  it('all present: usable, no consequences listed', () => {
    expect(verdict(full)).toBe(true);
    expect(kernelChecks(full).every(({ check }) => check.consequence === undefined)).toBe(true);
  });

  it('each required feature missing makes sbx unusable and says what breaks', () => {
    for (const key of ['seccompFilter', 'userNotify', 'addfd', 'addfdSend', 'pidfdOpen', 'pidfdGetfd', 'ptraceOthers'] as const) {
      const f = { ...full, [key]: false };
      expect(verdict(f), key).toBe(false);
      const missing = kernelChecks(f).find(({ check }) => !check.ok);
      expect(missing?.check.consequence, key).toMatch(/\w/);
    }
    expect(verdict({ ...full, arch: 'riscv64' })).toBe(false);
  });

  it('ptrace access refused: Yama is named with the fix for its scope; without Yama the cause is left open', () => {
    const ptrace = (yama: number | undefined) => kernelChecks({ ...full, ptraceOthers: false }, yama).find(({ check }) => check.name === 'ptrace access')!;
    expect(ptrace(1).required).toBe(true);
    expect(ptrace(1).check.detail).toBe('refused to a non-descendant (Yama ptrace_scope 1)');
    expect(ptrace(1).check.consequence).toContain('sudo sysctl kernel.yama.ptrace_scope=0');
    expect(ptrace(2).check.consequence).toContain('sudo sysctl kernel.yama.ptrace_scope=0');
    expect(ptrace(3).check.consequence).toContain('cannot be lowered until reboot');
    expect(ptrace(undefined).check.detail).not.toContain('Yama');
    expect(ptrace(undefined).check.consequence).toContain('nothing can be sandboxed');
    // The allowed twin: access granted (as on this machine) is ok, Yama or not.
    expect(kernelChecks(full, 1).find(({ check }) => check.name === 'ptrace access')?.check).toMatchObject({ ok: true });
  });

  it('optional features missing keep sbx usable but explain the cost', () => {
    const f = { ...full, waitKillableRecv: false, landlockAbi: 0 };
    expect(verdict(f)).toBe(true);
    const c = kernelChecks(f);
    expect(c.find(({ check }) => check.name === 'WAIT_KILLABLE_RECV')?.check.consequence).toContain('restart');
  });
});
