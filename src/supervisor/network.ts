/**
 * A session's network side (src/net's NetworkManager): one manager and one filtering proxy
 * per session, so the proxy decides on that session's policy alone.
 *
 * The proxy port must be in the session's environment before its first program runs, and
 * the launcher execs that program as soon as the supervisor serves the session. So
 * `sbx shell` asks first: it picks the session id, sends `{cmd:"session-env", session}` on
 * the control socket, and the supervisor starts the session's proxy and answers with the
 * proxy variables; the shell adds them to the launcher's environment. When the keeper
 * registers that id, the session adopts the waiting manager (unclaimed ones are closed after
 * a minute). A session nobody asked for (a bare launcher) gets a proxy too, but its programs
 * do not know the port: they are still filtered at connect, they just cannot use wildcards.
 * The port goes into the state the keeper keeps, so a restarted supervisor listens on the
 * same one. Only the session's own sandbox may use the proxy: the engines of this process
 * refuse a sandbox's connect to another session's proxy port, and the proxy serves only
 * connections its session's engine announced (src/native/engine.ts proxyAdmission).
 */
import { callerEnv, isCallerEnv, type CallerEnv } from './caller-env.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { NetworkManager, NetNames, type ProxyDenial } from '../net/index.js';
import type { Env } from '../policy/paths.js';
import { proxyAdmission } from '../native/engine.js';
import type { Upstream } from '../net/upstream.js';
import { Unclaimed } from './unclaimed.js';


export class SessionNetwork {
  /** Set by the session that adopts us. */
  onPolicy: ((p: CompiledPolicy) => void) | undefined;
  onDeny: ((d: ProxyDenial) => void) | undefined;
  readonly manager: NetworkManager;

  /** The session's variables (caller-env.ts); undefined: the supervisor's own are used. */
  readonly caller: CallerEnv | undefined;

  private constructor(env: Env, names: NetNames, upstream?: Upstream, caller?: Record<string, string> | CallerEnv) {
    this.caller = caller === undefined ? undefined : isCallerEnv(caller) ? caller : callerEnv(env, caller);
    this.manager = new NetworkManager({
      env: env as NodeJS.ProcessEnv,
      ...(this.caller ? { callerEnv: this.caller.view as Record<string, string> } : {}),
      ...(upstream ? { upstream } : {}),
      // Only this session's sandbox may use its proxy (its engine announces its connects).
      admission: proxyAdmission(),
      names,
      onPolicy: (p) => this.onPolicy?.(p),
      onDeny: (d) => this.onDeny?.(d),
    });
  }

  /**
   * A manager with its proxy listening (on `port` if given and still free, else any).
   * callerEnv: the variables the session's processes were started with (caller-env.ts), from
   * its caller or, on a resume, as its kept state says; or the CallerEnv a served exec's policy
   * was built through, so the keeper keeps every variable that build read (its places too).
   */
  static async start(
    env: Env,
    names: NetNames,
    opts: { port?: number | undefined; say?: (line: string) => void; upstream?: Upstream | undefined; callerEnv?: Record<string, string> | CallerEnv | undefined } = {},
  ): Promise<SessionNetwork> {
    const { port, say, upstream, callerEnv } = opts;
    const n = new SessionNetwork(env, names, upstream, callerEnv);
    try {
      await n.manager.startProxy(port);
    } catch (err) {
      if (port === undefined) throw err;
      say?.(`proxy port ${port} is taken (${(err as Error).message}); this session's proxy variables no longer reach it`);
      await n.manager.startProxy();
    }
    return n;
  }

  get port(): number | undefined {
    return this.manager.proxyPort;
  }

  get env(): Record<string, string> {
    return this.manager.proxyVars;
  }
}

/** Managers started for `sbx shell` before its session registers. */
export class PendingNetworks extends Unclaimed<SessionNetwork> {
  constructor() {
    super((net) => net.manager.close());
  }
}
