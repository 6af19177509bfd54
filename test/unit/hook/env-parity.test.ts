/**
 * The env hide/restore logic of each shell template, run in the real shell, against the
 * TypeScript reference (src/hook/env.ts, which decides with the policy model's decideEnv):
 * enter A, move to B, leave — the environment a child sees after each step must agree, and
 * after leaving it is exactly the starting one.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execaSync } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHook, SHELLS, type HookShell } from '../../../src/hook/template.js';
import { applyEnvPolicy, envHidden } from '../../../src/hook/env.js';

const dir = mkdtempSync(join(tmpdir(), 'sbx-envparity-'));
const hookFile = (shell: HookShell) => {
  const f = join(dir, `hook.${shell}`);
  writeFileSync(f, renderHook(shell, '/nonexistent/sbx'));
  return f;
};

interface Policy {
  deny: string[];
  allow: string[];
}

function replyLines(p: Policy): string[] {
  return ['sbx 1', 'prompt t', ...p.deny.map((g) => `env-deny ${g}`), ...p.allow.map((g) => `env-allow ${g}`)];
}

/** A script that sources the hook, applies each policy in turn and dumps the exported env after each. */
function script(shell: HookShell, policies: Policy[], out: string): string {
  const lines: string[] = [];
  if (shell === 'fish') {
    lines.push(`source ${hookFile(shell)}`);
    policies.forEach((p, i) => {
      lines.push(`__sbx_apply '${replyLines(p).join('\n')}'`, `env -0 > ${out}.${i}`);
    });
  } else {
    lines.push(`source ${hookFile(shell)}`);
    policies.forEach((p, i) => {
      lines.push(`__sbx_reply=(${replyLines(p).map((l) => `'${l}'`).join(' ')})`, '__sbx_apply', `env -0 > ${out}.${i}`);
    });
  }
  return `${lines.join('\n')}\n`;
}

function runShell(shell: HookShell, env: Record<string, string>, policies: Policy[]): Record<string, string>[] {
  const out = join(dir, `out-${shell}-${Math.random().toString(36).slice(2)}`);
  const file = `${out}.script`;
  writeFileSync(file, script(shell, policies, out));
  const base = { PATH: process.env.PATH!, HOME: dir, SBX_DISABLE: '1', ZDOTDIR: dir, XDG_CONFIG_HOME: dir, TERM: 'dumb' };
  const argv = shell === 'fish' ? ['--no-config', '-i', file] : shell === 'zsh' ? ['-f', '-i', file] : ['--norc', '--noprofile', '-i', file];
  // A failure throws with the command line, exit code and stderr.
  execaSync(shell, argv, { env: { ...base, ...env }, extendEnv: false, stdin: 'ignore' });
  return policies.map((_, i) => {
    const result: Record<string, string> = {};
    for (const entry of readFileSync(`${out}.${i}`, 'utf8').split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0 && entry.slice(0, eq) in env) result[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return result;
  });
}

const nameArb = fc.constantFrom('AWS_KEY', 'AWS_REGION', 'GH_TOKEN', 'MY_TOKEN', 'TOKEN', 'A', 'AB', 'A_B', 'X1', 'HOME', 'SBX_X', 'PLAIN');
const patternArb = fc.constantFrom('AWS_*', '*_TOKEN', '*TOKEN*', '*', 'A*', 'AB', 'A_B', 'X?', 'A[B]', 'AWS_REGION', 'GH_TOKEN', 'HOME', '*_*');
const valueArb = fc.string({ maxLength: 12 }).map((s) => s.replace(/\0/g, '')).chain((s) => fc.constantFrom(s, `${s} 'q' "d" $x \\ \n`));
const policyArb = fc.record({ deny: fc.array(patternArb, { maxLength: 3 }), allow: fc.array(patternArb, { maxLength: 2 }) });

describe.each(SHELLS)('%s env hide/restore', (shell) => {
  // Up to 30 real shell starts: on a loaded 2-core runner that can take a minute.
  it('matches the TypeScript reference on enter A, move to B, leave; leaving restores exactly', { timeout: 120_000 }, () => {
    fc.assert(
      fc.property(fc.dictionary(nameArb, valueArb, { minKeys: 1 }), policyArb, policyArb, (env0, a, b) => {
        const env = { ...env0 };
        delete env.HOME; // the harness sets HOME itself; it is kept anyway
        const got = runShell(shell, env, [a, b, { deny: [], allow: [] }]);
        let state = { env, hidden: {} as Record<string, string> };
        const want = [a, b, { deny: [], allow: [] }].map((p) => (state = applyEnvPolicy(state, p.deny, p.allow)).env);
        expect(got).toEqual(want);
        expect(got[2]).toEqual(env);
      }),
      { numRuns: shell === 'fish' ? 15 : 30 },
    );
  });
});

describe('env reference', () => {
  it('follows the policy model: most specific wins, deny wins ties, `*` only, kept names never hidden', () => {
    expect(envHidden('AWS_KEY', ['AWS_*'], [])).toBe(true);
    expect(envHidden('AWS_REGION', ['AWS_*'], ['AWS_REGION'])).toBe(false);
    expect(envHidden('AWS_REGION', ['AWS_REGION'], ['AWS_*'])).toBe(true);
    expect(envHidden('AB', ['A*'], ['*B'])).toBe(true); // tie: deny
    expect(envHidden('X1', ['X?'], [])).toBe(false); // ? is literal in policy patterns
    expect(envHidden('PATH', ['*'], [])).toBe(false);
    expect(envHidden('SBX_PROMPT', ['*'], [])).toBe(false);
    expect(envHidden('PLAIN', ['*'], [])).toBe(true);
  });

  it('gives back a hidden variable only if the user has not set it again', () => {
    let s = applyEnvPolicy({ env: { T_TOKEN: 'old' }, hidden: {} }, ['*_TOKEN'], []);
    expect(s).toEqual({ env: {}, hidden: { T_TOKEN: 'old' } });
    s = applyEnvPolicy({ env: { T_TOKEN: 'mine' }, hidden: s.hidden }, ['*_TOKEN'], []);
    expect(s.env).toEqual({ T_TOKEN: 'mine' });
    s = applyEnvPolicy(s, [], []);
    expect(s).toEqual({ env: { T_TOKEN: 'mine' }, hidden: {} });
  });
});
