/**
 * Starts sbx-launch for a one-shot run and receives the seccomp listener it creates.
 * The launcher waits for our ack before it execs the target, so nothing runs until an
 * engine serves the listener; if we never ack (we close the channel) it exits 126.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import type { NativeAddon } from '../../../native/unotify/native.js';
import { SbxError } from '../../errors.js';

/** How long the launcher may take to install its filter and send the listener. */
const LISTENER_TIMEOUT_MS = 10_000;

export interface Launched {
  child: ChildProcess;
  /** Resolves with the program's exit code (128+signal when killed). */
  exited: Promise<number>;
  /** The listener fd, or undefined when the launcher exited before sending it (127, 126: it said why). */
  listenerFd: number | undefined;
  /** Tells the launcher to exec the target: one byte, then the channel is closed. */
  ack(): void;
  /** Refuses: closes the channel without ack, so the launcher exits 126 without running anything. */
  refuse(): void;
}

export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
}

/** How many seccomp filters a process runs under (its Seccomp_filters: line); -1 when gone. */
function filtersOf(pid: number): number {
  try {
    const m = /^Seccomp_filters:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

/**
 * The sandbox's first process, once the listener arrived: the launcher itself, or, when it
 * relays a pseudo-terminal for the command (native/unotify/src/pty_relay.c), its child, the
 * one that installed the filter (the relay never does). Read from /proc, not claimed: the
 * relay has exactly one child and forked it before the listener was sent. Undefined: neither.
 */
export function sandboxRoot(launcherPid: number): number | undefined {
  // More filters than we run under (a container may have given us one): sbx's is there.
  const base = filtersOf(process.pid);
  if (filtersOf(launcherPid) > base) return launcherPid;
  let children: number[];
  try {
    children = readFileSync(`/proc/${launcherPid}/task/${launcherPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return undefined;
  }
  const filtered = children.filter((c) => filtersOf(c) > base);
  return filtered.length === 1 ? filtered[0] : undefined;
}

export async function launch(
  native: NativeAddon,
  launcher: string,
  argv: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<Launched> {
  const [parentEnd, childEnd] = native.socketPair();
  let child: ChildProcess;
  try {
    // Raw spawn: the launcher takes over the user's terminal and the caller needs the bare
    // ChildProcess (signals, pid for the engine). The child end becomes fd 3 in the launcher; our end is CLOEXEC and stays here.
    child = spawn(launcher, ['--fd', '3', '--', ...argv], { cwd, env, stdio: ['inherit', 'inherit', 'inherit', childEnd] });
  } catch (err) {
    native.close(parentEnd);
    throw new SbxError(`cannot start ${launcher}: ${(err as Error).message}`, { exitCode: 70, cause: err });
  } finally {
    native.close(childEnd);
  }
  const exited = new Promise<number>((resolveExit, rejectExit) => {
    child.once('error', (err) => rejectExit(new SbxError(`cannot start ${launcher}: ${err.message}`, { exitCode: 70, cause: err })));
    child.once('exit', (code, signal) => resolveExit(exitCodeOf(code, signal)));
  });
  // Let a spawn error (e.g. ENOENT) surface before blocking on the socket.
  await new Promise((r) => setImmediate(r));

  let listenerFd: number | undefined;
  try {
    listenerFd = native.recvFd(parentEnd, LISTENER_TIMEOUT_MS);
  } catch {
    // EOF: the launcher exited (command not found, setup failure) and printed why.
    // Anything else (timeout): stop it; never run unsandboxed.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    listenerFd = undefined;
  }

  let open = true;
  const closeChannel = () => {
    if (open) {
      open = false;
      native.close(parentEnd);
    }
  };
  if (listenerFd === undefined) closeChannel();
  return {
    child,
    exited,
    listenerFd,
    ack() {
      if (!open) return;
      writeSync(parentEnd, Buffer.from([1]));
      closeChannel();
    },
    refuse: closeChannel,
  };
}
