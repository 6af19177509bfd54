import { describe, expect, it } from 'vitest';
import { CODE_NAMING_VARIABLES, envNamedCode } from '../../../src/policy/env-named-code.js';

const home = '/home/u';
const project = '/home/u/work/p';
const temps = ['/tmp', '/var/tmp'];

describe('envNamedCode', () => {
  it('every absolute path of a listed variable: a command and the files it names, list entries, ~/', () => {
    const env = { EDITOR: '/home/u/bin/ed --wait', NODE_OPTIONS: '--require=/home/u/rc/a.js -r ~/rc/b.js', KUBECONFIG: '/home/u/k1:/home/u/k2', RANDOM_VAR: '/home/u/not-listed' };
    expect(envNamedCode(env, home, project, temps).sort()).toEqual(['/home/u/bin/ed', '/home/u/k1', '/home/u/k2', '/home/u/rc/a.js', '/home/u/rc/b.js']);
  });

  it('twins: not the project, what it holds or what holds it, the home or above, temp dirs, kernel files, the sandbox cache', () => {
    const env = {
      GOPATH: '/home/u/work',
      EDITOR: '/home/u/work/p/tools/ed',
      BASH_ENV: '/home/u',
      GIT_CONFIG_GLOBAL: '/dev/null',
      ENV: '/tmp',
      CARGO_HOME: '/home/u/.cache/sbx-sandbox/cargo',
      PAGER: 'less',
    };
    expect(envNamedCode(env, home, project, temps)).toEqual([]);
  });

  it('names each variable once (one table)', () => {
    expect(new Set(CODE_NAMING_VARIABLES).size).toBe(CODE_NAMING_VARIABLES.length);
  });
});
