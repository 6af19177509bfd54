/**
 * sbx-fast (native/unotify/src/fast.c) must find the control socket and the hook cache before
 * any Node runs, so it follows src/policy/paths.ts's runtime and state dir rules itself. This
 * holds the two to the same answers over varied environments: the real binary's SBX_FAST_TRACE
 * lines against runtimeDir()/stateDir() over the same env. Node is kept off PATH so the client
 * stops at its fallback instead of running the CLI.
 */
import { execaSync } from 'execa';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runtimeDir, stateDir } from '../../src/policy/paths.js';

const FAST = join(__dirname, '..', '..', 'native', 'unotify', 'build', 'Release', 'sbx-fast');

function traced(args: string[], env: Record<string, string>, what: 'runtime' | 'state'): string | undefined {
  const r = execaSync(FAST, args, { env: { ...env, PATH: '/nonexistent', SBX_FAST_TRACE: '1' }, extendEnv: false, reject: false, timeout: 10_000 });
  return new RegExp(`^sbx-fast: ${what} dir (.*)$`, 'm').exec(r.stderr)?.[1];
}

const variants: Record<string, string>[] = [
  { XDG_RUNTIME_DIR: '/run/user/4242', XDG_STATE_HOME: '/home/u/.st', HOME: '/home/u' },
  { HOME: '/home/u' },
  { HOME: '/home/u/', XDG_RUNTIME_DIR: 'relative/run', XDG_STATE_HOME: 'relative/state' },
  { HOME: '/home//u/./x/..', XDG_RUNTIME_DIR: '/run//user/./9/' },
  { XDG_RUNTIME_DIR: '/a/../../b', XDG_STATE_HOME: '/s/t/../', HOME: '/h' },
  { XDG_RUNTIME_DIR: '', XDG_STATE_HOME: '', HOME: '/h' },
  // sbx reads no SBX_* override for its dirs: neither client may.
  { HOME: '/h', SBX_RUNTIME_DIR: '/elsewhere', SBX_STATE_DIR: '/elsewhere', SBX_HOME: '/elsewhere' },
];

describe('sbx-fast and src/policy/paths.ts agree on where sbx lives', () => {
  it('runtime dir (control socket) and state dir (hook cache), over varied env', () => {
    for (const env of variants) {
      expect({ env, runtime: traced(['shell', '--check'], env, 'runtime') }).toEqual({ env, runtime: runtimeDir(env) });
      expect({ env, state: traced(['hook', 'bash'], env, 'state') }).toEqual({ env, state: stateDir(env) });
    }
  });

  it('without HOME and XDG_STATE_HOME the client does not guess (Node asks the passwd file): it falls back', () => {
    const r = execaSync(FAST, ['hook', 'bash'], { env: { PATH: '/nonexistent', SBX_FAST_TRACE: '1' }, extendEnv: false, reject: false, timeout: 10_000 });
    expect(r.stderr).toMatch(/^sbx-fast: node: no state dir$/m);
    expect(r.stderr).not.toMatch(/^sbx-fast: state dir /m);
  });
});
