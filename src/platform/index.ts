/**
 * The one platform dispatcher: Linux (seccomp user-notify supervisor), macOS (Seatbelt),
 * anything else a clear error — never an unsandboxed run.
 */
import { SbxError } from '../errors.js';
import type { Platform } from './types.js';

export async function currentPlatform(platform: NodeJS.Platform = process.platform): Promise<Platform> {
  switch (platform) {
    case 'linux':
      return (await import('./linux/index.js')).linuxPlatform;
    case 'darwin':
      return (await import('./macos/index.js')).macosPlatform;
    default:
      throw new SbxError(`sbx does not support ${platform}: only Linux and macOS can be sandboxed`, {
        exitCode: 70,
        hint: 'run sbx on Linux (kernel ≥ 5.19 with seccomp user-notify) or macOS',
      });
  }
}
