/**
 * PolicyCache (src/supervisor/policy-cache.ts): a directory's policy is shared by the sessions
 * whose variables the build read are the same, and built again for a session whose differ (a
 * terminal with another PATH): its PATH directory is a floor there, and only there.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decidePath } from '../../../src/policy/match.js';
import { callerEnv } from '../../../src/supervisor/caller-env.js';
import { PolicyCache } from '../../../src/supervisor/policy-cache.js';
import { tempWorld } from '../policy/helpers.js';

/** Past the cache's settle time (a file changed within the last second is not kept). */
const settle = () => new Promise((r) => setTimeout(r, 1100));

/** A world with `proj/.sbx.yaml` holding `yaml`, a directory `bin` (below the home) made, and the files settled. */
async function settledProject(yaml: string, bin: string) {
  const w = tempWorld();
  mkdirSync(join(w.home, bin), { recursive: true });
  w.write('proj/.sbx.yaml', yaml);
  await settle();
  return { w, proj: join(w.root, 'proj'), bin: join(w.home, bin) };
}

describe('PolicyCache', () => {
  it("one build per set of the variables read: the same session variables share it, another PATH gets its own, with its bin dir a floor", async () => {
    const { w, proj, bin: tools } = await settledProject('version: 1\nread:\n  deny: ["secret"]\n', 'tools/bin');
    const cache = new PolicyCache(w.env);
    const plain = callerEnv(w.env, { PATH: w.env.PATH! });
    const withTools = callerEnv(w.env, { PATH: `${tools}:${w.env.PATH}` });
    const a = await cache.get({ kind: 'dir', dir: proj }, plain.view);
    const again = await cache.get({ kind: 'dir', dir: proj }, callerEnv(w.env, { PATH: w.env.PATH! }).view);
    const b = await cache.get({ kind: 'dir', dir: proj }, withTools.view);
    expect(again.generation).toBe(a.generation); // shared
    expect(b.generation).not.toBe(a.generation); // built for its own PATH
    expect(b.effectiveKey).toBe(a.effectiveKey);
    const planted = join(tools, 'git');
    expect(decidePath(a.resolved.main.write, planted).effect).toBe('allow'); // not on that session's PATH
    expect(decidePath(b.resolved.main.write, planted).effect).toBe('deny');
    expect(withTools.read().PATH).toBe(`${tools}:${w.env.PATH}`); // what the keeper keeps
    expect((await cache.get({ kind: 'dir', dir: proj }, withTools.view)).generation).toBe(b.generation);
  });

  it("the supervisor's own floors stay in a session's policy built from other variables (the node a restarted supervisor runs)", async () => {
    const { w, proj, bin: supervisorBin } = await settledProject('version: 1\n', 'node-v20/bin');
    const cache = new PolicyCache({ ...w.env, PATH: `${supervisorBin}:${w.env.PATH}`, ZDOTDIR: join(w.home, 'zdot') });
    const session = await cache.get({ kind: 'dir', dir: proj }, callerEnv(w.env, { PATH: w.env.PATH! }).view);
    const write = session.resolved.main.write;
    expect(decidePath(write, join(supervisorBin, 'node')).effect).toBe('deny');
    expect(decidePath(write, join(w.home, 'zdot', '.zshrc')).effect).toBe('deny');
    const why = session.resolved.main.origins[write.rules.find((r) => r.pattern.startsWith(supervisorBin))!.rule]!;
    expect(why.source).toMatch(/the supervisor's environment/);
    expect(decidePath(write, join(w.home, 'notes', 'x.txt')).effect).toBe('allow'); // the twin
  });

  it("a terminal's own HOME and XDG_* (sbx's places stay the supervisor's) add their floors: its start files and hook cache", async () => {
    const { w, proj } = await settledProject('version: 1\n', 'node-v20/bin');
    const cache = new PolicyCache(w.env);
    const other = join(w.home, 'elsewhere');
    const caller = callerEnv(w.env, { PATH: w.env.PATH!, HOME: other, XDG_STATE_HOME: join(other, 'state') });
    const session = await cache.get({ kind: 'dir', dir: proj }, caller.view, caller.floors);
    const write = session.resolved.main.write;
    expect(decidePath(write, join(other, '.bashrc')).effect).toBe('deny');
    expect(decidePath(write, join(other, 'state', 'sbx', 'hook-cache', 'bash')).effect).toBe('deny');
    const why = session.resolved.main.origins[write.rules.find((r) => r.pattern.startsWith(other))!.rule]!;
    expect(why.source).toMatch(/the terminal's own HOME and XDG_\*/);
    expect(decidePath(write, join(w.home, '.bashrc')).effect).toBe('deny'); // the supervisor's own, still
    expect(decidePath(write, join(other, 'notes.txt')).effect).toBe('allow'); // the twin
    // Its home configuration too (not a floor: code tools load later), with its exception for histories.
    expect(decidePath(write, join(other, '.tmux.conf')).effect).toBe('deny');
    expect(decidePath(write, join(other, '.bash_history')).effect).toBe('allow');
    // Without the caller's places, none of its floors.
    const plain = await cache.get({ kind: 'dir', dir: proj }, caller.view);
    expect(decidePath(plain.resolved.main.write, join(other, '.bashrc')).effect).toBe('allow');
  });

  it("the caller's home configuration exceptions are carried only where the policy allowed them: a project denying that home keeps its history denied", async () => {
    const w0 = tempWorld();
    const other = join(w0.home, 'elsewhere');
    const { w, proj } = await settledProject(`version: 1\nwrite:\n  deny: ["${other}"]\n`, 'bin');
    const caller = callerEnv(w.env, { PATH: w.env.PATH!, HOME: other });
    const write = (await new PolicyCache(w.env).get({ kind: 'dir', dir: proj }, caller.view, caller.floors)).resolved.main.write;
    expect(decidePath(write, join(other, '.bash_history')).effect).toBe('deny');
    expect(decidePath(write, join(other, '.tmux.conf')).effect).toBe('deny');
  });

  it("a served sbx exec resumed after a restart (its source keeps the variables it was built from) gets the same floors: the supervisor's own and the terminal's own places", async () => {
    const { w, proj, bin: supervisorBin } = await settledProject('version: 1\n', 'node-v20/bin');
    const cache = new PolicyCache({ ...w.env, PATH: `${supervisorBin}:${w.env.PATH}` });
    const other = join(w.home, 'elsewhere');
    const caller = callerEnv(w.env, { PATH: w.env.PATH!, HOME: other });
    // What the keeper keeps: the source, with the variables its build read (policies.ts resolveExecSource).
    const source = { kind: 'exec' as const, cwd: proj, args: ['--', 'true'], env: { PATH: w.env.PATH!, HOME: w.env.HOME! } };
    const resumed = (await cache.get(source, caller.view, caller.floors)).resolved.main.write;
    expect(decidePath(resumed, join(supervisorBin, 'node')).effect).toBe('deny');
    expect(decidePath(resumed, join(other, '.bashrc')).effect).toBe('deny');
    expect(decidePath(resumed, join(other, '.tmux.conf')).effect).toBe('deny');
    expect(decidePath(resumed, join(other, 'notes.txt')).effect).toBe('allow'); // the twin
    // Without the terminal's places: its start files are not the policy's business.
    const plain = (await cache.get(source, caller.view)).resolved.main.write;
    expect(decidePath(plain, join(other, '.bashrc')).effect).toBe('allow');
  });
});
