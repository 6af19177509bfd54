/**
 * The one place the macOS shell asks "which policy applies in this directory?". It is
 * answered by the policy engine's `resolvePolicyForDir` (src/policy/index.ts); the
 * import is by name at run time so this backend builds before, and does not depend on
 * the internals of, the policy module. No answer means no shell: never unsandboxed.
 */
import { SbxError } from '../../errors.js';
import type { CompiledPolicy } from '../../policy/compiled.js';

export type PolicyResolver = (dir: string, env: Record<string, string>) => Promise<CompiledPolicy>;

function isCompiled(x: unknown): x is CompiledPolicy {
  const p = x as CompiledPolicy | undefined;
  return !!p && typeof p === 'object' && !!p.read && !!p.write && !!p.exec && !!p.net && !!p.unix;
}

export const resolvePolicyForDir: PolicyResolver = async (dir, env) => {
  const spec = '../../policy/index.js';
  let mod: { resolvePolicyForDir?: (dir: string, options?: unknown) => unknown };
  try {
    mod = (await import(spec)) as typeof mod;
  } catch (cause) {
    throw new SbxError('the policy engine (src/policy/index.ts) is not available', { exitCode: 70, cause });
  }
  if (typeof mod.resolvePolicyForDir !== 'function')
    throw new SbxError('the policy engine does not export resolvePolicyForDir', { exitCode: 70 });
  const result = await mod.resolvePolicyForDir(dir, { env });
  // Accept the compiled policy itself or a result object carrying it.
  const policy = isCompiled(result) ? result : (result as { policy?: unknown } | undefined)?.policy;
  if (!isCompiled(policy)) throw new SbxError(`resolvePolicyForDir(${dir}) returned no compiled policy`, { exitCode: 70 });
  return policy;
};
