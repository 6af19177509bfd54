/**
 * The whole JavaScript surface of the native addon (build/Release/sbx_unotify.node).
 * Load it only through src/native/load.ts, which lists every path it tried when the
 * addon is missing. TS validates every argument before calling in; native re-checks
 * arity and types and throws a TypeError naming the function and the bad argument.
 *
 * Blocking kernel waits (SECCOMP_IOCTL_NOTIF_RECV, poll on the listener) run on native
 * threads owned by the engine; results reach JS through ThreadSafeFunctions, batched.
 * No JavaScript runs per trapped syscall.
 */
import type { CompiledPolicy } from '../../src/policy/compiled.js';

export interface KernelFeatures {
  kernel: string;             // uname release
  arch: string;               // "x86_64", "aarch64", ...
  seccompFilter: boolean;     // seccomp(SECCOMP_SET_MODE_FILTER) usable (with no_new_privs)
  userNotify: boolean;        // SECCOMP_RET_USER_NOTIF + FLAG_NEW_LISTENER actually work (probed in a child)
  waitKillableRecv: boolean;  // SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV accepted
  addfd: boolean;             // SECCOMP_IOCTL_NOTIF_ADDFD works
  addfdSend: boolean;         // SECCOMP_ADDFD_FLAG_SEND works
  pidfdOpen: boolean;
  pidfdGetfd: boolean;
  landlockAbi: number;        // 0 = none
  /**
   * A process may read the memory of a same-user process that is not its descendant (probed
   * with two sibling children). The supervisor does this to every sandboxed process; Yama
   * ptrace_scope ≥ 1 refuses it to anyone without CAP_SYS_PTRACE.
   */
  ptraceOthers: boolean;
}

/**
 * What the addon delivers: the events, and in their order `root-exit` — the process
 * watchRoot watches exited, after every event of its own calls. src/native/engine.ts takes it
 * out and calls onRootExit.
 */
export type RawEngineEvent = EngineEvent | (Omit<EngineEvent, 'kind'> & { kind: 'root-exit' });

export interface EngineEvent {
  /** Milliseconds since the epoch. */
  time: number;
  /**
   * deny: refused; audit: would have been refused (mode audit); error: the engine could not
   * decide and refused; privileged: an allowed exec of a set-id or file-capability program
   * (it runs without gaining privileges: no_new_privs).
   */
  kind: 'deny' | 'audit' | 'error' | 'privileged';
  policy: number;
  /** Index into the policy's origins; -1 = the section default; -2 = built-in (protected pid, io_uring, …). */
  rule: number;
  pid: number;
  /** Canonical path of the process's executable (or its comm if unreadable). */
  program: string;
  syscall: string;
  op: 'read' | 'write' | 'exec' | 'net' | 'unix' | 'signal' | 'proc' | 'identity' | 'hint' | 'ipc';
  /** Path, "1.2.3.4:443", "[::1]:80", "@abstract", or a pid. */
  target: string;
  errno: number;
  /** How many identical events (same process, syscall, target, rule) this one stands for; the engine folds them. */
  count: number;
}

/** A sandboxed process opened a path under /proc/self/sbx/ (the shell hook's push channel). */
export interface HintRequest {
  /** Opaque notification id (decimal string); pass back to engineReplyHint. */
  id: string;
  pid: number;
  /** Thread-group id of the caller. */
  tgid: number;
  /** First segment after /proc/self/sbx/, e.g. "cd". */
  verb: string;
  /** The rest of the path after the verb and its slash ("" when absent), e.g. the directory the hook claims. */
  arg: string;
  /** readlink(/proc/<pid>/cwd), read by native after NOTIF_ID_VALID: the truth to check `arg` against. */
  cwd: string;
  /** Policy id currently assigned to the caller. */
  policy: number;
}

export interface HintReply {
  /** Reply with this errno (e.g. 13 = EACCES) instead of a file. */
  errno?: number;
  /** Text the caller reads from the fd it gets back (a sealed memfd). */
  content?: string;
}

