/**
 * The filtering proxy on loopback: HTTP CONNECT, plain HTTP (absolute-form requests) and
 * SOCKS5 (no auth, CONNECT only; domain names, IPv4, IPv6) on one port, told apart by the
 * first byte (5 = SOCKS5). It exists for wildcards (`*.npmjs.org`), which cannot be resolved
 * ahead: the proxy sees the name a program asks for, decides on it, resolves it itself and
 * connects from outside the sandbox. The engine still decides every direct connect, so a
 * program that ignores the proxy variables gets only what the address rules allow.
 *
 * Every address it connects to is decided on the finished policy of the program that asked
 * (and every policy that program was narrowed within), the one the engine decides that
 * program's direct connects on (decideTarget in target.ts, decideNamedTarget in
 * src/policy/net-match.ts).
 *
 * Only the sandbox it serves may use it (`admit`): sbx's proxy acts for its client with the
 * supervisor's network, so a second sandbox (or any process) using it would be a deputy.
 * For the same reason a program of the sandbox gets through it only what its own policy
 * allows: a session's programs do not all have the shell's (nested `sbx exec`, `commands:`
 * overrides, a job started in another directory), and `admit` says which one connected.
 */
import { constants } from 'node:os';
import { createServer, connect, isIP, Socket, type Server } from 'node:net';
import { OUTER_RULE, type NetSection } from '../policy/compiled.js';
import { canonicalIp, mayBeThisMachine } from './ip.js';
import type { NetNames } from './names.js';
import type { Resolver } from './resolve.js';
import { decideTarget, type TargetDecision } from './target.js';

export { decideTarget, type TargetDecision } from './target.js';

export interface ProxyDenial {
  time: number;
  via: 'http' | 'connect' | 'socks5';
  /** The name asked for (undefined for an IP literal). */
  name: string | undefined;
  /** The address refused, when the refusal is about one. */
  address: string | undefined;
  port: number;
  /** Origin index of the deciding rule in `policy`; -1 = the net default; OUTER_RULE = a policy it was narrowed within. */
  rule: number;
  /** The id of the asking program's policy, when the proxy knows it (admitted through the engine). */
  policy?: number;
  reason: string;
  /** mode: audit — logged as "would deny", and the connection went ahead. */
  audit: boolean;
}

export interface ProxyPolicy {
  /** The policy's id, when known (for the log: which origins a denial's rule indexes). */
  id?: number;
  /**
   * The current finished net sections, host rules included (they change when names are
   * refreshed): the program's own, then each policy it was narrowed within (target.ts).
   */
  nets(): NetSection[];
  /** mode: audit — refusals by the program's own policy are only reported. */
  audit?(): boolean;
  /**
   * Whether the program runs under a `commands:` override: the engine keeps its programs to
   * its own servers on this machine (net.cc override_boundary), which the proxy cannot tell
   * apart, so it connects such a program to nothing on this machine.
   */
  isOverride?(): boolean;
}

/** Buffered reads from a socket until the request head is complete. */
class HeadReader {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private ended = false;
  private readonly onData = (chunk: Buffer) => {
    this.buf = Buffer.concat([this.buf, chunk]);
    this.wake?.();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.wake?.();
  };

  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
  }

  private async more(): Promise<void> {
    if (this.ended) throw new Error('client closed');
    await new Promise<void>((r) => (this.wake = r));
    this.wake = undefined;
  }

  async bytes(n: number): Promise<Buffer> {
    while (this.buf.length < n) await this.more();
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  async until(delim: string, max: number): Promise<Buffer> {
    for (;;) {
      const i = this.buf.indexOf(delim);
      if (i !== -1) return this.bytes(i + delim.length);
      if (this.buf.length > max) throw new Error('request head too large');
      await this.more();
    }
  }

  /** Stops buffering; returns what was read past the head. */
  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    return this.buf;
  }
}

import { bypassesUpstream, connectVia, type Upstream } from './upstream.js';

export interface ProxyOptions {
  /** What a connection is decided by when there is no `admit` (macOS, unit tests). */
  policy: ProxyPolicy;
  resolver: Resolver;
  names: NetNames;
  onDeny?: (d: ProxyDenial) => void;
  /** Listen address; default 127.0.0.1. */
  host?: string;
  /** Listen port; default 0 (any). A resumed supervisor session asks for the one its programs know. */
  port?: number;
  /**
   * Who may use the proxy, and by which policy (Linux: only connections the sandbox's own
   * engine made, decided by the policy of the program that made it, see ProxyAdmission in
   * manager.ts); asked at the client's first byte — by then the engine that made the
   * connection has announced it. undefined refuses the client. Absent: everyone, by `policy`.
   */
  admit?: (clientAddress: string, clientPort: number) => ProxyPolicy | undefined;
  /** Whether the TCP server at address:port on this machine is one a `commands:` override runs (native). */
  overrideServerAt?: (address: string, port: number) => boolean;
  /**
   * A connection to address:port on this machine unless an override's server is there, the
   * check and the handshake as one step (native): an fd, or -errno. Without it, such a server
   * could start listening between overrideServerAt's answer and the connect.
   */
  connectUnlessOverride?: (address: string, port: number) => number;
  /** A client that was not admitted (logged by the caller). */
  onRefused?: (clientAddress: string, clientPort: number) => void;
  /**
   * The user's own HTTP proxy (upstream.ts): allowed targets are reached through it with
   * CONNECT to the address decided here (never a name the upstream would resolve itself).
   */
  upstream?: Upstream;
}

