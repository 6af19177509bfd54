/**
 * The keeper's session state (src/protocol/keeper.ts): what a resumed supervisor takes from
 * it. A malformed upstream or nested entry is left out — its processes then run under the
 * strictest policy, never a wider one — and a nested entry must name an older policy.
 */
import { describe, expect, it } from 'vitest';
import { stateEnv, stateLine, stateNested, stateUpstream, type SessionState } from '../../../src/protocol/keeper.js';

const base: SessionState = { v: 2, sources: [], root: 0, strict: 1, nextId: 5 };

describe('session state', () => {
  it('round-trips upstream and nested policies through the state line', () => {
    const s: SessionState = {
      ...base,
      upstream: { url: 'http://proxy.corp:3128', noProxy: ['.corp'] },
      env: { PATH: '/home/u/bin:/usr/bin', ZDOTDIR: '/home/u/.zsh' },
      nested: [{ id: 3, within: 2, cwd: '/home/u/p', args: ['--deny-net'] }, { id: 4, within: 3, cwd: '/home/u/p', args: [] }],
    };
    const back = JSON.parse(stateLine(s).slice('state '.length)) as SessionState;
    expect(stateUpstream(back)).toEqual(s.upstream);
    expect(stateEnv(back)).toEqual(s.env);
    expect(stateNested(back)).toEqual(s.nested);
  });

  it('absent fields: no upstream, no nested policies (a state from an older supervisor)', () => {
    expect(stateUpstream(base)).toBeUndefined();
    expect(stateEnv(base)).toBeUndefined(); // the supervisor's own variables are used
    expect(stateNested(base)).toEqual([]);
  });

  it('leaves out malformed entries, and nested ones not within an older policy', () => {
    const bad = {
      ...base,
      upstream: { url: 7, noProxy: [] },
      env: { PATH: 7 },
      nested: [
        { id: 3, within: 2, cwd: '/p', args: ['--deny-net'] }, // kept
        { id: 4, within: 4, cwd: '/p', args: [] }, // within itself
        { id: 5, within: 6, cwd: '/p', args: [] }, // within a newer one
        { id: 6, within: 2, cwd: 'relative', args: [] },
        { id: 7, within: 2, cwd: '/p', args: [1] },
        { id: 0, within: 2, cwd: '/p', args: [] },
        null,
      ],
    } as unknown as SessionState;
    expect(stateUpstream(bad)).toBeUndefined();
    expect(stateEnv(bad)).toBeUndefined();
    expect(stateEnv({ ...base, env: ['PATH=/x'] } as unknown as SessionState)).toBeUndefined();
    expect(stateNested(bad)).toEqual([{ id: 3, within: 2, cwd: '/p', args: ['--deny-net'] }]);
  });
});