export interface EngineOptions {
  /** The seccomp listener fd. The engine dups it; the caller keeps ownership of its copy. */
  listenerFd: number;
  /**
   * The session's strictest policy: for a process the engine cannot place (its tag is not
   * one this engine handed out) and for a policy id that is not set. Nothing is decided
   * until it is set with engineSetPolicy: set it last. A process runs under the policy it
   * was created under (addon/procs.h); assign the session's first process before it runs.
   */
  strictPolicy: number;
  /** Receiving threads (1..16). Default 2. */
  threads?: number;
  /** Pids no sandboxed process may signal, ptrace or open under /proc/<pid> (supervisor, keeper). */
  protectedPids: number[];
  /**
   * Optional memfd (≥ 64 KiB) journaling in-flight notifications so a restarted supervisor
   * can finish them. Beyond its first 256 KiB it also records the process tags handed out,
   * so a restarted supervisor's engine knows every running process's policy (the keeper's
   * is 1 MiB).
   */
  journalFd?: number;
  /**
   * sbx-launch. A process running this file (same dev/ino as at engine start) is the session's
   * launcher, started by sbx before the filter existed: its image is not decided against the
   * policy when the engine first meets it (every other process's image is; an exec of it
   * from inside is decided like any other).
   */
  launcherPath?: string;
  /**
   * Denials, audits and errors, batched (every 50 ms, or at 256 distinct events); identical
   * events are folded into one with a `count`, and the next batch waits until this callback
   * has returned (the engine keeps folding meanwhile, so a busy JS thread is never flooded).
   */
  onEvents: (events: RawEngineEvent[]) => void;
  /** A /proc/self/sbx/ request; the caller blocks until engineReplyHint. */
  onHint: (hint: HintRequest) => void;
  /** The listener hung up: no sandboxed process is left. Called once. */
  onClosed: () => void;
}

export interface EngineStats {
  decisions: number;
  denials: number;
  audits: number;
  /** Processes the engine has seen that are still alive. */
  processes: number;
  /** Notifications received but not yet answered. */
  pending: number;
  /** Notifications so far by syscall name (only those seen): what a workload makes the engine decide. */
  traps: Record<string, number>;
  /** Images verified before a trapped syscall (exec.cc): after an exec, and at a process's first sight (fork children, a restart). */
  verified: { afterExec: number; firstSight: number };
}

/** A keeper's connection to the supervisor (fdserver.cc): its first line, fds attached. */
export interface FdConnection {
  /** The connected AF_UNIX stream socket; the caller owns it (wrap it in a net.Socket). */
  fd: number;
  /** Fds received with SCM_RIGHTS (CLOEXEC); the caller owns them. */
  fds: number[];
  /** Everything read up to and including the first '\n' (may hold more lines). */
  payload: string;
  /** SO_PEERCRED of the peer. */
  pid: number;
  uid: number;
}

/** Opaque handle of a listening fd server. */
export interface FdServerHandle {
  readonly __fdserver: unique symbol;
}

/** Opaque handle; only meaningful to the engine functions below. */
export interface EngineHandle {
  readonly __engine: unique symbol;
}

/** One row of the syscall table (native/unotify/src/syscalls.def), which generates the filter. */
export interface SyscallRow {
  nr: number;
  name: string;
  /** allow: by number; trap: the engine decides; check: BPF decides on registers; eperm/enosys: refused. */
  action: 'allow' | 'trap' | 'check' | 'eperm' | 'enosys';
  /** The BPF block of a check row ("none" otherwise). */
  check: 'none' | 'ioctl' | 'fcntl' | 'setrlimit' | 'prlimit' | 'prctl' | 'seccomp' | 'clone' | 'unshare' | 'socket' | 'socketpair' | 'sendto' | 'setpgid';
  /** The engine handler of a trap (or trapping check) row ("none" otherwise). */
  handler: string;
}

export interface NativeAddon {
  /** Probes the running kernel for real (forks children that install filters). */
  probe(): KernelFeatures;
  /** The syscall table, in table order; numbers in no row get ENOSYS. */
  syscallTable(): SyscallRow[];
  /** AF_UNIX SOCK_SEQPACKET pair: [parentEnd (CLOEXEC), childEnd (inheritable)]. */
  socketPair(): [number, number];
  /** Receives one fd sent with SCM_RIGHTS. Throws on timeout, EOF, or a message without an fd. */
  recvFd(sock: number, timeoutMs: number): number;
  /** Sends one fd with SCM_RIGHTS plus a small payload. */
  sendFd(sock: number, fd: number, payload: string): void;
  close(fd: number): void;
  /** An exclusive flock on `path` (created 0600), held through the returned fd until it is closed or the process dies; -1 when someone else holds it. */
  lockExclusive(path: string): number;
  /** Replaces the current process image (Node 20 has no execve). Throws only on failure. */
  execve(path: string, argv: string[], env: string[]): never;

