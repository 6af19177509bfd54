/**
 * The control socket: JSON lines between CLI clients (`sbx status`, `sbx log`,
 * `sbx daemon …`) and the supervisor. One request line, then reply lines; `follow`
 * keeps streaming until the client hangs up.
 *
 * Request: one {@link ControlRequest} as a JSON line. Reply: JSON objects, one per line; an
 * object with `error` is a refusal (request() throws it as a SupervisorError).
 */
import { connect, type Socket } from 'node:net';
import { SupervisorError } from '../errors.js';

export type ControlRequest =
  | { cmd: 'ping' }
  | { cmd: 'status' }
  // proxyEnv: the user's own proxy variables (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY), which the
  // session's proxy chains to (src/net/upstream.ts).
  | { cmd: 'session-env'; session: string; proxyEnv?: Record<string, string> }
  | { cmd: 'log'; session?: string; limit?: number; follow?: boolean }
  | { cmd: 'stop'; force?: boolean };

/** Connects, or resolves undefined when nobody listens (ENOENT, ECONNREFUSED). */
export function tryConnect(path: string, timeoutMs = 2000): Promise<Socket | undefined> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(undefined);
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      resolve(sock);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ENOTSOCK') resolve(undefined);
      else reject(new SupervisorError(`cannot connect to the supervisor at ${path}: ${err.message}`, undefined, err));
    });
  });
}

/** Calls fn for every reply line until the server ends or fn returns false. */
export function readLines(sock: Socket, fn: (msg: Record<string, unknown>) => boolean | void): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch {
          sock.destroy();
          reject(new SupervisorError(`the supervisor sent a malformed line: ${line.slice(0, 80)}`));
          return;
        }
        if (fn(msg) === false) {
          sock.destroy();
          resolve();
          return;
        }
      }
    });
    sock.once('close', () => resolve());
    sock.once('error', (err) => reject(new SupervisorError(`supervisor connection failed: ${err.message}`, undefined, err)));
  });
}

/** One request, one reply. Undefined when no supervisor is running. */
export async function request(path: string, req: ControlRequest, timeoutMs = 5000): Promise<Record<string, unknown> | undefined> {
  const sock = await tryConnect(path, timeoutMs);
  if (!sock) return undefined;
  sock.write(`${JSON.stringify(req)}\n`);
  let reply: Record<string, unknown> | undefined;
  const timer = setTimeout(() => sock.destroy(), timeoutMs);
  await readLines(sock, (m) => {
    reply = m;
    return false;
  });
  clearTimeout(timer);
  if (!reply) throw new SupervisorError(`the supervisor at ${path} hung up without answering '${req.cmd}'`);
  if (reply.error) throw new SupervisorError(String(reply.error));
  return reply;
}
