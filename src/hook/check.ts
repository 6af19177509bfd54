/**
 * `sbx shell --check`: can a session start here, now? The shell hook runs it once, at shell
 * start, before it `exec`s into `sbx shell` — a failed exec would close the user's terminal,
 * so everything that can make the session fail is tried first: the platform's own doctor
 * (kernel features, launcher, addon) and, on Linux, a supervisor that answers.
 * Exit 0 and print nothing when a session can start; otherwise one SbxError saying why.
 */
import { SbxError } from '../errors.js';
import { currentPlatform } from '../platform/index.js';

export async function checkSession(env: Record<string, string>): Promise<number> {
  if (env.SBX_SESSION) {
    throw new SbxError(`already inside sbx session ${env.SBX_SESSION}`, { exitCode: 2 });
  }
  const platform = await currentPlatform();
  const report = await platform.doctor();
  if (!report.usable) {
    const miss = report.checks.find((c) => !c.ok && c.consequence) ?? report.checks.find((c) => !c.ok);
    throw new SbxError(miss ? `${miss.name}: ${miss.detail}` : `sbx cannot sandbox on this ${report.platform} machine`, {
      exitCode: 70,
      hint: miss?.consequence ?? 'run `sbx doctor` for details',
    });
  }
  if (platform.name === 'linux') {
    // The session needs a supervisor: start it now (as `sbx shell` would), so a broken one
    // is reported here and not by a terminal that closes.
    const { ensureDaemon } = await import('../supervisor/lifecycle.js');
    await ensureDaemon(env);
  }
  return 0;
}
