/**
 * `sbx exec` on Linux: the launcher installs the filter on itself, this process runs
 * the native engine on the listener for the program's lifetime, and prints one line per
 * denial. Any failure before the ack leaves the launcher without its ack: it exits 126
 * and the program never runs unsandboxed.
 */
import { DenialLines } from './denial-lines.js';
import { launchEnv } from '../../policy/launch-env.js';
import { upstreamFromEnv } from '../../net/upstream.js';
import type { EngineEvent, EngineHandle, NativeAddon } from '../../../native/unotify/native.js';
import type { CompiledPolicy } from '../../policy/compiled.js';
import { SbxError } from '../../errors.js';
import { launcherPath, loadNative } from '../../native/load.js';
import { engineReceivers, proxyAdmission, withoutRootExit } from '../../native/engine.js';
import type { ExecRequest } from '../types.js';
import { launch, sandboxRoot } from './launch.js';
import { requireUsableKernel } from './doctor.js';
import { describeDenial, prepareNetwork, type PreparedNetwork } from '../../net/index.js';
import { strictestPolicy } from '../../policy/strict.js';
import { describeRuleShort } from '../../policy/describe-rule.js';
import { privilegedLine } from '../../policy/suggest.js';
import { displaySafe } from '../../display-safe.js';

const ENOENT = 2;
// The terminal may be raw while the launcher relays a pty for the command (pty_relay.c):
// a bare \n would not return the cursor there.
const EOL = process.stderr.isTTY ? '\r\n' : '\n';
const EOPNOTSUPP = 95;

type Defaults = NonNullable<ExecRequest['defaultOrigins']>;

/** One line per denial: "sbx: denied read /root/.ssh/id_rsa (--deny-read)". */
export function formatEvent(event: EngineEvent, policy: CompiledPolicy | undefined, defaults: Defaults = {}): string {
  return displaySafe(eventLine(event, policy, defaults));
}

function eventLine(event: EngineEvent, policy: CompiledPolicy | undefined, defaults: Defaults): string {
  const what = `${event.op} ${event.target}`;
  const why = describeRuleShort(policy, event.rule, event.op, defaults);
  switch (event.kind) {
    case 'deny':
      return `sbx: denied ${what} (${why})`;
    case 'audit':
      return `sbx: audit: would deny ${what} (${why})`;
    case 'privileged':
      return privilegedLine(event.target);
    default:
      // The image of a program file the user may run but not read (mode 0711): the kernel
      // makes its process non-dumpable, so its image cannot be verified (exec.cc).
      if (event.op === 'exec' && /^\/proc\/\d+\/exe$/.test(event.target ?? ''))
        return `sbx: denied exec: the program process ${event.target!.split('/')[2]} runs cannot be read, so sbx cannot verify it (a program file you may run but not read, mode 0711 or the like; make it readable)`;
      return `sbx: denied ${what} (engine error: errno ${event.errno})`;
  }
}

export async function linuxExec(request: ExecRequest): Promise<number> {
  const native = loadNative();
  requireUsableKernel(native);
  // src/net: host names resolved (and kept fresh), wildcards through the filtering proxy,
  // unix-socket defaults. The engine gets net.policy, the program the proxy variables.
  const live: { engine?: EngineHandle } = {};
  const upstream = upstreamFromEnv(request.callerEnv);
  const net = await prepareNetwork(request.policy, {
    // Only this sandbox may use its proxy (the engine announces its connects to it).
    admission: proxyAdmission(native),
    // The user's own proxy, if any: sbx's proxy forwards allowed targets through it.
    ...(upstream ? { upstream } : {}),
    onRefusedClient: (addr, port) => {
      if (!request.quiet) process.stderr.write(`sbx: refused a connection to this sandbox's proxy from ${addr}:${port} (not made by this sandbox)${EOL}`);
    },
    onPolicy: (p) => {
      policies.set(p.id, p);
      if (live.engine) native.engineSetPolicy(live.engine, p);
    },
    onDeny: (d) => {
      if (!request.quiet) process.stderr.write(`sbx: ${d.audit ? 'audit: would deny' : 'denied'} net ${describeDenial(d)} via proxy (${d.reason})${EOL}`);
    },
  });
  const policies = new Map<number, CompiledPolicy>();
  try {
    for (const p of [net.policy, ...(await Promise.all(request.overrides.map((o) => net.prepare(o))))]) policies.set(p.id, p);
    return await execPrepared(native, request, policies, net, live);
  } finally {
    await net.close();
  }
}