  /**
   * The highest policy id named by a live process tag recorded in a keeper's memfd (what a
   * previous engine of the session handed out), -1 when none; read without changing it. A
   * resumed session allocates new ids above it (src/supervisor/installed.ts).
   */
  storedMaxPolicy(memfd: number): number;
  engineCreate(options: EngineOptions): EngineHandle;
  /** Adds or atomically replaces the snapshot with policy.id; in-flight decisions finish on the old one. */
  engineSetPolicy(engine: EngineHandle, policy: CompiledPolicy): void;
  engineDropPolicy(engine: EngineHandle, policyId: number): void;
  /**
   * Puts pid (a tgid) under policyId from now on; the processes it created before keep the
   * policy they were created under, and its later children get policyId. followsCd: pid is
   * the session's shell (only it may push hints; it may act on any of its session's
   * processes). sealed: pid is an `sbx exec` that narrowed itself; no other process may read
   * or debug it (/proc/<pid>/environ, mem, ptrace), its own children included, for the rest
   * of its life. Throws (with errno) when the process cannot be tagged (gone, another user,
   * a hard core-size limit too low).
   */
  engineAssign(engine: EngineHandle, pid: number, policyId: number, followsCd: boolean, sealed: boolean): void;
  /** The policy pid runs under and whether it follows cd; null when pid is not this session's (or unplaced). */
  engineProcess(engine: EngineHandle, pid: number): { policy: number; followsCd: boolean } | null;
  /** Replaces the protected pids (this process is always added); decisions in flight finish on the old set. */
  engineSetProtectedPids(engine: EngineHandle, pids: number[]): void;
  engineReplyHint(engine: EngineHandle, hintId: string, reply: HintReply): void;
  engineStats(engine: EngineHandle): EngineStats;
  /**
   * The events queued for onEvents right now, taken synchronously; inFlight: an older batch
   * is on its way to onEvents (a caller that needs it waits for that call).
   */
  engineTakeEvents(engine: EngineHandle): { events: RawEngineEvent[]; inFlight: boolean };
  /**
   * Files to unlink at the next denial, error or privileged exec, before its reply is sent (the shells' fresh
   * markers: the hook asks at its next prompt). Fires once, then disarmed until set again.
   */
  engineSetNoticeFiles(engine: EngineHandle, paths: string[]): void;
  /** Is the terminal at `path` a pty this session allocated (its master opened inside the sandbox: fs_tty.cc)? */
  engineOwnsPty(engine: EngineHandle, path: string): boolean;
  /**
   * Stops every process of the session but its shell (SIGSTOP) and waits until every thread is
   * stopped, askingTid (blocked in its request) aside: while a person answers a question at
   * its terminal, nothing inside can redraw it or read the answer. '' when done; else why they
   * could not all be stopped ("thread 123 (sh) had not stopped after 5 s"): do not ask. Works
   * on a thread of its own; settles within 5 s (a fork storm, a loaded machine), a few ms normally.
   */
  enginePause(engine: EngineHandle, askingTid: number): Promise<string>;
  /** '' when nothing of the session ran since enginePause (a stopped process can be woken by a SIGCONT it arranged), else what did: ask before acting on the answer. */
  engineQuiet(engine: EngineHandle): string;
  /** Continues what enginePause stopped. */
  engineResume(engine: EngineHandle): void;
  /**
   * The session's command or shell: when it exits, what the session left is killed as
   * terminal_release.h says (each reported, op "tty"); stopping with sessionOver does the same at
   * once. terminalFds: the terminals the root started on, as its keeper recorded them (dup'd);
   * absent: read from the root now, which must not have run anything of the user's yet.
   */
  engineWatchRoot(engine: EngineHandle, pid: number, terminalFds?: number[]): void;
  /**
   * Stops the threads, flushes pending events. Does not close the caller's listener fd.
   * sessionOver: no engine will serve that listener again (an in-process `sbx exec` whose
   * program exited): the session's SysV objects, message queues and /dev/shm objects are
   * removed, as when its last process exits. Never for a session another supervisor resumes.
   */
  engineStop(engine: EngineHandle, sessionOver: boolean): void;

  /**
   * Listens on a new AF_UNIX stream socket at path (mode 0600; fails if it exists) on a
   * native thread; calls onConnection for each peer of the same uid (or root) that sent a
   * first line within 2 s. Node cannot receive SCM_RIGHTS, hence this.
   */
  fdServerCreate(path: string, onConnection: (conn: FdConnection) => void): FdServerHandle;
  /** Stops accepting and closes the listening socket (does not unlink the path). */
  fdServerClose(server: FdServerHandle): void;
  /** memfd_create (CLOEXEC) of the given size. */
  memfdCreate(name: string, size: number): number;
  /** Clears FD_CLOEXEC (Node sets it on 0-2 at startup; call before execve to keep stdio). */
  fdSetInheritable(fd: number): void;

