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
import { buildPolicy } from './compile.js';
import { nameservers } from './dns.js';
import { namesToResolve } from './hosts.js';
import { NetNames } from './names.js';
import { FilteringProxy, type ProxyDenial } from './proxy.js';
import { NameTable, startRefresher } from './refresh.js';
import { createResolver, type Resolver } from './resolve.js';
import { withUnixDefaults } from './unix.js';

export { canonicalIp } from './ip.js';
export { NetNames } from './names.js';
export { createResolver, HostsFileResolver, DnsResolver, type Resolver } from './resolve.js';
export type { ProxyDenial } from './proxy.js';

export interface NetworkOptions {
  /** Environment to read SBX_HOSTS_FILE / XDG_RUNTIME_DIR / HOME from; default process.env. */
  env?: NodeJS.ProcessEnv;
  resolver?: Resolver;
  /** Default /etc/resolv.conf. */
  resolvConf?: string;
  /** A refreshed snapshot (same id) after resolved addresses changed: hand it to engineSetPolicy. */
  onPolicy?: (policy: CompiledPolicy) => void;
  /** A request the proxy refused (the engine reports direct connects itself). */
  onDeny?: (denial: ProxyDenial) => void;
  /** Share the reverse map between sessions. */
  names?: NetNames;
  /** How long an address that left the DNS answers stays allowed (ms). Default 60 s. */
  graceMs?: number;
  /** Start the proxy: 'auto' (when the policy has hostnames or wildcards), 'always', 'never'. */
  proxy?: 'auto' | 'always' | 'never';
}

export interface PreparedNetwork {
  /** The policy to hand to the engine: resolved rules, DNS, proxy port, unix defaults. */
  policy: CompiledPolicy;
  /** Variables to add to the launched program's environment (proxy settings); {} without a proxy. */
  env: Record<string, string>;
  names: NetNames;
  proxyPort: number | undefined;
  /** "name (addr:port)" for an engine event target when the name is known. */
  describe(target: string): string;
  close(): Promise<void>;
}

export function proxyEnv(port: number): Record<string, string> {
  const http = `http://127.0.0.1:${port}`;
  // socks5h: the proxy resolves names, so a proxied program needs no DNS of its own.
  const socks = `socks5h://127.0.0.1:${port}`;
  const noProxy = 'localhost,127.0.0.1,::1';
  return {
    HTTP_PROXY: http,
    HTTPS_PROXY: http,
    ALL_PROXY: socks,
    NO_PROXY: noProxy,
    http_proxy: http,
    https_proxy: http,
    all_proxy: socks,
    no_proxy: noProxy,
  };
}

export async function prepareNetwork(policy: CompiledPolicy, options: NetworkOptions = {}): Promise<PreparedNetwork> {
  const env = options.env ?? process.env;
  const resolver = options.resolver ?? createResolver(env);
  const names = options.names ?? new NetNames();
  const hosts = policy.net.hosts ?? [];
  const base = withUnixDefaults(policy, env);
  const servers = nameservers(options.resolvConf);

  const toResolve = namesToResolve(hosts);
  const table = new NameTable(resolver, names, options.graceMs);
  const first = await table.refresh(toResolve);

  const wantProxy = options.proxy === 'always' || (options.proxy !== 'never' && hosts.length > 0);
  let current: CompiledPolicy = base;
  const proxy = wantProxy
    ? new FilteringProxy({ policy: { net: () => current.net }, resolver, names, onDeny: options.onDeny })
    : undefined;
  const proxyPort = proxy ? await proxy.start() : undefined;
  const rebuild = () => buildPolicy({ base, resolved: table.current(), nameservers: servers, proxyPort });
  current = rebuild();

  const refresher =
    toResolve.length > 0
      ? startRefresher(table, toResolve, first.nextMs, () => {
          current = rebuild();
          options.onPolicy?.(current);
        })
      : undefined;

  return {
    get policy() {
      return current;
    },
    env: proxyPort === undefined ? {} : proxyEnv(proxyPort),
    names,
    proxyPort,
    describe: (target) => names.describe(target),
    async close() {
      refresher?.stop();
      await proxy?.close();
    },
  };
}
