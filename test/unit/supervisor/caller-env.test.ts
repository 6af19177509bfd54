/**
 * The variables a session's policies are built from (src/supervisor/caller-env.ts): the
 * session's own, with sbx's own places (HOME, XDG_*, SBX_*) from the supervisor; what the
 * builds read is what the keeper keeps.
 */
import { describe, expect, it } from 'vitest';
import { callerEnv } from '../../../src/supervisor/caller-env.js';

const supervisor = { HOME: '/home/u', XDG_STATE_HOME: '/home/u/.local/state', PATH: '/usr/bin', SBX_RESOLV_CONF: '/etc/r', PERL5LIB: '/sup/perl' };
const caller = { HOME: '/tmp/fake-home', XDG_STATE_HOME: '/tmp/planted-trust-db', XDG_CONFIG_HOME: '/tmp/other-config', PATH: '/home/u/bin:/usr/bin', ZDOTDIR: '/home/u/.zsh', SBX_RESOLV_CONF: '/tmp/r' };

describe('callerEnv', () => {
  it("the session's variables name what programs use; sbx's own places stay the supervisor's", () => {
    const { view } = callerEnv(supervisor, caller);
    expect(view.PATH).toBe('/home/u/bin:/usr/bin');
    expect(view.ZDOTDIR).toBe('/home/u/.zsh');
    expect(view.PERL5LIB).toBeUndefined(); // not the session's: the supervisor's is not used either
    expect(view.HOME).toBe('/home/u');
    expect(view.XDG_STATE_HOME).toBe('/home/u/.local/state'); // the trust db the supervisor writes
    expect(view.XDG_CONFIG_HOME).toBeUndefined(); // the supervisor has none: the caller's is not taken
    expect(view.SBX_RESOLV_CONF).toBe('/etc/r');
  });

  it('keeps what was read, with its value (absent ones left out)', () => {
    const env = callerEnv(supervisor, caller);
    void env.view.PATH;
    void env.view.NOT_SET;
    void env.view.HOME;
    // HOME with the caller's value: the floors of its places are rebuilt from it after a restart.
    expect(env.read()).toEqual({ HOME: '/tmp/fake-home', PATH: '/home/u/bin:/usr/bin' });
  });

  it("the caller's own places, only where they differ, for their floors (the rest as the view); reads noted", () => {
    const env = callerEnv(supervisor, caller);
    expect(env.floors?.HOME).toBe('/tmp/fake-home');
    expect(env.floors?.XDG_CONFIG_HOME).toBe('/tmp/other-config');
    expect(env.floors?.XDG_STATE_HOME).toBe('/tmp/planted-trust-db');
    expect(env.floors?.PATH).toBe('/home/u/bin:/usr/bin');
    expect(env.floors?.SBX_RESOLV_CONF).toBe('/etc/r'); // sbx's knobs stay the supervisor's
    expect(env.read()).toEqual({ HOME: '/tmp/fake-home', PATH: '/home/u/bin:/usr/bin', SBX_RESOLV_CONF: '/etc/r', XDG_CONFIG_HOME: '/tmp/other-config', XDG_STATE_HOME: '/tmp/planted-trust-db' });
    // A resumed session (its kept variables as the caller's) has the same floors env.
    expect(callerEnv(supervisor, { ...env.read(), HOME: '/tmp/fake-home' }).floors?.XDG_CONFIG_HOME).toBe('/tmp/other-config');
    // Twin: the same places as the supervisor's: no second environment at all.
    expect(callerEnv(supervisor, { ...caller, HOME: '/home/u', XDG_STATE_HOME: '/home/u/.local/state', XDG_CONFIG_HOME: undefined as unknown as string }).floors).toBeUndefined();
  });
});
