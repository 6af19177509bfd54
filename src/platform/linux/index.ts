import type { Platform } from '../types.js';
import { SbxError } from '../../errors.js';

// Filled in by the Linux backend (exec.ts, shell.ts, doctor.ts).
const notYet = (what: string) => async (): Promise<never> => {
  throw new SbxError(`${what} is not implemented on Linux yet`, { exitCode: 70 });
};

export const linuxPlatform: Platform = {
  name: 'linux',
  exec: notYet('sbx exec'),
  shell: notYet('sbx shell'),
  doctor: notYet('sbx doctor'),
};
