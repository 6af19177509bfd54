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
  // `sbx shell` (Node: src/platform/linux/shell.ts; native: fast.c) before it execs the launcher:
  // v: SESSION_ENV_VERSION; env: the caller's whole environment as "K=V" lines (its proxy
  // variables are what the session's proxy chains to: src/net/upstream.ts). Reply:
  // {env: ["K=V",…], warnings?: […]}: the program's finished environment
  // (src/supervisor/launch-environment.ts), applied as given; or {error}. follows: the program
  // is the user's interactive shell (`sbx shell --follow-cd`, or $SHELL): its policy follows cd;
  // cwd: where the program starts.
  | SessionEnvRequest
  | ExecStartRequest
  | { cmd: 'log'; session?: string; limit?: number; follow?: boolean }
  // places (restart): the HOME/XDG_* the next supervisor serves with (pinned-places.ts).
  | { cmd: 'stop'; force?: boolean; places?: Record<string, string> };

export const SESSION_ENV_VERSION = 4;
export interface SessionEnvRequest {
  cmd: 'session-env';
  v: number;
  session: string;
  env: string[];
  follows: boolean;
  /** Where the program starts: its policy's env rules filter env (not for a hook's shell). */
  cwd: string;
}
export interface SessionEnvReply {
  env: string[];
  warnings?: string[];
}

/**
 * `exec-start`: the native fast path (native/unotify/src/fast.c) for `sbx exec`. The client sends
 * the raw command line, never a policy: the supervisor parses it with the Node CLI's parser
 * and builds the policy with src/policy, exactly as `sbx exec` would from `cwd` with `env`.
 *
 *   client → {cmd:"exec-start", v:2, session, cwd, args:[everything after "exec"], env:["K=V",…]}
 *              session: the id the client picked (as for session-env): its keeper, started
 *              while the supervisor builds the policy, registers under it. An id that is
 *              malformed or live is answered with {fallback}, never with another id.
 *   supervisor → {fallback:"why"}            anything it does not take: the client execs the Node
 *                                            CLI with the same argv (usage errors, policy errors,
 *                                            --help … are said there, in one place)
 *              | {session, argv:[…], env:["K=V",…], warnings:[…]}
 *                                            the client prints the warnings and runs
 *                                            `sbx-launch --fd N -- argv…`, N its end of the
 *                                            keeper's channel (`sbx-keeper --root-pid peer`)
 *                                            (argv: the command as the CLI parser found it)
 *                                            with exactly `env` (the env filter applied, the proxy
 *                                            variables and SBX_SESSION added); the keeper registers
 *                                            `session` and the supervisor places its root under
 *                                            the policy built here (src/supervisor/exec-start.ts)
 *   then, on the same connection, any number of {say:"sbx: denied …"} lines (the denial lines
 *   `sbx exec` prints; none with --quiet) until the session ends.
 * A supervisor that does not know `exec-start` answers {error}: the client falls back too.
 * A different `v` is answered with {fallback}. Version 3: the client's launcher starts with
 * the request, so the keeper's registration (flagged `exec`) may come before the policy is
 * built and must wait for it; a version-2 supervisor would serve such a registration with
 * its directory's policy, so it must not be spoken to.
 */
export const EXEC_START_VERSION = 3;
export interface ExecStartRequest {
  cmd: 'exec-start';
  v: number;
  session: string;
  cwd: string;
  args: string[];
  env: string[];
}
export type ExecStartReply =
  | { fallback: string }
  | { session: string; argv: string[]; env: string[]; warnings: string[] };
export interface ExecSayLine {
  say: string;
}

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