/**
 * Clients one proxy (one session) serves at once, and every proxy of this process together.
 * Each costs the supervisor an fd, two with its target, and the supervisor's fds are every
 * session's: a sandbox that held thousands of connections to its proxy made every other
 * terminal's opens fail with EMFILE. Beyond either bound a new client is closed at once.
 */
export const PROXY_CLIENTS_PER_SESSION = 256;
export const PROXY_CLIENTS_IN_ALL = 4096;
let clientsInAll = 0;

export class FilteringProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly options: ProxyOptions) {}

  async start(): Promise<number> {
    const server = createServer((s) => this.handle(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    // An accept error later (EMFILE) is the server's, not a reason for the supervisor to exit.
    server.on('error', () => {});
    server.maxConnections = PROXY_CLIENTS_PER_SESSION;
    server.unref();
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => s.destroy());
  }

  private handle(client: Socket): void {
    if (clientsInAll >= PROXY_CLIENTS_IN_ALL) return void client.destroy();
    clientsInAll++;
    client.once('close', () => clientsInAll--);
    this.track(client);
    client.setTimeout(30_000, () => client.destroy());
    const reader = new HeadReader(client);
    reader
      .bytes(1)
      .then((first) => {
        const { admit } = this.options;
        const policy = admit ? admit(client.remoteAddress ?? '', client.remotePort ?? 0) : this.options.policy;
        if (!policy) {
          this.options.onRefused?.(client.remoteAddress ?? '', client.remotePort ?? 0);
          client.destroy();
          return;
        }
        return first[0] === 5 ? this.socks5(client, reader, policy) : this.http(client, reader, first, policy);
      })
      .catch(() => client.destroy());
  }

  /** Decides and reports a refusal; in audit mode a refused target is still connected to. */
  private async decide(via: ProxyDenial['via'], host: string, port: number, policy: ProxyPolicy): Promise<TargetDecision> {
    const { resolver, names } = this.options;
    let d = await decideTarget(policy, resolver, names, host, port);
    const crossing = d.ok ? this.crossesOverride(policy, d.addresses, port) : undefined;
    if (crossing) d = { ok: false, rule: -2, address: crossing.address, reason: crossing.reason };
    if (d.ok) return d;
    // Audit mode lifts the program's own rules, never a policy it was narrowed within (as the engine).
    const audit = (policy.audit?.() ?? false) && d.rule !== OUTER_RULE;
    const name = isIP(host) ? undefined : host;
    this.options.onDeny?.({ time: Date.now(), via, name, address: d.address, port, rule: d.rule, reason: d.reason, audit, ...(policy.id !== undefined ? { policy: policy.id } : {}) });
    if (!audit || d.unresolved || crossing) return d;
    const literal = canonicalIp(host);
    const addresses = literal ? [literal] : (await resolver.resolve(host)).addresses;
    return addresses.length > 0 ? { ok: true, addresses } : d;
  }

  /**
   * The proxy connects as the supervisor, past the engine's boundary around a `commands:`
   * override's servers (net.cc override_boundary): it connects nobody to a server an override
   * runs on this machine, and an override's program to nothing on this machine.
   */
  private crossesOverride(policy: ProxyPolicy, addresses: string[], port: number): { address: string; reason: string } | undefined {
    for (const a of addresses.filter(mayBeThisMachine)) {
      if (policy.isOverride?.()) return { address: a, reason: "this machine through sbx's proxy, for a commands: override's program (connect directly)" };
      if (this.options.overrideServerAt?.(a, port)) return { address: a, reason: 'a server a commands: override runs (it serves that override\'s programs only)' };
    }
    return undefined;
  }

  /** Connects to the target: through the user's proxy when there is one, else directly. */
  private async reach(host: string, addresses: string[], port: number): Promise<Socket> {
    const up = this.options.upstream;
    if (!up || bypassesUpstream(up, host)) return this.dial(addresses, port);
    let last: unknown;
    for (const a of addresses) {
      try {
        return await connectVia(up, a, port);
      } catch (err) {
        last = err;
      }
    }
    throw last ?? new Error('no address');
  }

  /** Connects to the first address that answers. */
  private async dial(addresses: string[], port: number): Promise<Socket> {
    let last: unknown;
    for (const a of addresses) {
      const checked = this.options.connectUnlessOverride;
      if (checked && mayBeThisMachine(a)) {
        const fd = checked(a, port);
        if (fd >= 0) return new Socket({ fd, readable: true, writable: true });
        const override = fd === -constants.errno.EACCES;
        last = Object.assign(new Error(`connect ${a}:${port}: ${override ? 'a server a commands: override runs' : `errno ${-fd}`}`), { code: override ? 'EACCES' : 'ECONNREFUSED' });
        continue;
      }
      try {
        return await new Promise<Socket>((resolve, reject) => {
          const s = connect({ host: a, port });
          s.once('connect', () => {
            s.off('error', reject);
            resolve(s);
          });
          s.once('error', reject);
        });
      } catch (err) {
        last = err;
      }
    }
    throw last ?? new Error('no address');
  }

  private splice(client: Socket, upstream: Socket, leftover: Buffer): void {
    this.track(upstream);
    client.setTimeout(0);
    if (leftover.length > 0) upstream.write(leftover);
    client.pipe(upstream);
    upstream.pipe(client);
    // pipe() ends the other side on a clean end; destroy() would drop data still queued.
    client.on('close', (hadError) => (hadError ? upstream.destroy() : upstream.end()));
    upstream.on('close', (hadError) => (hadError ? client.destroy() : client.end()));
    client.resume();
  }

  private async socks5(client: Socket, reader: HeadReader, policy: ProxyPolicy): Promise<void> {
    const [nMethods] = await reader.bytes(1);
    const methods = await reader.bytes(nMethods!);
    if (!methods.includes(0)) {
      client.end(Buffer.from([5, 0xff]));
      return;
    }
    client.write(Buffer.from([5, 0]));
    const [ver, cmd, , atyp] = await reader.bytes(4);
    const reply = (code: number): void => void client.end(Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]));
    if (ver !== 5) return void client.destroy();
    let host: string;
    if (atyp === 1) host = [...(await reader.bytes(4))].join('.');
    else if (atyp === 4) {
      const b = await reader.bytes(16);
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
      host = groups.join(':');
    } else if (atyp === 3) {
      const [len] = await reader.bytes(1);
      host = (await reader.bytes(len!)).toString('latin1');
    } else return reply(8); // address type not supported
    const port = (await reader.bytes(2)).readUInt16BE(0);
    if (cmd !== 1) return reply(7); // only CONNECT
    const d = await this.decide('socks5', host, port, policy);
    if (!d.ok) return reply(d.unresolved ? 4 : 2); // 2 = not allowed by ruleset, 4 = host unreachable
    let upstream: Socket;
    try {
      upstream = await this.reach(host, d.addresses, port);
    } catch {
      return reply(5); // connection refused
    }
    const leftover = reader.detach();
    client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
    this.splice(client, upstream, leftover);
  }

  private async http(client: Socket, reader: HeadReader, first: Buffer, policy: ProxyPolicy): Promise<void> {
    const head = Buffer.concat([first, await reader.until('\r\n\r\n', 64 * 1024)]).toString('latin1');
    const [requestLine = '', ...headerLines] = head.slice(0, -4).split('\r\n');
    const [method = '', target = '', version = 'HTTP/1.1'] = requestLine.split(' ');
    const refuse = (status: string, text: string): void =>
      void client.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
    let host: string;
    let port: number;
    let originForm: string | undefined;
    if (method === 'CONNECT') {
      const m = /^\[([^\]]+)\]:(\d+)$/.exec(target) ?? /^([^:]+):(\d+)$/.exec(target);
      if (!m) return refuse('400 Bad Request', `sbx proxy: bad CONNECT target '${target}'\n`);
      [host, port] = [m[1]!, Number(m[2])];
    } else {
      let url: URL;
      try {
        url = new URL(target);
      } catch {
        return refuse('400 Bad Request', 'sbx proxy: expected an absolute URL (this is a proxy)\n');
      }
      if (url.protocol !== 'http:') return refuse('400 Bad Request', `sbx proxy: cannot forward ${url.protocol} requests; use CONNECT\n`);
      host = url.hostname.replace(/^\[|\]$/g, '');
      port = url.port === '' ? 80 : Number(url.port);
      originForm = `${url.pathname}${url.search}`;
    }
    const d = await this.decide(method === 'CONNECT' ? 'connect' : 'http', host, port, policy);
    if (!d.ok) {
      return refuse('403 Forbidden', `sbx: ${host}:${port} denied by the network policy (${d.reason})\n`);
    }
    let upstream: Socket;
    try {
      upstream = await this.reach(host, d.addresses, port);
    } catch {
      return refuse('502 Bad Gateway', `sbx proxy: could not connect to ${host}:${port}\n`);
    }
    const leftover = reader.detach();
    if (method === 'CONNECT') {
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
    } else {
      // One request per upstream connection: the next one may name another host.
      const headers = headerLines.filter((l) => !/^(proxy-connection|proxy-authorization|connection|keep-alive):/i.test(l));
      upstream.write(`${method} ${originForm} ${version}\r\n${[...headers, 'Connection: close'].join('\r\n')}\r\n\r\n`, 'latin1');
    }
    this.splice(client, upstream, leftover);
  }
}
