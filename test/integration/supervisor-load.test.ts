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
    const peak = await until('all sessions live', () => {
      let st;
      try {
        st = sb.status();
      } catch {
        return undefined; // a slow answer under load: ask again
      }
      return st.sessions.length === SESSIONS && st.sessions.every((s) => s.decisions > 0) ? st : undefined;
    }, 60_000);
    expect(new Set(peak.sessions.map((s) => s.id)).size).toBe(SESSIONS);
    const results = await Promise.all(runs.map((r) => r.done));
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
    process.stdout.write(`load: ${ok} allowed + ${denied} denied opens verified; supervisor RSS at peak ${(peak.supervisor.rssBytes / 1048576).toFixed(1)} MiB\n`);
    await until('sessions ended', () => sb.status().sessions.length === 0, 30_000);
  });
});
