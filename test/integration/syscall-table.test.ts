/**
 * The filter is an allow-list generated from one table (native/unotify/src/syscalls.def).
 * On the real kernel, every syscall number from 0 to the table's highest + 64 is called
 * (never executed: see test/fixtures/c/syscall_walk.c) under the real sbx filter, and each
 * is allowed, trapped or refused exactly as the table says — numbers in no row, including
 * every number above the table (syscalls the kernel adds later), get ENOSYS. The register
 * checks of CHECK rows are walked case by case, each refusal next to its allowed twin.
 */
import { describe, expect, it } from 'vitest';
import { arch } from 'node:os';
import { loadNative } from '../../src/native/load.js';
import { fixture, run } from './exec-helpers.js';

const table = loadNative().syscallTable();
const byNr = new Map(table.map((r) => [r.nr, r]));
const top = Math.max(...table.map((r) => r.nr));
const EPERM = 'errno:1';
const ENOSYS = 'errno:38';
const EAFNOSUPPORT = 'errno:97';
const EPROTONOSUPPORT = 'errno:93';
const EOPNOTSUPP = 'errno:95';

/**
 * Syscalls the kernel never shows to seccomp (the uprobe trampolines' own; any other
 * caller is killed with SIGILL): the walk cannot call them, and no filter can refuse them.
 */
const passedBySeccomp = new Set(['uretprobe', 'uprobe']);

/** What a CHECK row does when every argument is zero. */
const checkWithZeroArgs: Record<string, string> = {
  ioctl: 'allow', // cmd 0
  fcntl: 'allow', // F_DUPFD
  setrlimit: 'allow', // RLIMIT_CPU
  prlimit: 'allow', // pid 0 (self), RLIMIT_CPU
  prctl: 'allow',
  seccomp: 'allow', // no NEW_LISTENER flag
  clone: 'allow', // no namespace flags
  unshare: 'allow',
  socket: EAFNOSUPPORT, // AF_UNSPEC
  socketpair: EAFNOSUPPORT,
  sendto: 'allow', // no destination: a connected socket
  setpgid: 'allow', // pgid 0: a new group
  setsockopt: 'trap', // level 0 (IPPROTO_IP), option 0: off the list (the engine refuses it)
};

function expected(nr: number): string {
  const row = byNr.get(nr);
  if (!row) return ENOSYS;
  switch (row.action) {
    case 'allow': return 'allow';
    case 'trap': return 'trap';
    case 'eperm': return EPERM;
    case 'enosys': return ENOSYS;
    case 'check': return checkWithZeroArgs[row.check] ?? `no expectation for check ${row.check}`;
  }
}

const nr = (name: string) => {
  const row = table.find((r) => r.name === name);
  if (!row) throw new Error(`${name} is not in the syscall table`);
  return row.nr;
};

