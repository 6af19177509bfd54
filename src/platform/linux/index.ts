/**
 * The Linux backend: seccomp user-notify. exec and doctor live here; `shell` is
 * src/platform/linux/shell.ts (loaded on demand).
 */
import type { Platform } from '../types.js';
import { linuxExec } from './exec.js';
import { linuxDoctor } from './doctor.js';

export const linuxPlatform: Platform = {
  name: 'linux',
  exec: linuxExec,
  shell: (request) => import('./shell.js').then((m) => m.linuxShell(request)),
  doctor: linuxDoctor,
};
