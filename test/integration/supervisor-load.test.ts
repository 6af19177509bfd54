/**
 * Load: 50 sessions × 4 processes opening an allowed and a denied file for ~24 s against
 * one supervisor. Each process checks every decision itself (allowed → right content,
 * denied → EACCES) and must finish: a lost decision would hang it, a wrong one is counted.
 * Sessions go straight through the launcher (no node per client), like a shell hook would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { fixtures, makeProject, makeSandbox, until, type Sandbox } from './supervisor-helpers.js';

let sb: Sandbox;
beforeAll(() => {
  sb = makeSandbox('load');
});
afterAll(() => sb.cleanup());

const SESSIONS = 50;
const PROCS = 4;
const DURATION_MS = 24_000;

describe('supervisor under load', () => {
  it(`${SESSIONS} sessions × ${PROCS} processes: no lost or wrong decision`, { timeout: 120_000 }, async () => {
    const p = makeProject(join(sb.home, 'load'));
    expect(sb.sbx(['daemon', 'start']).code).toBe(0);
    const opener = join(fixtures, 'sup_opener');
    const one = `${opener} ${p}/public.txt 'PUBLIC\n' ${p}/secret.txt ${DURATION_MS}`;
    const script = `for i in $(seq ${PROCS}); do ${one} & done; wait`;
    const runs = Array.from({ length: SESSIONS }, () => sb.spawnSession(['sh', '-c', script], { cwd: p }));
    // Watch the supervisor while the load runs: every session must show up as served.
    let finished = false;
    const all = Promise.all(runs.map((r) => r.done)).finally(() => (finished = true));
    const seen = new Set<string>();
    let peakRss = 0;
    let peakSessions = 0;
    while (!finished) {
      try {
        const st = sb.status();
        for (const s of st.sessions) if (s.decisions > 0) seen.add(s.id);
        peakRss = Math.max(peakRss, st.supervisor.rssBytes);
        peakSessions = Math.max(peakSessions, st.sessions.length);
      } catch {
        // a slow answer under load: ask again
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(seen.size).toBe(SESSIONS);
    const results = await all;
    let ok = 0;
    let denied = 0;
    for (const r of results) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const lines = r.stdout.split('\n').filter((l) => l.startsWith('ok='));
      expect(lines).toHaveLength(PROCS);
      for (const l of lines) {
        const c = Object.fromEntries(l.split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
        expect(c.wrong).toBe(0);
        expect(c.enosys).toBe(0);
        expect(c.ok).toBeGreaterThan(0);
        expect(c.denied).toBe(c.ok);
        ok += c.ok;
        denied += c.denied;
      }
    }
    process.stdout.write(`load: ${ok} allowed + ${denied} denied opens verified; supervisor RSS at peak ${(peakRss / 1048576).toFixed(1)} MiB with ${peakSessions} sessions at once\n`);
    await until('sessions ended', () => sb.status().sessions.length === 0, 30_000);
  });
});