/** [label, syscall, args, expected]: each refusal sits next to its allowed twin. */
const X32 = 0x40000000;
const cases: [string, string, number[], string][] = [
  ['socket-inet-stream', 'socket', [2, 1, 0], 'allow'],
  ['socket-inet-raw', 'socket', [2, 3, 0], EPERM],
  ['socket-inet6-dgram-cloexec', 'socket', [10, 2 | 0x80000, 0], 'allow'],
  ['socket-inet6-raw-nonblock', 'socket', [10, 3 | 0x800, 0], EPERM],
  ['socket-inet-packet', 'socket', [2, 10, 0], EPERM],
  ['socket-inet-seqpacket', 'socket', [2, 5, 0], EPROTONOSUPPORT], // SCTP where the kernel has it
  ['socket-inet6-seqpacket-cloexec', 'socket', [10, 5 | 0x80000, 0], EPROTONOSUPPORT],
  ['socket-inet-rdm', 'socket', [2, 4, 0], EPROTONOSUPPORT],
  ['socket-inet-dccp', 'socket', [2, 6, 0], EPROTONOSUPPORT],
  ['socket-inet-stream-sctp', 'socket', [2, 1, 132], EPROTONOSUPPORT],
  ['socket-inet-stream-tcp', 'socket', [2, 1, 6], 'allow'],
  // MPTCP: its listener in the TCP table is a subflow the engine never saw bound (helper-89 #02)
  ['socket-inet-stream-mptcp', 'socket', [2, 1, 262], EPROTONOSUPPORT],
  ['socket-inet-stream-udp', 'socket', [2, 1, 17], EPROTONOSUPPORT],
  ['socket-inet-dgram-udp', 'socket', [2, 2, 17], 'allow'],
  ['socket-inet-dgram-udplite', 'socket', [2, 2, 136], 'allow'],
  ['socket-inet-dgram-icmp', 'socket', [2, 2, 1], 'allow'], // ping sockets
  ['socket-inet6-dgram-icmpv6', 'socket', [10, 2, 58], 'allow'],
  ['socket-inet-dgram-tcp', 'socket', [2, 2, 6], EPROTONOSUPPORT],
  ['setsockopt-reuseport', 'setsockopt', [0, 1, 15], 'trap'], // refused by the engine on inet sockets
  ['setsockopt-reuseaddr', 'setsockopt', [0, 1, 2], 'trap'], // refused by the engine on inet datagram sockets
  ['setsockopt-zerocopy', 'setsockopt', [0, 1, 60], EOPNOTSUPP],
  ['setsockopt-rcvbuf', 'setsockopt', [0, 1, 8], 'allow'],
  ['setsockopt-ip-freebind', 'setsockopt', [0, 0, 15], 'trap'], // level IPPROTO_IP: 15 is not SO_REUSEPORT there; refused by the engine
  ['setsockopt-ip-tos', 'setsockopt', [0, 0, 1], 'allow'],
  ['setsockopt-ip-options', 'setsockopt', [0, 0, 4], 'trap'], // source routes: refused by the engine
  ['setsockopt-ip-add-membership', 'setsockopt', [0, 0, 35], 'trap'], // joins: the engine, by the network policy
  ['setsockopt-ip-local-port-range', 'setsockopt', [0, 0, 51], 'allow'],
  ['setsockopt-ipv6-v6only', 'setsockopt', [0, 41, 26], 'allow'],
  ['setsockopt-ipv6-rthdr', 'setsockopt', [0, 41, 57], 'trap'],
  ['setsockopt-ipv6-tclass', 'setsockopt', [0, 41, 67], 'allow'],
  ['setsockopt-ipv6-freebind', 'setsockopt', [0, 41, 78], 'trap'],
  ['setsockopt-bindtodevice', 'setsockopt', [0, 1, 25], 'trap'],
  ['setsockopt-tcp-nodelay', 'setsockopt', [0, 6, 1], 'allow'],
  ['setsockopt-unknown-level', 'setsockopt', [0, 12345, 1], 'trap'],
  ['socket-unix', 'socket', [1, 1, 0], 'allow'],
  ['socket-packet', 'socket', [17, 3, 0], EAFNOSUPPORT],
  ['socket-vsock', 'socket', [40, 1, 0], EAFNOSUPPORT],
  ['socket-netlink-route', 'socket', [16, 3, 0], 'allow'],
  ['socket-netlink-audit', 'socket', [16, 3, 9], EAFNOSUPPORT],
  ['socketpair-unix', 'socketpair', [1, 1, 0], 'allow'],
  ['socketpair-inet', 'socketpair', [2, 1, 0], EAFNOSUPPORT],
  ['clone-thread', 'clone', [0x50f00], 'allow'],
  ['clone-newuser', 'clone', [0x10000000 | 17], EPERM],
  ['clone-newns', 'clone', [0x20000 | 17], EPERM],
  ['clone-newnet', 'clone', [0x40000000], EPERM],
  ['unshare-fs', 'unshare', [0x200], 'allow'],
  ['unshare-newuser', 'unshare', [0x10000000], EPERM],
  ['unshare-newtime', 'unshare', [0x80], EPERM],
  ['ioctl-tcgets', 'ioctl', [0, 0x5401], 'allow'],
  ['ioctl-tiocsti', 'ioctl', [0, 0x5412], EPERM],
  ['ioctl-tioclinux', 'ioctl', [0, 0x541c], EPERM],
  ['ioctl-tiocsctty-0', 'ioctl', [0, 0x540e, 0], 'allow'],
  ['ioctl-tiocsctty-steal', 'ioctl', [0, 0x540e, 1], 'trap'], // the engine refuses it to a caller with CAP_SYS_ADMIN
  ['ioctl-setflags', 'ioctl', [0, 0x40086602, 0], 'trap'],
  ['ioctl-getflags', 'ioctl', [0, 0x80086601, 0], 'allow'],
  ['ioctl-fiosetown', 'ioctl', [0, 0x8901, 0], EPERM],
  ['ioctl-fioasync', 'ioctl', [0, 0x5452, 0], 'trap'],
  ['ioctl-tiocspgrp', 'ioctl', [0, 0x5410, 0], 'trap'],
  ['ioctl-tiocgpgrp', 'ioctl', [0, 0x540f, 0], 'allow'],
  ['fcntl-getfl', 'fcntl', [0, 3], 'allow'],
  ['fcntl-setown', 'fcntl', [0, 8, 1], 'trap'],
  ['fcntl-setown-ex', 'fcntl', [0, 15, 0], EPERM],
  ['fcntl-setfl-nonblock', 'fcntl', [0, 4, 0x800], 'allow'],
  ['fcntl-setfl-async', 'fcntl', [0, 4, 0x2800], 'trap'], // a terminal would name its foreground group the SIGIO owner
  ['setrlimit-nofile', 'setrlimit', [7, 0], 'allow'],
  ['setrlimit-core', 'setrlimit', [4, 0], EPERM],
  ['prlimit-self-core-get', 'prlimit64', [0, 4, 0, 0], 'allow'],
  ['prlimit-self-core-set', 'prlimit64', [0, 4, 0x1000, 0], EPERM],
  ['prlimit-other', 'prlimit64', [1, 7, 0, 0], 'trap'],
  ['prctl-set-name', 'prctl', [15, 0], 'allow'],
  ['prctl-set-mm', 'prctl', [35, 0], EPERM],
  ['prctl-set-dumpable', 'prctl', [4, 1], 'trap'], // answered by the engine (dumpable.h)
  ['prctl-get-dumpable', 'prctl', [3, 0], 'trap'],
  ['seccomp-filter', 'seccomp', [1, 0, 0], 'trap'], // decided by the engine (self_restrict.cc)
  ['seccomp-strict', 'seccomp', [0, 1, 0], 'allow'], // flags on strict mode: the kernel's EINVAL
  ['prctl-set-seccomp', 'prctl', [22, 0, 0], 'trap'],
  ['seccomp-listener', 'seccomp', [1, 8, 0], EPERM],
  ['setpgid-new-group', 'setpgid', [0, 0], 'allow'],
  ['setpgid-join', 'setpgid', [0, 1], 'trap'],
  ['sendto-connected', 'sendto', [0, 0, 0, 0, 0, 0], 'allow'],
  ['sendto-address', 'sendto', [0, 0, 0, 0, 0x1000, 16], 'trap'],
  ['x32-read', 'read', [], ENOSYS], // nr | X32 below
  ['x32-getpid', 'getpid', [], ENOSYS],
];

