/**
 * `sbx policy --seatbelt [--dir D]` prints, on any platform, the profile the macOS backend
 * would load for D: the same text as seatbeltProfile() of the policy resolved for D.
 */
import { describe, expect, it } from 'vitest';
import { execaSync } from 'execa';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolvePolicyForDir } from '../../src/policy/index.js';
import { seatbeltProfile } from '../../src/platform/macos/profile.js';
import { parseSbpl, evaluate } from '../unit/macos/sbpl-eval.js';
import { makeHome, sbxBin } from '../e2e/tmux.js';

describe('sbx policy --seatbelt', () => {
  it('prints the profile for --dir: the project secret denied, its sibling allowed', async () => {
    const sb = makeHome('sbx-macos-cli-');
    const proj = join(sb.root, 'proj');
    mkdirSync(proj);
    writeFileSync(join(proj, '.sbx.yaml'), 'version: 1\nread:\n  deny: ["secret.txt"]\n');
    const out = execaSync(sbxBin, ['policy', '--seatbelt', '--dir', proj], { env: sb.env, extendEnv: false, stripFinalNewline: false }).stdout;
    const expected = seatbeltProfile((await resolvePolicyForDir(proj, { env: sb.env })).policy);
    expect(out.trimEnd()).toBe(expected.trimEnd());
    const forms = parseSbpl(out);
    expect(evaluate(forms, { op: 'file-read-data', path: `${proj}/secret.txt` })).toBe('deny');
    expect(evaluate(forms, { op: 'file-read-data', path: `${proj}/public.txt` })).toBe('allow');
    rmSync(sb.root, { recursive: true, force: true });
  });
});