  /**
   * sbx filtering proxies of this process: an engine refuses a sandbox's connect to one that
   * is not its policy's own (`net.proxyPort`). Call with open=true when a proxy listens,
   * false when it closes.
   */
  proxyRegister(port: number, open: boolean): void;
  /**
   * When the connection a proxy on 127.0.0.1:proxyPort accepted from clientAddress:clientPort
   * was made by an engine of this process for a sandbox whose policy names this proxy: the
   * policy id of the program that connected (once per connection; the proxy decides by it).
   * Anything else (another sandbox, an unsandboxed process): -1.
   */
  proxyAdmits(proxyPort: number, clientAddress: string, clientPort: number): number;
  /**
   * Whether the TCP server a connection to address:port on this machine would reach was bound
   * by a process under a `commands:` override, in any session of this process (the proxy
   * does not connect to one for anybody: it would cross the engine's override boundary).
   */
  overrideServerAt(address: string, port: number): boolean;
  /**
   * A TCP connection to address:port on this machine, made only when the server it reaches is
   * not one an override runs, the check and the handshake as one step (no such server starts
   * listening between them): the connected non-blocking socket's fd (the caller owns it), or
   * -errno (-EACCES an override's server, -ETIMEDOUT no handshake within timeoutMs).
   */
  connectUnlessOverride(address: string, port: number, timeoutMs: number): number;
  /**
   * The server of a unix stream/seqpacket socket ("/path" or "@abstract"), found with a
   * connection of our own (SO_PEERPIDFD / SO_PEERCRED): pid 0 = its listener has exited.
   */
  unixPeer(name: string): { pid: number; uid: number } | { errno: number };

  /** Test/explain hook: the native decision for one path, so TS and native can be checked against the same table. */
  decidePath(section: { default: 'allow' | 'deny'; rules: CompiledPolicy['read']['rules'] }, path: string): { effect: 'allow' | 'deny'; rule: number };
  /**
   * Test hook: may a sandboxed process reach `below` ("status", "task/12/stat", "" = the
   * directory) under ANOTHER process's /proc/<pid>/ (not its own, not a protected pid)?
   */
  /** debuggable: the process is one the caller may debug (same session, policy no wider). */
  procEntryAllowed(below: string, write: boolean, debuggable: boolean): boolean;
  /** Test hook: the engine's own SHA-256 (exec image identity) of `data`, lower-case hex. */
  sha256Hex(data: Uint8Array): string;
  /**
   * Test/bench hook: the engine's cached image hash of the file at `path` (null when it cannot be
   * read), and the cache counters so far: files hashed, bytes hashed, cache hits.
   */
  imageDigest(path: string): { sha256: string | null; hashed: number; bytes: number; hits: number };
  /** Test hook: native reading of a tool's global options (twin of src/policy/exec-tools.ts subcommandStarts). */
  subcommandStarts(argv: string[], tool: { value: string[]; flag: string[] }): number[];
  /** Test hook: `ld.so [options] PROG`: PROG's index, 0 = none, -1 = options sbx cannot read with certainty. */
  loaderProgIndex(argv: string[]): number;
  /**
   * lstat (follow false) or stat of each path, in one call: 0 absent or unreadable (any error),
   * 1 regular file, 2 directory, 3 symlink, 4 anything else. The supervisor re-checks a cached
   * policy's facts with it (src/policy/expand.ts planFactsCheck).
   */
  pathKinds(paths: string[], follow: boolean): Uint8Array;
  /**
   * lstat of each path, in one call: 4 numbers per path — dev, ino, mtime and ctime in
   * nanoseconds — for a directory on a local filesystem whose directory times move with each
   * entry and that never brings a directory back as it was (ext4, xfs, tmpfs, f2fs), four
   * zeros for anything else (absent, unreadable, a symlink, NFS, FUSE, overlayfs, btrfs, zfs,
   * bcachefs, /proc). The supervisor stamps the directories a cached policy's facts live in
   * with it (src/policy/expand.ts PathStamps; native: dir_stamps.h).
   */
  pathStamps(paths: string[]): BigUint64Array;
  /**
   * A number that changes whenever this process's mount table changed since the last call
   * (poll of /proc/self/mountinfo): directory stamps taken before a mount are not trusted
   * after it (a mount over a name leaves its directory's times alone).
   */
  mountGeneration(): number;
}
