/**
 * Unix-socket defaults added to every compiled policy by prepareNetwork:
 *   - container engines (docker, podman, containerd: src/policy/deputies.ts) denied: root on
 *     the host. An explicit `net.unix` rule naming the same path overrides this default.
 *   - the other known deputies (ssh-agent, gpg-agent, D-Bus, systemd, tmux, screen, X) as
 *     `deputy` rules: refused when their server runs outside the sandbox session unless the
 *     socket itself is named (a broader allow does not reach them); one the session started
 *     stays reachable.
 *   - sbx's own socket directory ($XDG_RUNTIME_DIR/sbx, /tmp/sbx-$UID) denied as a floor:
 *     nothing inside may talk to the supervisor (DESIGN invariant 3).
 * Every other socket is decided by the engine's rule (compiled.ts UnixSection): reachable
 * when named, or when its server is a member of the session. Abstract sockets ("@name") are
 * decided by the same section.
 */
import { join } from 'node:path';
import type { CompiledPolicy, PathRule, RuleOrigin } from '../policy/compiled.js';
import { deputyPatterns } from '../policy/deputies.js';

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

export const UNIX_DEFAULTS_SOURCE = 'built-in (sbx net)';

/** Returns the policy with the unix defaults appended (origins too); idempotent per path. */
export function withUnixDefaults(policy: CompiledPolicy, env: NodeJS.ProcessEnv = process.env): CompiledPolicy {
  const origins: RuleOrigin[] = [...policy.origins];
  const rules: PathRule[] = [...policy.unix.rules];
  const has = (pattern: string, effect?: string) =>
    rules.some((r) => r.pattern === pattern && (effect === undefined || r.effect === effect));
  const origin = (text: string, floor: boolean) => {
    const existing = origins.findIndex((o) => o.source === UNIX_DEFAULTS_SOURCE && o.text === text);
    if (existing >= 0) return existing;
    origins.push({ source: UNIX_DEFAULTS_SOURCE, text, section: floor ? 'protect' : 'unix' });
    return origins.length - 1;
  };
  const add = (pattern: string, floor: boolean, text: string) =>
    rules.push({ rule: origin(text, floor), effect: 'deny', match: 'subtree', pattern, floor });
  for (const p of dockerSockets(env)) if (!has(p)) add(p, false, 'docker.sock');
  for (const d of deputyPatterns(env)) {
    if (d.deputy.alwaysDeny) {
      // Like docker.sock: a plain deny; an explicit rule for the same path is the user's choice.
      if (d.literal !== undefined && !has(d.literal)) add(d.literal, false, `${d.deputy.name}: ${d.deputy.why}`);
      continue;
    }
    if (has(d.pattern, 'deny')) continue;
    rules.push({ rule: origin(`${d.deputy.name}: ${d.deputy.why}`, false), effect: 'deny', match: 'glob', pattern: d.pattern, floor: false, deputy: true });
  }
  for (const p of sbxSocketDirs(env)) if (!has(p, 'deny')) add(p, true, "sbx's own socket");
  return { ...policy, origins, unix: { ...policy.unix, rules } };
}
