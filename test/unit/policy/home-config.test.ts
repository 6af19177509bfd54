import { describe, expect, it } from 'vitest';
import { homeWritable, sandboxCacheDir, configElsewhere } from '../../../src/policy/home-config.js';

describe('home configuration places', () => {
  it('the sandbox cache sits in the user cache; a nested exec keeps the one it is in', () => {
    expect(sandboxCacheDir('/home/u', {})).toBe('/home/u/.cache/sbx-sandbox');
    expect(sandboxCacheDir('/home/u', { XDG_CACHE_HOME: '/var/cache/u' })).toBe('/var/cache/u/sbx-sandbox');
    expect(sandboxCacheDir('/home/u', { XDG_CACHE_HOME: '/var/cache/u/sbx-sandbox' })).toBe('/var/cache/u/sbx-sandbox');
    expect(sandboxCacheDir('/home/u', { XDG_CACHE_HOME: 'relative' })).toBe('/home/u/.cache/sbx-sandbox');
  });

  it('XDG dirs outside the home are covered; inside a dot-entry, or relative, they are not listed again', () => {
    expect(configElsewhere('/home/u', { XDG_CONFIG_HOME: '/home/u/.config', XDG_DATA_HOME: '/srv/data/', XDG_CACHE_HOME: 'rel' })).toEqual(['/srv/data']);
    // A nested exec's cache variable names the sandbox cache: the user cache above it is the one covered.
    expect(configElsewhere('/home/u', { XDG_CACHE_HOME: '/var/cache/u/sbx-sandbox' })).toEqual(['/var/cache/u']);
    expect(configElsewhere('/home/u', { XDG_CONFIG_HOME: '/' })).toEqual([]);
    expect(configElsewhere('/home/u', { XDG_DATA_HOME: '/home' })).toEqual([]); // holds the home: never the whole of it
  });

  it('XDG state kept elsewhere is covered too (mise and nvim keep trust lists there)', () => {
    expect(configElsewhere('/home/u', { XDG_STATE_HOME: '/srv/state' })).toEqual(['/srv/state']);
    expect(configElsewhere('/home/u', { XDG_STATE_HOME: '/home/u/.local/state' })).toEqual([]);
  });

  it('what stays writable: histories, fish data, the sandbox cache — not XDG state, not ~/.cache itself', () => {
    const w = homeWritable('/home/u', {});
    expect(w).toContain('/home/u/.bash_history');
    expect(w).toContain('/home/u/.local/share/fish');
    expect(w).toContain('/home/u/.cache/sbx-sandbox');
    expect(w).not.toContain('/home/u/.local/state');
    expect(w).not.toContain('/home/u/.cache');
  });

  it("fish's data dir is no exception when it is fish's config dir too (fish_variables is code); twin: apart, it is", () => {
    expect(homeWritable('/home/u', { XDG_DATA_HOME: '/home/u/x', XDG_CONFIG_HOME: '/home/u/x' })).not.toContain('/home/u/x/fish');
    expect(homeWritable('/home/u', { XDG_DATA_HOME: '/home/u/.config' })).not.toContain('/home/u/.config/fish');
    expect(homeWritable('/home/u', { XDG_DATA_HOME: '/home/u/x' })).toContain('/home/u/x/fish');
  });
});
