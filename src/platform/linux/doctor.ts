/**
 * `sbx doctor` on Linux: what the running kernel offers (probed for real by the addon,
 * in children that install filters), and what would not work without each feature.
 */
import { readFileSync } from 'node:fs';
import type { KernelFeatures, NativeAddon } from '../../../native/unotify/native.js';
import { KernelFeatureError, SbxError } from '../../errors.js';
import { launcherPath, loadNative, nativeBuildFix } from '../../native/load.js';
import type { DoctorCheck, DoctorReport } from '../types.js';

const SUPPORTED_ARCHES = ['x86_64', 'aarch64'];

/** Yama's ptrace_scope (0–3), or undefined when the kernel has no Yama. */
export function yamaPtraceScope(): number | undefined {
  try {
    const n = Number.parseInt(readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8'), 10);
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** What the ptrace check says when refused: Yama is the usual cause and has its own fix. */
function ptraceRefusal(yama: number | undefined): { detail: string; fix: string } {
  const why = 'the supervisor reads every path a sandboxed program opens from its memory and takes the sockets it connects (process_vm_readv, pidfd_getfd), which needs ptrace access to it, and it is not their parent';
  if (yama !== undefined && yama >= 1) {
    return {
      detail: `refused to a non-descendant (Yama ptrace_scope ${yama})`,
      fix: `${why}: nothing can be sandboxed. ${yama === 3 ? 'ptrace_scope 3 cannot be lowered until reboot; boot with kernel.yama.ptrace_scope=0 set in /etc/sysctl.d/' : "Run `sudo sysctl kernel.yama.ptrace_scope=0` (and put 'kernel.yama.ptrace_scope = 0' in /etc/sysctl.d/10-ptrace.conf to keep it)"}`,
    };
  }
  return {
    detail: 'refused to a non-descendant (a security module, or this process lacks access)',
    fix: `${why}: nothing can be sandboxed; find what refuses ptrace access between processes of one user (an LSM policy, a container's seccomp profile)`,
  };
}

/** Turns probed features into checks; `required` ones decide whether sbx is usable. */
export function kernelChecks(f: KernelFeatures, yama: number | undefined = yamaPtraceScope()): { check: DoctorCheck; required: boolean }[] {
  const refused = ptraceRefusal(yama);
  const newer = (version: string) => `needs Linux ≥ ${version}; this is ${f.kernel}`;
  const item = (name: string, ok: boolean, detail: string, consequence: string, required = true) => ({
    check: ok ? { name, ok, detail } : { name, ok, detail, consequence },
    required,
  });
  return [
    item('architecture', SUPPORTED_ARCHES.includes(f.arch), f.arch,
      `the seccomp filter is written for ${SUPPORTED_ARCHES.join(' and ')} only: nothing can be sandboxed`),
    item('seccomp filter', f.seccompFilter, f.seccompFilter ? 'SECCOMP_SET_MODE_FILTER works' : 'seccomp(2) refused',
      'nothing can be sandboxed; build the kernel with CONFIG_SECCOMP_FILTER, or run outside a container that forbids seccomp(2)'),
    item('user notification', f.userNotify, f.userNotify ? 'SECCOMP_RET_USER_NOTIF + FILTER_FLAG_NEW_LISTENER work' : 'not available',
      `no decision can be made by the supervisor, so nothing can be sandboxed (${newer('5.0')})`),
    item('ADDFD', f.addfd, f.addfd ? 'SECCOMP_IOCTL_NOTIF_ADDFD works' : 'not available',
      `opens cannot be emulated (the supervisor opens the file and injects the fd), so file rules cannot be enforced race-free (${newer('5.9')})`),
    item('ADDFD_SEND', f.addfdSend, f.addfdSend ? 'SECCOMP_ADDFD_FLAG_SEND works' : 'not available',
      `an injected fd cannot be returned atomically as the syscall result (${newer('5.14')})`),
    item('pidfd_open', f.pidfdOpen, f.pidfdOpen ? 'available' : 'not available',
      `the supervisor cannot address sandboxed processes reliably (${newer('5.3')})`),
    item('pidfd_getfd', f.pidfdGetfd, f.pidfdGetfd ? 'available' : 'not available',
      `connect/sendto cannot be performed on the supervisor's own copy of the socket, so network rules cannot be enforced race-free (${newer('5.6')}, and ptrace access to the sandboxed processes)`),
    item('ptrace access', f.ptraceOthers,
      f.ptraceOthers ? `memory of a same-user process outside this one's descendants is readable${yama !== undefined ? ` (Yama ptrace_scope ${yama})` : ''}` : refused.detail,
      refused.fix),
    item('WAIT_KILLABLE_RECV', f.waitKillableRecv, f.waitKillableRecv ? 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV accepted' : 'not available',
      `works without it, but a signal (e.g. ^C, SIGCHLD) arriving while a trapped syscall waits for its decision makes it restart, so slow decisions may be repeated (${newer('5.19')})`,
      false),
    item('Landlock', true, f.landlockAbi > 0 ? `ABI ${f.landlockAbi} (not needed: sbx decides through user notification)` : 'not available (not needed: sbx decides through user notification)',
      '', false),
  ];
}

/**
 * Refuses, with the first required feature that is missing and its fix, before anything is
 * sandboxed (and to explain a launcher that died setting up): a session whose opens would
 * all fail must not start (fail closed, loudly).
 */
export function requireUsableKernel(native: NativeAddon): void {
  const f = native.probe();
  const fix =
    'sbx needs Linux ≥ 5.9 (5.19 recommended) with CONFIG_SECCOMP_FILTER, not inside a container or sandbox ' +
    'that forbids seccomp listeners (sbx itself does); run `sbx doctor` for details';
  if (!f.seccompFilter) throw new KernelFeatureError('seccomp filters are not available here (seccomp(2) refused)', fix);
  if (!f.userNotify) {
    throw new KernelFeatureError('seccomp user notification is not available here (SECCOMP_FILTER_FLAG_NEW_LISTENER refused)', fix);
  }
  for (const { check, required } of kernelChecks(f)) {
    if (required && !check.ok) throw new KernelFeatureError(`${check.name}: ${check.detail}`, check.consequence ?? 'run `sbx doctor` for details');
  }
}

export async function linuxDoctor(): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  let usable = true;
  try {
    checks.push({ name: 'launcher', ok: true, detail: launcherPath() });
    const native = loadNative();
    checks.push({ name: 'native addon', ok: true, detail: 'sbx_unotify.node loaded' });
    const features = native.probe();
    checks.push({ name: 'kernel', ok: true, detail: `Linux ${features.kernel} ${features.arch}` });
    for (const { check, required } of kernelChecks(features)) {
      checks.push(check);
      if (required && !check.ok) usable = false;
    }
  } catch (err) {
    usable = false;
    const message = err instanceof SbxError ? err.message : (err as Error).message;
    checks.push({
      name: 'native build',
      ok: false,
      detail: message,
      consequence: `${nativeBuildFix()} (nothing can be sandboxed until the native part is built)`,
    });
  }
  return { platform: 'linux', usable, checks };
}
