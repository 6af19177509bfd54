/**
 * The network side of many policies sharing one proxy: what a supervisor session (and,
 * with one policy, `sbx exec`) needs. The proxy port is fixed when the manager starts, so
 * the proxy variables a session was launched with stay valid while its policy changes.
 *
 * Each policy handed to `prepare` gets its names resolved and kept fresh; the finished
 * policy is built by src/policy (finishPolicy: the trust check after resolution, DNS, the
 * proxy port, the unix defaults) — this module only supplies resolutions and nameservers,
 * and never builds or edits a rule. A refreshed snapshot (same id) goes to `onPolicy`.
 * The proxy decides each connection by the policy of the program that made it, which the
 * engine tells it (ProxyAdmission), and every policy that one was narrowed within. Without
 * an admission (macOS) it cannot tell who asks, and decides by the policy marked active (a
 * session's root process's current policy).
 */
import type { CompiledPolicy } from '../policy/compiled.js';
import { finishPolicy } from '../policy/finish.js';
import { planNames, planOf } from '../policy/net-plan.js';
import { nameservers } from './dns.js';
import { NetNames } from './names.js';
import type { FilteringProxy, ProxyDenial, ProxyPolicy } from './proxy.js';
import { NameTable, startRefresher } from './refresh.js';
import { createResolver, type Resolver } from './resolve.js';
import type { Upstream } from './upstream.js';

/**
 * Who may use a proxy: on Linux the native engine (native.d.ts proxyRegister/proxyAdmits)
 * knows every connect a sandbox makes; it lets a sandbox reach its own proxy only, and the
 * proxy serves only connections an engine announced for it.
 */
export interface ProxyAdmission {
  register(port: number, open: boolean): void;
  /** The policy id of the program that made this connection; undefined: not one an engine announced. */
  admits(proxyPort: number, clientAddress: string, clientPort: number): number | undefined;
  /** Whether the TCP server at address:port on this machine is one a `commands:` override runs. */
  overrideServerAt?(address: string, port: number): boolean;
  /** A connection to address:port on this machine unless an override's server is there, checked and made as one step: an fd, or -errno. */
  connectUnlessOverride?(address: string, port: number): number;
}

/** The longest chain decided: a program's own policy and up to 8 it was narrowed within (as the engine's decide_all). */
const MAX_CHAIN = 9;

export interface NetworkOptions {
  /** Restrict the proxy to its own sandbox (Linux). Absent: anyone on loopback may use it. */
  admission?: ProxyAdmission;
  /** A client the admission refused (another sandbox, an unsandboxed process). */
  onRefusedClient?: (clientAddress: string, clientPort: number) => void;
  /** Environment to read SBX_HOSTS_FILE / XDG_RUNTIME_DIR / HOME from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The sandboxed processes' variables when they are not env's (a supervisor's session): finish.ts callerEnv. */
  callerEnv?: Record<string, string>;
  resolver?: Resolver;
  /** Default: SBX_RESOLV_CONF from env (tests only, like the policy compiler), else /etc/resolv.conf. */
  resolvConf?: string;
  /** A refreshed snapshot (same id) after resolved addresses changed: hand it to engineSetPolicy. */
  onPolicy?: (policy: CompiledPolicy) => void;
  /** A request the proxy refused (the engine reports direct connects itself). */
  onDeny?: (denial: ProxyDenial) => void;
  /** Share the reverse map between sessions. */
  names?: NetNames;
  /** How long an address that left the DNS answers stays allowed (ms). Default 60 s. */
  graceMs?: number;
  /** The user's own proxy: allowed targets are reached through it (upstream.ts). */
  upstream?: Upstream;
}

interface Entry {
  current: CompiledPolicy;
  stop: () => void;
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

export class NetworkManager {
  readonly names: NetNames;
  private readonly resolver: Resolver;
  private readonly env: NodeJS.ProcessEnv;
  private readonly entries = new Map<number, Entry>();
  private proxy: FilteringProxy | undefined;
  private activeId: number | undefined;
  private closed = false;
  proxyPort: number | undefined;

  constructor(private readonly options: NetworkOptions = {}) {
    this.env = options.env ?? process.env;
    this.resolver = options.resolver ?? createResolver(this.env);
    this.names = options.names ?? new NetNames();
  }

