/**
 * Unix-socket defaults added to every compiled policy by prepareNetwork:
 *   - docker.sock (/run/docker.sock, /var/run/docker.sock, ~/.docker/run/docker.sock,
 *     $XDG_RUNTIME_DIR/docker.sock) denied: a docker socket is root on the host. An explicit
 *     `net.unix` rule naming the same path overrides this default.
 *   - sbx's own socket directory ($XDG_RUNTIME_DIR/sbx, /tmp/sbx-$UID) denied as a floor:
 *     nothing inside may talk to the supervisor (DESIGN invariant 3).
 * Abstract sockets ("@name") are decided by the same section; with `net.unix` absent they
 * are allowed like everything else, with a `net.unix` allow-list only the listed ones.
 */
import { join } from 'node:path';
import type { CompiledPolicy, PathRule, RuleOrigin } from '../policy/compiled.js';

export function sbxSocketDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = [`/tmp/sbx-${process.getuid?.() ?? 0}`];
  if (env.XDG_RUNTIME_DIR) dirs.unshift(join(env.XDG_RUNTIME_DIR, 'sbx'));
  return dirs;
}

export function dockerSockets(env: NodeJS.ProcessEnv = process.env): string[] {
  const out = ['/run/docker.sock', '/var/run/docker.sock'];
  if (env.HOME) out.push(join(env.HOME, '.docker', 'run', 'docker.sock'));
  if (env.XDG_RUNTIME_DIR) out.push(join(env.XDG_RUNTIME_DIR, 'docker.sock'));
  return out;
}

/** Returns the policy with the unix defaults appended (origins too); idempotent per path. */
export function withUnixDefaults(policy: CompiledPolicy, env: NodeJS.ProcessEnv = process.env): CompiledPolicy {
  const origins: RuleOrigin[] = [...policy.origins];
  const rules: PathRule[] = [...policy.unix.rules];
  const has = (pattern: string, effect?: string) =>
    rules.some((r) => r.pattern === pattern && (effect === undefined || r.effect === effect));
  const add = (pattern: string, floor: boolean, text: string) => {
    const rule = origins.length;
    origins.push({ source: 'built-in (sbx net)', text, section: floor ? 'protect' : 'unix' });
    rules.push({ rule, effect: 'deny', match: 'subtree', pattern, floor });
  };
  for (const p of dockerSockets(env)) if (!has(p)) add(p, false, 'docker.sock');
  for (const p of sbxSocketDirs(env)) if (!has(p, 'deny')) add(p, true, "sbx's own socket");
  return { ...policy, origins, unix: { ...policy.unix, rules } };
}
