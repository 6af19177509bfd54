/**
 * The Linux backend: seccomp user-notify. exec and doctor live here; `shell` is filled
 * in by src/platform/linux/shell.ts (until it exists, a clear not-implemented error).
 */
import type { Platform } from '../types.js';
import { SbxError } from '../../errors.js';
import { linuxExec } from './exec.js';
import { linuxDoctor } from './doctor.js';

const notYet = (what: string) => async (): Promise<never> => {
  throw new SbxError(`${what} is not implemented on Linux yet`, { exitCode: 70 });
};

export const linuxPlatform: Platform = {
  name: 'linux',
  exec: linuxExec,
  shell: (request) => import('./shell.js').then((m) => m.linuxShell(request)),
  doctor: linuxDoctor,
};
