/**
 * The network side of a sandbox launch, for `sbx exec` (src/platform/linux/exec.ts) and
 * the supervisor: `prepareNetwork(policy)` resolves the policy's hostnames into address
 * rules, allows DNS as far as those names need it, adds the unix-socket defaults, starts
 * the filtering proxy when names or wildcards are in play, and keeps the addresses fresh.
 *
 *   const net = await prepareNetwork(policy, { onPolicy: (p) => engineSetPolicy(engine, p) });
 *   engineSetPolicy(engine, net.policy);  // launch with { ...env, ...net.env }
 *   … log a denial: net.describe(event.target) → "api.example.test (127.0.0.2:443)"
 *   await net.close();                    // when the session/command ends
 *
 * Where hostnames come from: `policy.net.hosts` (HostRule[] in src/policy/compiled.ts), which
 * the policy compiler fills next to the IP/CIDR NetRules (and the addresses it resolved,
 * which prepareNetwork replaces with its own, kept fresh).
 */
import type { CompiledPolicy } from '../policy/compiled.js';
import { finishPolicy, type FinishedPolicy } from '../policy/finish.js';
import { planNames, planOf } from '../policy/net-plan.js';
import { nameservers } from './dns.js';
import { NetworkManager, type NetworkOptions } from './manager.js';
import type { NetNames } from './names.js';
import { createResolver } from './resolve.js';

export { NetworkManager, proxyEnv, type NetworkOptions, type ProxyAdmission } from './manager.js';
export { canonicalIp } from './ip.js';
export { NetNames, describeDenial } from './names.js';
export { createResolver, HostsFileResolver, DnsResolver, type Resolver } from './resolve.js';
export type { ProxyDenial } from './proxy.js';

export interface PrepareOptions extends NetworkOptions {
  /** Start the proxy: 'auto' (when the policy has host names or wildcards), 'always', 'never'. */
  proxy?: 'auto' | 'always' | 'never';
}

export interface PreparedNetwork {
  /** The policy to hand to the engine (latest snapshot): resolved rules, DNS, proxy port, unix defaults. */
  readonly policy: CompiledPolicy;
  /** Variables to add to the launched program's environment (proxy settings); {} without a proxy. */
  env: Record<string, string>;
  names: NetNames;
  proxyPort: number | undefined;
  /** Prepares another policy (a per-program override) the same way; refreshed through onPolicy too. */
  prepare(policy: CompiledPolicy): Promise<CompiledPolicy>;
  /** "name (addr:port)" for an engine event target when the name is known. */
  describe(target: string): string;
  close(): Promise<void>;
}

export async function prepareNetwork(policy: CompiledPolicy, options: PrepareOptions = {}): Promise<PreparedNetwork> {
  const manager = new NetworkManager(options);
  const hosts = policy.net.hosts ?? [];
  if (options.proxy === 'always' || (options.proxy !== 'never' && hosts.length > 0)) await manager.startProxy();
  await manager.prepare(policy);
  manager.setActive(policy.id);
  return {
    get policy() {
      return manager.current(policy.id)!;
    },
    env: manager.proxyVars,
    names: manager.names,
    proxyPort: manager.proxyPort,
    prepare: (p) => manager.prepare(p),
    describe: (target) => manager.describe(target),
    close: () => manager.close(),
  };
}

/** A name's addresses now, by the resolver sbx uses (SBX_HOSTS_FILE in tests, else DNS). */
export async function resolveName(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  return (await createResolver(env).resolve(name).catch(() => ({ addresses: [] as string[] }))).addresses;
}

/**
 * The finished policy as a session would hand it to its engine, for `sbx check` and
 * `sbx policy`: names resolved now, DNS; no proxy port (none runs for an explanation).
 */
export async function finishNow(policy: CompiledPolicy, env: NodeJS.ProcessEnv = process.env): Promise<FinishedPolicy> {
  const names = planNames(planOf(policy.net));
  const resolved = new Map(await Promise.all(names.map(async (n) => [n, await resolveName(n, env)] as const)));
  return finishPolicy(policy, { resolved, nameservers: nameservers(env.SBX_RESOLV_CONF), env });
}
