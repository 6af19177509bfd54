/**
 * The macOS backend: Seatbelt profiles (profile.ts) run by sandbox-exec (exec.ts), and a
 * shell restarted under a new profile when the project changes (shell.ts). Nothing here
 * needs macOS to be constructed, so the Linux test suite can drive it with a stand-in
 * sandbox-exec.
 */
import type { Platform } from '../types.js';
import { macosDoctor } from './doctor.js';
import { macosExec, type MacosExecOptions } from './exec.js';
import { macosShell, type MacosShellOptions } from './shell.js';

export { seatbeltProfile } from './profile.js';

export interface MacosPlatformOptions {
  exec?: MacosExecOptions;
  shell?: MacosShellOptions;
  sandboxExec?: string;
}

export function createMacosPlatform(options: MacosPlatformOptions = {}): Platform {
  const se = options.sandboxExec === undefined ? {} : { sandboxExec: options.sandboxExec };
  return {
    name: 'macos',
    exec: (request) => macosExec(request, { ...se, ...options.exec }),
    shell: (request) => macosShell(request, { ...se, ...options.shell }),
    doctor: () => macosDoctor(se),
  };
}

export const macosPlatform: Platform = createMacosPlatform();
