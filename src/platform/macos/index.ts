import type { Platform } from '../types.js';
import { SbxError } from '../../errors.js';

// Filled in by the macOS backend (profile.ts, exec.ts, shell.ts).
const notYet = (what: string) => async (): Promise<never> => {
  throw new SbxError(`${what} is not implemented on macOS yet`, { exitCode: 70 });
};

export const macosPlatform: Platform = {
  name: 'macos',
  exec: notYet('sbx exec'),
  shell: notYet('sbx shell'),
  doctor: notYet('sbx doctor'),
};