async function execPrepared(
  native: NativeAddon,
  request: ExecRequest,
  policies: Map<number, CompiledPolicy>,
  net: PreparedNetwork,
  live: { engine?: EngineHandle },
): Promise<number> {
  const receivers = engineReceivers(); // a bad value stops here, before anything runs
  const launched = await launch(native, launcherPath(), request.argv, request.cwd, { ...request.env, ...launchEnv(request.callerEnv, request.env), ...net.env });

  if (launched.listenerFd === undefined) {
    const code = await launched.exited;
    // 127 (not found) and 126 (not runnable) were explained by the launcher; a 126 may
    // also be a kernel without user-notify, which deserves a clear error.
    if (code === 126) requireUsableKernel(native); // says what is missing, if anything
    return code;
  }

  const shown = new DenialLines('this sbx exec keeps no log: run it again with fewer denials, or under a session for `sbx log`');
  const report = (events: EngineEvent[]) => {
    if (request.quiet) return;
    for (const e of events) {
      const named = e.op === 'net' ? { ...e, target: net.describe(e.target) } : e;
      const line = shown.take(formatEvent(named, policies.get(e.policy), request.defaultOrigins));
      if (line !== undefined) process.stderr.write(`${line}${EOL}`);
    }
  };

  // Unplaced processes get the strictest policy (never a default); the program is placed
  // before it runs, and everything it starts inherits its policy.
  const strict = strictestPolicy(Math.max(...policies.keys()) + 1, [...policies.values()]);
  let engine: EngineHandle;
  let created: EngineHandle | undefined;
  const relay = launched.child.pid!;
  try {
    // The launcher, or its child when the launcher relays a pty for it (pty_relay.c).
    const root = sandboxRoot(relay);
    if (root === undefined) throw new SbxError('cannot find the sandboxed process the launcher started', { exitCode: 70 });
    engine = created = native.engineCreate({
      listenerFd: launched.listenerFd,
      strictPolicy: strict.id,
      ...(receivers !== undefined ? { threads: receivers } : {}),
      // The pty relay is outside the sandbox, as we are.
      protectedPids: root === relay ? [process.pid] : [process.pid, relay],
      // sbx's own launcher, started before the filter: known by identity, not decided
      launcherPath: launcherPath(),
      onEvents: (raw) => report(withoutRootExit(raw).events),
      // No session here: the shell hook's /proc/self/sbx/ channel does not exist. A nested
      // `sbx exec` is told why it cannot narrow here (no supervisor to make its policy).
      onHint: (hint) => native.engineReplyHint(engine, hint.id, { errno: hint.verb === 'narrow' ? EOPNOTSUPP : ENOENT }),
      onClosed: () => {},
    });
    for (const p of policies.values()) native.engineSetPolicy(engine, p);
    native.engineAssign(engine, root, request.policy.id, false, false);
    native.engineWatchRoot(engine, root); // (and engineStop(…, true) below)
    native.engineSetPolicy(engine, strict); // last: nothing is decided before it
    live.engine = engine;
  } catch (err) {
    if (created) native.engineStop(created, true);
    launched.refuse();
    await launched.exited.catch(() => undefined);
    if (err instanceof SbxError) throw err;
    throw new SbxError(`the seccomp engine could not start: ${(err as Error).message}`, { exitCode: 70, cause: err });
  } finally {
    native.close(launched.listenerFd); // the engine holds its own dup
  }

  // Like a shell: ^C and ^\ go to the program (same process group), not to us.
  const ignore = () => {};
  const forward = (sig: NodeJS.Signals) => launched.child.kill(sig);
  process.on('SIGINT', ignore);
  process.on('SIGQUIT', ignore);
  process.on('SIGTERM', forward);
  process.on('SIGHUP', forward);
  try {
    launched.ack();
    return await launched.exited;
  } finally {
    process.off('SIGINT', ignore);
    process.off('SIGQUIT', ignore);
    process.off('SIGTERM', forward);
    process.off('SIGHUP', forward);
    live.engine = undefined;
    // Nothing serves this sandbox after us: what it made in /dev/shm and SysV IPC goes now,
    // even while a process it left in the background still runs (its trapped calls fail);
    // one that still holds this terminal is killed.
    native.engineStop(engine, true);
    // engineStop flushes pending events through a thread-safe callback, which runs on
    // a later turn of the event loop: give it a few milliseconds, then let one poll phase
    // run (a loaded machine can fire the timer before the queued callback is delivered).
    await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setImmediate(r));
  }
}