describe.runIf(arch() === 'x64')('the syscall table on the real kernel', () => {
  it('every trap (and trapping check) row names an engine handler; other rows name none', () => {
    for (const r of table) {
      const traps = r.action === 'trap' || (r.action === 'check' && ['ioctl', 'fcntl', 'prlimit', 'prctl', 'sendto', 'setpgid', 'setsockopt', 'seccomp'].includes(r.check));
      expect(r.handler !== 'none', `${r.name}: handler ${r.handler}`).toBe(traps);
    }
    expect(new Set(table.map((r) => r.nr)).size).toBe(table.length); // one row per syscall
  });

  it(`walks 0..${top + 64}: each number is allowed, trapped or refused as the table says; the rest is ENOSYS`, async () => {
    const specs = cases.map(([label, name, args]) => {
      const n = label.startsWith('x32-') ? nr(name) | X32 : nr(name);
      return [label, String(n), ...args.map((a) => `0x${a.toString(16)}`)].join(':');
    });
    const numbers: string[] = [];
    for (let n = 0; n <= top + 64; n++) if (!passedBySeccomp.has(byNr.get(n)?.name ?? '')) numbers.push(`${n}:${n}`);
    const r = await run(fixture('syscall_walk'), ['-1', ...numbers, ...specs]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const seen = new Map(r.stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]));
    const wrong: string[] = [];
    for (let n = 0; n <= top + 64; n++) {
      if (passedBySeccomp.has(byNr.get(n)?.name ?? '')) continue;
      const want = expected(n);
      const got = seen.get(String(n));
      if (got !== want) wrong.push(`${n} (${byNr.get(n)?.name ?? 'not in table'}): want ${want}, got ${got}`);
    }
    for (const [label, , , want] of cases) {
      const got = seen.get(label);
      if (got !== want) wrong.push(`${label}: want ${want}, got ${got}`);
    }
    expect(wrong).toEqual([]);
    // The walk reached every kind of outcome (a filter that did one thing everywhere cannot pass).
    const outcomes = new Set(seen.values());
    for (const o of ['allow', 'trap', EPERM, ENOSYS, EAFNOSUPPORT]) expect(outcomes).toContain(o);
  });
});
