import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll } from 'vitest';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * A file name in a temp dir that no checkout can be at: a checkout of sbx at a sample path
 * such as /tmp/x is sbx's own install, a floor, and would turn an "allowed" case into a
 * denial.
 */
export const tmpSample = (dir = '/tmp'): string => join(dir, `sbx-sample-${randomBytes(6).toString('hex')}`);

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
  writeFileSync(hosts, '140.82.121.4 github.com\n104.16.0.35 registry.npmjs.org\n10.1.2.3 db.internal\n93.184.215.14 example.org\n');
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

/**
 * `sbx check` in a test: the question decided on the FINISHED policy (names resolved
 * through the world's SBX_HOSTS_FILE, DNS, unix defaults), a `net NAME` target resolved
 * the same way — what a session's engine and proxy decide.
 */
export async function check(
  policy: import('../../../src/policy/compiled.js').CompiledPolicy,
  op: import('../../../src/policy/explain.js').CheckOp,
  words: string[],
  opts: { cwd: string; env: Record<string, string | undefined> },
): Promise<import('../../../src/policy/explain.js').Explanation> {
  const { finishNow, resolveName } = await import('../../../src/net/index.js');
  const { explain, netTargetName } = await import('../../../src/policy/explain.js');
  const env = opts.env as NodeJS.ProcessEnv;
  const finished = (await finishNow(policy, env)).policy;
  const name = op === 'net' ? netTargetName(words[0]!) : undefined;
  const addresses = name === undefined ? undefined : await resolveName(name, env);
  return explain(finished, op, words, { ...opts, addresses });
}