  /** Starts the filtering proxy on 127.0.0.1 (once); on `port` when given (throws if taken). */
  async startProxy(port?: number): Promise<number> {
    if (this.proxyPort !== undefined) return this.proxyPort;
    // Loaded only when a policy needs it: `sbx exec -- true` should not pay for it.
    const { FilteringProxy } = await import('./proxy.js');
    const admission = this.options.admission;
    this.proxy = new FilteringProxy({
      ...(admission ? { admit: (addr: string, p: number) => this.admitted(admission, addr, p) } : {}),
      ...(this.options.onRefusedClient ? { onRefused: this.options.onRefusedClient } : {}),
      policy: {
        nets: () => this.chain(this.activeId).map((c) => c.net),
        audit: () => this.chain(this.activeId)[0]?.mode === 'audit',
      },
      ...(admission?.overrideServerAt ? { overrideServerAt: (a: string, p: number) => admission.overrideServerAt!(a, p) } : {}),
      ...(admission?.connectUnlessOverride ? { connectUnlessOverride: (a: string, p: number) => admission.connectUnlessOverride!(a, p) } : {}),
      resolver: this.resolver,
      names: this.names,
      onDeny: this.options.onDeny,
      ...(this.options.upstream ? { upstream: this.options.upstream } : {}),
      ...(port !== undefined ? { port } : {}),
    });
    this.proxyPort = await this.proxy.start();
    admission?.register(this.proxyPort, true);
    return this.proxyPort;
  }

  /** The user's proxy this one chains to, if any. */
  get upstream(): Upstream | undefined {
    return this.options.upstream;
  }

  /** Proxy variables for a launch ({} without a proxy). */
  get proxyVars(): Record<string, string> {
    return this.proxyPort === undefined ? {} : proxyEnv(this.proxyPort);
  }

  /** The policy to hand to the engine for `policy` (replaces an earlier one with the same id). */
  async prepare(policy: CompiledPolicy): Promise<CompiledPolicy> {
    this.entries.get(policy.id)?.stop();
    const servers = nameservers(this.options.resolvConf ?? this.env.SBX_RESOLV_CONF);
    const names = planNames(planOf(policy.net));
    const table = new NameTable(this.resolver, this.names, this.options.graceMs);
    const first = await table.refresh(names);
    const rebuild = () =>
      finishPolicy(policy, {
        resolved: table.current(),
        nameservers: servers,
        proxyPort: this.proxyPort,
        env: this.env,
        ...(this.options.callerEnv ? { callerEnv: this.options.callerEnv } : {}),
      }).policy;
    const entry: Entry = { current: rebuild(), stop: () => {} };
    if (names.length > 0 && !this.closed) {
      const refresher = startRefresher(table, names, first.nextMs, () => {
        entry.current = rebuild();
        this.options.onPolicy?.(entry.current);
      });
      entry.stop = () => refresher.stop();
    }
    this.entries.set(policy.id, entry);
    if (this.activeId === undefined) this.activeId = policy.id;
    return entry.current;
  }

  /** The latest snapshot for a policy id. */
  current(id: number): CompiledPolicy | undefined {
    return this.entries.get(id)?.current;
  }

  /** The policy the proxy decides on. */
  setActive(id: number): void {
    this.activeId = id;
  }

  /** The connection's policy, when the engine announced it (by the program that connected). */
  private admitted(admission: ProxyAdmission, clientAddress: string, clientPort: number): ProxyPolicy | undefined {
    if (this.proxyPort === undefined) return undefined;
    const id = admission.admits(this.proxyPort, clientAddress, clientPort);
    if (id === undefined) return undefined;
    // Read at each decision: a refresh replaces the snapshots; a policy dropped meanwhile refuses.
    return { id, nets: () => this.chain(id).map((c) => c.net), audit: () => this.chain(id)[0]?.mode === 'audit', isOverride: () => this.isOverride(id) };
  }

  /** Policy `id` is one a `commands:` override gives (its program runs under it). */
  private isOverride(id: number): boolean {
    for (const e of this.entries.values()) if (e.current.commands.some((c) => c.policy === id)) return true;
    return false;
  }

  /** Policy `id`, then each it was narrowed within (latest snapshots); [] when one is unknown. */
  private chain(id: number | undefined): CompiledPolicy[] {
    const out: CompiledPolicy[] = [];
    for (let next = id; next !== undefined && next >= 0; ) {
      const p = this.entries.get(next)?.current;
      if (!p || out.length === MAX_CHAIN) return [];
      out.push(p);
      next = p.within;
    }
    return out;
  }

  drop(id: number): void {
    this.entries.get(id)?.stop();
    this.entries.delete(id);
  }

  /** "name (addr:port)" for an engine event target when the name is known. */
  describe(target: string): string {
    return this.names.describe(target);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const e of this.entries.values()) e.stop();
    this.entries.clear();
    await this.proxy?.close();
    if (this.proxy && this.proxyPort !== undefined) this.options.admission?.register(this.proxyPort, false);
    this.proxy = undefined;
  }
}
