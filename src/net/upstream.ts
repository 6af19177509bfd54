/**
 * The user's own proxy, which sbx's filtering proxy forwards through (chains to) for targets
 * the policy allows: taken from the environment the sandbox was started from (HTTPS_PROXY,
 * HTTP_PROXY, ALL_PROXY with an http:// URL, and NO_PROXY), so setting up sbx never cuts a
 * user off a network that is only reachable through their proxy. The decision stays sbx's:
 * the upstream is asked to CONNECT to the address sbx decided, never to a name it would
 * resolve on its own.
 */
import { connect, type Socket } from 'node:net';

export interface Upstream {
  host: string;
  port: number;
  /** The URL as the user wrote it (for `sbx status`). */
  url: string;
  /** NO_PROXY entries: exact names, `.suffix`/`suffix` domains, `*`. */
  noProxy: string[];
}

/** The user's upstream proxy from an environment, or undefined (none, or not an http:// proxy). */
export function upstreamFromEnv(env: Record<string, string | undefined>): Upstream | undefined {
  const pick = (...names: string[]) => names.map((n) => env[n]).find((v) => v !== undefined && v !== '');
  const raw = pick('https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY');
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || url.hostname === '') return undefined;
  const noProxy = (pick('no_proxy', 'NO_PROXY') ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e.length > 0);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port === '' ? 80 : Number(url.port), url: raw, noProxy };
}

/** The upstream a restarted supervisor was told about (the keeper's state keeps url and NO_PROXY). */
export function upstreamFromState(u: { url: string; noProxy: string[] } | undefined): Upstream | undefined {
  return u ? upstreamFromEnv({ HTTPS_PROXY: u.url, NO_PROXY: u.noProxy.join(',') }) : undefined;
}

/** Whether NO_PROXY sends `host` around the upstream (directly, as the user's tools would). */
export function bypassesUpstream(up: Upstream, host: string): boolean {
  const h = host.toLowerCase();
  return up.noProxy.some((e) => e === '*' || e === h || h.endsWith(e.startsWith('.') ? e : `.${e}`));
}

/** A tunnel to address:port through the upstream (HTTP CONNECT); rejects unless it answers 2xx. */
export function connectVia(up: Upstream, address: string, port: number, timeoutMs = 15_000): Promise<Socket> {
  const target = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  return new Promise<Socket>((resolve, reject) => {
    const s = connect({ host: up.host, port: up.port });
    let head = Buffer.alloc(0);
    const fail = (err: Error) => {
      s.destroy();
      reject(err);
    };
    s.setTimeout(timeoutMs, () => fail(new Error(`upstream proxy ${up.host}:${up.port} did not answer`)));
    s.once('error', fail);
    s.once('connect', () => s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`, 'latin1'));
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > 16 * 1024) fail(new Error('upstream proxy: response head too long'));
        return;
      }
      s.off('data', onData);
      s.off('error', fail);
      s.setTimeout(0);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString('latin1'));
      if (!status || !status[1]!.startsWith('2')) return fail(new Error(`upstream proxy refused CONNECT ${target} (${status?.[1] ?? 'bad reply'})`));
      const rest = head.subarray(end + 4);
      if (rest.length > 0) s.unshift(rest);
      resolve(s);
    };
    s.on('data', onData);
  });
}
