import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll } from 'vitest';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * A throwaway HOME with XDG dirs inside it; never the real ~. `base` defaults to the OS
 * temp dir; flag tests use /var/tmp because `sbx exec --deny-write` keeps /tmp writable.
 */
export function tempWorld(base: string = tmpdir()): { root: string; home: string; env: Record<string, string>; write(rel: string, text: string): string } {
  const root = realpathSync(mkdtempSync(join(base, 'sbx-policy-')));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const home = join(root, 'home');
  mkdirSync(home, { recursive: true });
  const hosts = join(root, 'hosts');
  writeFileSync(hosts, '140.82.121.4 github.com\n104.16.0.35 registry.npmjs.org\n10.1.2.3 db.internal\n');
  const env: Record<string, string> = {
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_STATE_HOME: join(home, '.local/state'),
    XDG_RUNTIME_DIR: join(root, 'run'),
    SBX_HOSTS_FILE: hosts,
    SBX_RESOLV_CONF: join(root, 'resolv.conf'),
    PATH: process.env.PATH ?? '/usr/bin:/bin',
  };
  writeFileSync(env.SBX_RESOLV_CONF!, 'nameserver 127.0.0.53\n');
  return {
    root,
    home,
    env,
    write(rel: string, text: string) {
      const p = join(root, rel);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, text);
      return p;
    },
  };
}
