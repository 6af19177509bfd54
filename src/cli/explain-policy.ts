/**
 * The policy `sbx check` and `sbx policy` explain: exactly what a session would install
 * for the same source — compiled with broken files kept at their last good version (read
 * from sbx's state, never written here) or the strict fallback, then finished (names
 * resolved with the trust check after resolution, DNS, unix defaults). Every problem
 * with a file goes to stderr, with what is in force instead.
 */
import type { CompiledPolicy } from '../policy/compiled.js';
import { resolvePolicy, type ResolvedPolicy } from '../policy/index.js';
import { stateLastGood } from '../policy/last-good.js';
import type { PolicySpec } from '../policy/compose.js';

export interface ExplainedPolicy {
  resolved: ResolvedPolicy;
  /** The finished main policy. */
  policy: CompiledPolicy;
  /** The finished overrides (same ids as resolved.overrides). */
  overrides: CompiledPolicy[];
  dropped: string[];
  warnings: string[];
}

export async function resolveForExplain(spec: PolicySpec, env: NodeJS.ProcessEnv = process.env): Promise<ExplainedPolicy> {
  const resolved = await resolvePolicy(spec, { env, onBroken: 'keep', lastGood: stateLastGood(env, false) });
  for (const b of resolved.broken) {
    const n = `${b.issues.length} problem${b.issues.length === 1 ? '' : 's'}`;
    const kept = b.kept === 'last good' ? 'its last good version is in force' : 'no good version is known: the strict fallback is in force';
    process.stderr.write(`sbx: ${b.file}: invalid policy file (${n}); ${kept}\n${b.issues.map((i) => `  ${i}\n`).join('')}`);
  }
  const { finishNow } = await import('../net/index.js');
  const main = await finishNow(resolved.policy, env);
  const overrides = await Promise.all(resolved.overrides.map((o) => finishNow(o, env)));
  const dropped = [...resolved.dropped];
  const warnings = [...resolved.warnings];
  for (const f of [main, ...overrides]) {
    for (const d of f.dropped) if (!dropped.includes(d)) dropped.push(d);
    for (const w of f.warnings) if (!warnings.includes(w)) warnings.push(w);
  }
  return { resolved, policy: main.policy, overrides: overrides.map((o) => o.policy), dropped, warnings };
}
