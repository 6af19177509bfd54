/**
 * The one place the macOS shell asks "which policy applies in this directory?": the
 * policy engine's resolvePolicyForDir, with the environment `sbx shell` was started with
 * (for ~ and $VAR). It throws PolicyError on a bad file; the shell then keeps the profile
 * it has. No answer at start means no shell: never an unsandboxed one.
 */
import type { CompiledPolicy } from '../../policy/compiled.js';
import { resolvePolicyForDir as resolveForDir } from '../../policy/index.js';

export type PolicyResolver = (dir: string, env: Record<string, string>) => Promise<CompiledPolicy>;

export const resolvePolicyForDir: PolicyResolver = async (dir, env) => (await resolveForDir(dir, { env })).policy;
