/*
 * The sbx seccomp BPF program, generated from the syscall table (syscalls.def). Header-only
 * so the launcher, the addon (syscallTable) and the tests build exactly the same program.
 *
 * Layout:
 *   arch ≠ native ABI (i386 int 0x80, arm32 compat) → ERRNO(ENOSYS)
 *   x32 bit (x86_64)                                → ERRNO(ENOSYS)
 *   a binary search over runs of syscall numbers with one action, whose leaves return
 *   that action; CHECK rows are leaves of their own that look at registers
 *   numbers in no row (gaps, and everything above the table) → ERRNO(ENOSYS)
 * ALLOW depends only on (arch, nr), so the kernel's seccomp action cache lets those
 * syscalls skip the program entirely.
 */
#ifndef SBX_FILTER_H
#define SBX_FILTER_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/netlink.h>
#include <linux/prctl.h>
#include <asm/unistd.h>

#include "syscall_numbers.h"

#if defined(__x86_64__)
#define SBX_AUDIT_ARCH AUDIT_ARCH_X86_64
#define SBX_X32_BIT 0x40000000u
#elif defined(__aarch64__)
#define SBX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "sbx: the seccomp filter is written for x86_64 and aarch64 only"
#endif

#ifndef SECCOMP_RET_USER_NOTIF
#error "sbx: linux/seccomp.h is too old (no SECCOMP_RET_USER_NOTIF)"
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif
/* inode flag setters (chattr), decided as metadata writes on the fd's file */
#define SBX_FS_IOC_SETFLAGS 0x40086602u
#define SBX_FS_IOC32_SETFLAGS 0x40046602u
#define SBX_FS_IOC_FSSETXATTR 0x401c5820u
/* fs-verity: a read-only fd would make the file immutable for good */
#define SBX_FS_IOC_ENABLE_VERITY 0x40806685u
/* btrfs (type 0x94): snapshots and subvolumes are copies and directories made, moved and
   removed with no path decided (a snapshot of a subvolume holding ~/.ssh into an allowed
   dir reads it), TREE_SEARCH/SEND/ENCODED_READ read data by tree: only these pass */
static const uint32_t sbx_btrfs_ioctls_ok[] = {
  0x00009408u, /* SYNC */ 0x40049409u, /* CLONE = FICLONE (needs a writable fd) */
  0x4020940du, /* CLONE_RANGE = FICLONERANGE */ 0xc0189436u, /* FILE_EXTENT_SAME = FIDEDUPERANGE */
  0xc0109414u, /* SPACE_INFO */ 0x40089416u, /* WAIT_SYNC */ 0x80089418u, /* START_SYNC */
  0x80089419u, /* SUBVOL_GETFLAGS */ 0xd000941eu, /* DEV_INFO */ 0x8400941fu, /* FS_INFO */
  0x80189439u, /* GET_FEATURES */ 0x80489439u, /* GET_SUPPORTED_FEATURES */
  0x81f8943cu, /* GET_SUBVOL_INFO */ 0xd000943du, /* GET_SUBVOL_ROOTREF */ 0xd000943eu, /* INO_LOOKUP_USER */
};
/* XFS (type 'X', shared with FS_IOC_FS[GS]ETXATTR): its own open-by-handle family, by
   number: OPEN_BY_HANDLE, READLINK_BY_HANDLE, FSSETDM/ATTRLIST/ATTRMULTI_BY_HANDLE */
static const uint32_t sbx_xfs_handle_nrs[] = {107, 108, 121, 122, 123};
/* owner setters: SIGIO/SIGURG aimed at another process */
#define SBX_FIOSETOWN 0x8901u
#define SBX_SIOCSPGRP 0x8902u
#define SBX_F_SETOWN 8u
#define SBX_F_SETOWN_EX 15u
/* F_SETLEASE (F_LINUX_SPECIFIC_BASE): a lease makes everyone else's open() of the file wait
   (45 s) or fail: a sandbox would hold the user's rc files, sbx itself, a policy file */
#define SBX_F_SETLEASE 1024u
/* signal-driven I/O: F_SETFL with O_ASYNC (asm-generic/fcntl.h FASYNC), FIOASYNC */
#define SBX_F_SETFL 4u
#define SBX_O_ASYNC 020000u
#define SBX_FIOASYNC 0x5452u
/* asm-generic/socket.h (x86_64 and aarch64) */
#define SBX_SO_ZEROCOPY 60u
/* setsockopt levels let through whole: their options name no other host (TCP, UDP,
   UDP-Lite, ICMPv6 filters, netlink, kTLS, MPTCP) */
static const uint32_t sbx_sockopt_levels_ok[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, IPPROTO_ICMPV6,
                                                 270 /* SOL_NETLINK */, 282 /* SOL_TLS */, 284 /* SOL_MPTCP */};
/* IP and IPv6 options that are let through, as [first, last] runs of option numbers
   (linux/in.h, linux/in6.h). The engine decides a send's address and sends on the program's
   own socket, so nothing here may change where a packet goes or what it claims: not an IPv6
   routing header (IPV6_RTHDR 57, IPV6_2292RTHDR 5, or inside IPV6_2292PKTOPTIONS 6 or a flow
   label, IPV6_FLOWLABEL_MGR 32) nor an IPv4 source route (IP_OPTIONS 4), which go to their
   hops first; not a source address the machine does not have (IP_FREEBIND 15,
   IPV6_FREEBIND 78, IPV6_PKTINFO 50 sticky) nor an interface of the caller's choosing
   (IP_UNICAST_IF 50, IPV6_UNICAST_IF 76: a loopback address sent out on the LAN); not a
   multicast or anycast join (IP 35-48, IPv6 20, 21, 27, 28, 42-48), which the kernel reports
   to the network with the addresses given; nor other headers, IPsec/xfrm policies,
   raw-socket and transparent-proxy options. Those are trapped: the engine refuses them by
   name, and does a join itself where the network is not restricted (net.cc) */
static const uint32_t sbx_sockopt_ip_ok[][2] = {
  {1, 2},   /* IP_TOS, IP_TTL */
  {6, 8},   /* IP_RECVOPTS, IP_RETOPTS (flags: receive them), IP_PKTINFO (a flag here) */
  {10, 13}, /* IP_MTU_DISCOVER, IP_RECVERR, IP_RECVTTL, IP_RECVTOS */
  {18, 18}, /* IP_PASSSEC */
  {20, 26}, /* IP_RECVORIGDSTADDR … IP_BIND_ADDRESS_NO_PORT, IP_RECVFRAGSIZE, IP_RECVERR_RFC4884 */
  {32, 34}, /* IP_MULTICAST_IF, IP_MULTICAST_TTL, IP_MULTICAST_LOOP (sends stay decided) */
  {49, 49}, /* IP_MULTICAST_ALL */
  {51, 51}, /* IP_LOCAL_PORT_RANGE */
};
static const uint32_t sbx_sockopt_ipv6_ok[][2] = {
  {2, 2},   /* IPV6_2292PKTINFO (a flag) */
  {8, 8},   /* IPV6_2292HOPLIMIT (a flag) */
  {11, 11}, /* IPV6_FLOWINFO */
  {16, 19}, /* IPV6_UNICAST_HOPS, IPV6_MULTICAST_IF, _HOPS, _LOOP */
  {23, 26}, /* IPV6_MTU_DISCOVER, IPV6_MTU, IPV6_RECVERR, IPV6_V6ONLY */
  {29, 29}, /* IPV6_MULTICAST_ALL */
  {31, 31}, /* IPV6_RECVERR_RFC4884 */
  {49, 49}, /* IPV6_RECVPKTINFO */
  {51, 53}, /* IPV6_RECVHOPLIMIT, IPV6_HOPLIMIT, IPV6_RECVHOPOPTS */
  {56, 56}, /* IPV6_RECVRTHDR (a flag: receive them) */
  {58, 58}, /* IPV6_RECVDSTOPTS */
  {60, 62}, /* IPV6_RECVPATHMTU, IPV6_PATHMTU, IPV6_DONTFRAG */
  {66, 67}, /* IPV6_RECVTCLASS, IPV6_TCLASS */
  {70, 70}, /* IPV6_AUTOFLOWLABEL */
  {72, 74}, /* IPV6_ADDR_PREFERENCES, IPV6_MINHOPCOUNT, IPV6_RECVORIGDSTADDR */
  {77, 77}, /* IPV6_RECVFRAGSIZE */
};
/* socket-level options that pin a socket to an interface: decided by the engine (net.cc) */
#define SBX_SO_BINDTODEVICE 25u
#define SBX_SO_BINDTOIFINDEX 62u

/* Namespace creation: CLONE_NEWNS 0x20000, NEWCGROUP 0x2000000, NEWUTS 0x4000000, NEWIPC
   0x8000000, NEWUSER 0x10000000, NEWPID 0x20000000, NEWNET 0x40000000 (linux/sched.h).
   unshare adds CLONE_NEWTIME 0x80, which clone reads as part of its exit-signal byte. */
#define SBX_CLONE_NS_FLAGS 0x7E020000u
#define SBX_CLONE_NEWTIME 0x00000080u
/* CLONE_VM 0x100, CLONE_FS 0x200, CLONE_VFORK 0x4000, CLONE_PARENT 0x8000, CLONE_THREAD 0x10000 (linux/sched.h) */
#define SBX_CLONE_VM 0x00000100u
#define SBX_CLONE_FS 0x00000200u
#define SBX_CLONE_VFORK 0x00004000u
#define SBX_CLONE_PARENT 0x00008000u
#define SBX_CLONE_THREAD 0x00010000u

/* ---- the table, as data ---- */
enum sbx_action { SBX_ALLOW, SBX_TRAP, SBX_CHECK, SBX_EPERM, SBX_ENOSYS };
enum sbx_check {
  SBX_CHECK_none, SBX_CHECK_ioctl, SBX_CHECK_fcntl, SBX_CHECK_setrlimit, SBX_CHECK_prlimit,
  SBX_CHECK_prctl, SBX_CHECK_seccomp, SBX_CHECK_clone, SBX_CHECK_unshare, SBX_CHECK_socket,
  SBX_CHECK_socketpair, SBX_CHECK_sendto, SBX_CHECK_setpgid, SBX_CHECK_setsockopt
};
struct sbx_syscall { int nr; const char *name; enum sbx_action action; enum sbx_check check; const char *handler; };

static const struct sbx_syscall sbx_syscalls[] = {
#define SBX_SYSCALL(nm, act, chk, h) { __NR_##nm, #nm, SBX_##act, SBX_CHECK_##chk, #h },
#include "syscalls.def"
#undef SBX_SYSCALL
};
#define SBX_NSYSCALLS ((int)(sizeof sbx_syscalls / sizeof sbx_syscalls[0]))
#define SBX_FILTER_MAX 1024

/* Offsets into struct seccomp_data. */
#define SBX_OFF_NR offsetof(struct seccomp_data, nr)
#define SBX_OFF_ARCH offsetof(struct seccomp_data, arch)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SBX_OFF_ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define SBX_OFF_ARG_HI(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#else
#define SBX_OFF_ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#define SBX_OFF_ARG_HI(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#endif

#define SBX_RET_ALLOW SECCOMP_RET_ALLOW
#define SBX_RET_TRAP SECCOMP_RET_USER_NOTIF
#define SBX_RET_ERR(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

/* ---- a tiny assembler: forward jumps to labels, resolved per block ---- */
struct sbx_asm {
  struct sock_filter *out;
  int n, max, err;
  int label[16];                        /* position of each label, -1 until marked */
  struct { int at, label, jt; } fix[64]; /* pending jumps */
  int nfix;
};

static inline void sbx_emit(struct sbx_asm *a, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  if (a->n >= a->max) { a->err = -E2BIG; return; }
  a->out[a->n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}
static inline void sbx_ld(struct sbx_asm *a, uint32_t off) { sbx_emit(a, BPF_LD | BPF_W | BPF_ABS, off, 0, 0); }
static inline void sbx_ret(struct sbx_asm *a, uint32_t action) { sbx_emit(a, BPF_RET | BPF_K, action, 0, 0); }
/* if (A <op> k) goto label; else fall through */
static inline void sbx_jump_if(struct sbx_asm *a, uint16_t op, uint32_t k, int label) {
  if (a->nfix >= 64) { a->err = -E2BIG; return; }
  a->fix[a->nfix].at = a->n; a->fix[a->nfix].label = label; a->fix[a->nfix].jt = 1; a->nfix++;
  sbx_emit(a, BPF_JMP | op | BPF_K, k, 0, 0);
}
/* if (first <= A <= last) goto label, for each run; else fall through */
static inline void sbx_jump_if_in_runs(struct sbx_asm *a, const uint32_t (*runs)[2], size_t n, int label) {
  for (size_t i = 0; i < n; i++) {
    sbx_emit(a, BPF_JMP | BPF_JGT | BPF_K, runs[i][1], 1, 0); /* past this run: skip its test */
    sbx_jump_if(a, BPF_JGE, runs[i][0], label);
  }
}
static inline void sbx_block_begin(struct sbx_asm *a) {
  for (int i = 0; i < 16; i++) a->label[i] = -1;
  a->nfix = 0;
}
static inline void sbx_mark(struct sbx_asm *a, int label) { a->label[label] = a->n; }
static inline void sbx_block_end(struct sbx_asm *a) {
  for (int i = 0; i < a->nfix; i++) {
    int to = a->label[a->fix[i].label];
    int off = to - a->fix[i].at - 1;
    if (to < 0 || off < 0 || off > 255) { a->err = -ERANGE; return; }
    if (a->fix[i].jt) a->out[a->fix[i].at].jt = (uint8_t)off;
    else a->out[a->fix[i].at].jf = (uint8_t)off;
  }
}

/* Labels inside a check block: shared returns at its end, plus a few inner entry points. */
enum { L_ALLOW, L_TRAP, L_EPERM, L_ENOSYS, L_EAFNOSUPPORT, L_A, L_B, L_C, L_D, L_E };

/* One CHECK row: decide on registers, end in a return. */
static inline void sbx_emit_check(struct sbx_asm *a, enum sbx_check check) {
  sbx_block_begin(a);
  switch (check) {
    case SBX_CHECK_ioctl: /* ioctl(fd, cmd, arg): cmd is an unsigned int */
      sbx_ld(a, SBX_OFF_ARG_LO(1));
      sbx_jump_if(a, BPF_JEQ, TIOCSTI, L_EPERM);
      sbx_jump_if(a, BPF_JEQ, TIOCLINUX, L_EPERM);
      sbx_jump_if(a, BPF_JEQ, SBX_FIOSETOWN, L_EPERM);
      sbx_jump_if(a, BPF_JEQ, SBX_SIOCSPGRP, L_EPERM);
      sbx_jump_if(a, BPF_JEQ, SBX_FIOASYNC, L_TRAP); /* as fcntl O_ASYNC (proc.cc) */
      sbx_jump_if(a, BPF_JEQ, TIOCSPGRP, L_TRAP);    /* the terminal's foreground (fs_tty.cc) */
      sbx_jump_if(a, BPF_JEQ, SBX_FS_IOC_SETFLAGS, L_TRAP);
      sbx_jump_if(a, BPF_JEQ, SBX_FS_IOC32_SETFLAGS, L_TRAP);
      sbx_jump_if(a, BPF_JEQ, SBX_FS_IOC_FSSETXATTR, L_TRAP);
      sbx_jump_if(a, BPF_JEQ, TIOCSCTTY, L_A);
      sbx_jump_if(a, BPF_JEQ, SBX_FS_IOC_ENABLE_VERITY, L_EPERM);
      sbx_emit(a, BPF_ALU | BPF_AND | BPF_K, 0xff00u, 0, 0);
      sbx_jump_if(a, BPF_JEQ, 0x9400u, L_B);
      sbx_jump_if(a, BPF_JEQ, (uint32_t)'X' << 8, L_C);
      sbx_ret(a, SBX_RET_ALLOW);
      sbx_mark(a, L_A); /* TIOCSCTTY: a non-zero int arg steals the tty from its session,
                           for a caller with CAP_SYS_ADMIN: the engine looks (fs_tty.cc) */
      sbx_ld(a, SBX_OFF_ARG_LO(2));
      sbx_jump_if(a, BPF_JEQ, 0, L_ALLOW);
      sbx_ret(a, SBX_RET_TRAP);
      sbx_mark(a, L_B); /* btrfs: the listed ones only */
      sbx_ld(a, SBX_OFF_ARG_LO(1));
      for (size_t i = 0; i < sizeof sbx_btrfs_ioctls_ok / sizeof sbx_btrfs_ioctls_ok[0]; i++)
        sbx_jump_if(a, BPF_JEQ, sbx_btrfs_ioctls_ok[i], L_ALLOW);
      sbx_ret(a, SBX_RET_ERR(EPERM));
      sbx_mark(a, L_C); /* XFS: not the by-handle ones */
      sbx_ld(a, SBX_OFF_ARG_LO(1));
      sbx_emit(a, BPF_ALU | BPF_AND | BPF_K, 0xffu, 0, 0);
      for (size_t i = 0; i < sizeof sbx_xfs_handle_nrs / sizeof sbx_xfs_handle_nrs[0]; i++)
        sbx_jump_if(a, BPF_JEQ, sbx_xfs_handle_nrs[i], L_EPERM);
      sbx_ret(a, SBX_RET_ALLOW);
      break;
    case SBX_CHECK_fcntl: /* fcntl(fd, cmd, arg) */
      sbx_ld(a, SBX_OFF_ARG_LO(1));
      sbx_jump_if(a, BPF_JEQ, SBX_F_SETOWN, L_TRAP);
      sbx_jump_if(a, BPF_JEQ, SBX_F_SETOWN_EX, L_EPERM);
      sbx_jump_if(a, BPF_JEQ, SBX_F_SETLEASE, L_EPERM);
      sbx_jump_if(a, BPF_JEQ, SBX_F_SETFL, L_A);
      sbx_ret(a, SBX_RET_ALLOW);
      sbx_mark(a, L_A); /* F_SETFL with O_ASYNC: a terminal makes its foreground group the SIGIO owner */
      sbx_ld(a, SBX_OFF_ARG_LO(2));
      sbx_jump_if(a, BPF_JSET, SBX_O_ASYNC, L_TRAP);
      sbx_ret(a, SBX_RET_ALLOW);
      break;
    case SBX_CHECK_setrlimit: /* setrlimit(resource, rlim) */
      sbx_ld(a, SBX_OFF_ARG_LO(0));
      sbx_jump_if(a, BPF_JEQ, RLIMIT_CORE, L_EPERM);
      sbx_ret(a, SBX_RET_ALLOW);
      break;
    case SBX_CHECK_prlimit: /* prlimit64(pid, resource, new, old) */
      sbx_ld(a, SBX_OFF_ARG_LO(0));
      sbx_jump_if(a, BPF_JGT, 0, L_TRAP); /* another pid (or our own by number): the engine */
      sbx_ld(a, SBX_OFF_ARG_LO(1));
      sbx_jump_if(a, BPF_JEQ, RLIMIT_CORE, L_B);
      sbx_ret(a, SBX_RET_ALLOW);
      sbx_mark(a, L_B); /* RLIMIT_CORE: reading is fine, setting is not */
      sbx_ld(a, SBX_OFF_ARG_LO(2));
      sbx_jump_if(a, BPF_JGT, 0, L_EPERM);
      sbx_ld(a, SBX_OFF_ARG_HI(2));
      sbx_jump_if(a, BPF_JGT, 0, L_EPERM);
      sbx_ret(a, SBX_RET_ALLOW);
      break;
    case SBX_CHECK_prctl: /* prctl(option, …) */
      sbx_ld(a, SBX_OFF_ARG_LO(0));
      sbx_jump_if(a, BPF_JEQ, PR_SET_MM, L_EPERM);
      sbx_jump_if(a, BPF_JEQ, PR_SET_DUMPABLE, L_TRAP);
      sbx_jump_if(a, BPF_JEQ, PR_GET_DUMPABLE, L_TRAP);
      sbx_jump_if(a, BPF_JEQ, PR_SET_SECCOMP, L_TRAP);
      sbx_ret(a, SBX_RET_ALLOW);
      break;
    case SBX_CHECK_seccomp: /* seccomp(op, flags, args): flags is an unsigned int */
      sbx_ld(a, SBX_OFF_ARG_LO(1));
      sbx_jump_if(a, BPF_JSET, SECCOMP_FILTER_FLAG_NEW_LISTENER, L_EPERM);
      sbx_ld(a, SBX_OFF_ARG_LO(0));
      sbx_jump_if(a, BPF_JEQ, SECCOMP_SET_MODE_FILTER, L_TRAP); /* the engine: self_restrict */
      sbx_ret(a, SBX_RET_ALLOW);
      break;
    case SBX_CHECK_clone: /* clone(flags, …): flags is the first argument on x86_64 and aarch64 */
      sbx_ld(a, SBX_OFF_ARG_LO(0));
      sbx_jump_if(a, BPF_JSET, SBX_CLONE_NS_FLAGS, L_EPERM);
      /* a thread shares its process's fs_struct; another process never does: it survives
         exec, so the new program's cwd would stay the other's to move under its feet (a
         commands: override reading ./lib.sh after its own cd) */
      sbx_jump_if(a, BPF_JSET, SBX_CLONE_THREAD, L_ALLOW);
      sbx_jump_if(a, BPF_JSET, SBX_CLONE_FS, L_EPERM);
      /* an address space shared outside a thread group only as vfork does it, with the
         parent: exec.cc tells a vfork child's exec by comparing it with its parent's (kcmp) */
      sbx_jump_if(a, BPF_JSET, SBX_CLONE_VM, L_B);
      sbx_ret(a, SBX_RET_ALLOW);
      sbx_mark(a, L_B);
      sbx_jump_if(a, BPF_JSET, SBX_CLONE_PARENT, L_EPERM);
      sbx_jump_if(a, BPF_JSET, SBX_CLONE_VFORK, L_ALLOW);
      sbx_ret(a, SBX_RET_ERR(EPERM));
      break;
    case SBX_CHECK_unshare: /* unshare(flags) */
      sbx_ld(a, SBX_OFF_ARG_LO(0));
      sbx_jump_if(a, BPF_JSET, SBX_CLONE_NS_FLAGS | SBX_CLONE_NEWTIME, L_EPERM);
      sbx_ret(a, SBX_RET_ALLOW);
      break;
    case SBX_CHECK_socket: /* socket(domain, type, protocol) */
      sbx_ld(a, SBX_OFF_ARG_LO(0));
      sbx_jump_if(a, BPF_JEQ, AF_UNIX, L_ALLOW);
      sbx_jump_if(a, BPF_JEQ, AF_INET, L_A);
      sbx_jump_if(a, BPF_JEQ, AF_INET6, L_A);
      sbx_jump_if(a, BPF_JEQ, AF_NETLINK, L_B);
      sbx_ret(a, SBX_RET_ERR(EAFNOSUPPORT));
      sbx_mark(a, L_A); /* inet: no raw or packet sockets (type's low bits; flags above) */
      sbx_ld(a, SBX_OFF_ARG_LO(1));
      sbx_emit(a, BPF_ALU | BPF_AND | BPF_K, 0xf, 0, 0);
      sbx_jump_if(a, BPF_JEQ, SOCK_RAW, L_EPERM);
      sbx_jump_if(a, BPF_JEQ, SOCK_PACKET, L_EPERM);
      /* ... stream and datagram only, each with its own protocols: those whose destinations go
         through connect/sendto/sendmsg. Protocol 0 is the kernel's wildcard for the type:
         (SOCK_SEQPACKET, 0) is SCTP where its module is loaded, and SCTP connects and binds
         through setsockopt (SCTP_SOCKOPT_CONNECTX/BINDX), never seen here */
      sbx_jump_if(a, BPF_JEQ, SOCK_STREAM, L_D);
      sbx_jump_if(a, BPF_JEQ, SOCK_DGRAM, L_E);
      sbx_ret(a, SBX_RET_ERR(EPROTONOSUPPORT));
      sbx_mark(a, L_D); /* stream: TCP. Not MPTCP: what listens in the kernel's TCP table is
                           a subflow socket the engine never saw bound, so a session's MPTCP
                           server would pass for one outside; programs fall back to TCP on
                           EPROTONOSUPPORT, as on a kernel without it */
      sbx_ld(a, SBX_OFF_ARG_HI(2));
      sbx_jump_if(a, BPF_JGT, 0, L_C);
      sbx_ld(a, SBX_OFF_ARG_LO(2));
      sbx_jump_if(a, BPF_JEQ, 0, L_ALLOW);
      sbx_jump_if(a, BPF_JEQ, IPPROTO_TCP, L_ALLOW);
      sbx_ret(a, SBX_RET_ERR(EPROTONOSUPPORT));
      sbx_mark(a, L_E); /* datagram: UDP, UDP-Lite, ICMP echo (ping sockets) */
      sbx_ld(a, SBX_OFF_ARG_HI(2));
      sbx_jump_if(a, BPF_JGT, 0, L_C);
      sbx_ld(a, SBX_OFF_ARG_LO(2));
      sbx_jump_if(a, BPF_JEQ, 0, L_ALLOW);
      sbx_jump_if(a, BPF_JEQ, IPPROTO_UDP, L_ALLOW);
      sbx_jump_if(a, BPF_JEQ, IPPROTO_UDPLITE, L_ALLOW);
      sbx_jump_if(a, BPF_JEQ, IPPROTO_ICMP, L_ALLOW);
      sbx_jump_if(a, BPF_JEQ, IPPROTO_ICMPV6, L_ALLOW);
      sbx_mark(a, L_C);
      sbx_ret(a, SBX_RET_ERR(EPROTONOSUPPORT));
      sbx_mark(a, L_B); /* netlink: routing information only */
      sbx_ld(a, SBX_OFF_ARG_LO(2));
      sbx_jump_if(a, BPF_JEQ, NETLINK_ROUTE, L_ALLOW);
      sbx_ret(a, SBX_RET_ERR(EAFNOSUPPORT));
      break;
    case SBX_CHECK_setsockopt: /* setsockopt(fd, level, optname, optval, optlen): ints */
      sbx_ld(a, SBX_OFF_ARG_LO(1));
      sbx_jump_if(a, BPF_JEQ, SOL_SOCKET, L_A);
      sbx_jump_if(a, BPF_JEQ, IPPROTO_IP, L_C);
      sbx_jump_if(a, BPF_JEQ, IPPROTO_IPV6, L_D);
      for (size_t i = 0; i < sizeof sbx_sockopt_levels_ok / sizeof sbx_sockopt_levels_ok[0]; i++)
        sbx_jump_if(a, BPF_JEQ, sbx_sockopt_levels_ok[i], L_ALLOW);
      sbx_ret(a, SBX_RET_TRAP); /* any other level: the engine refuses it by number */
      sbx_mark(a, L_C);
      sbx_ld(a, SBX_OFF_ARG_LO(2));
      sbx_jump_if_in_runs(a, sbx_sockopt_ip_ok, sizeof sbx_sockopt_ip_ok / sizeof sbx_sockopt_ip_ok[0], L_ALLOW);
      sbx_ret(a, SBX_RET_TRAP);
      sbx_mark(a, L_D);
      sbx_ld(a, SBX_OFF_ARG_LO(2));
      sbx_jump_if_in_runs(a, sbx_sockopt_ipv6_ok, sizeof sbx_sockopt_ipv6_ok / sizeof sbx_sockopt_ipv6_ok[0], L_ALLOW);
      sbx_ret(a, SBX_RET_TRAP);
      sbx_mark(a, L_A);
      sbx_ld(a, SBX_OFF_ARG_LO(2));
      /* sharing a port with a socket outside: decided on the socket (net.cc) */
      sbx_jump_if(a, BPF_JEQ, SO_REUSEPORT, L_TRAP);
      sbx_jump_if(a, BPF_JEQ, SO_REUSEADDR, L_TRAP);
      /* an interface of the caller's choosing: a loopback address sent out on the LAN */
      sbx_jump_if(a, BPF_JEQ, SBX_SO_BINDTODEVICE, L_TRAP);
      sbx_jump_if(a, BPF_JEQ, SBX_SO_BINDTOIFINDEX, L_TRAP);
      /* the engine sends from memory it reuses at once: never pinned (MSG_ZEROCOPY); the
         program is told what a socket without zerocopy says */
      sbx_jump_if(a, BPF_JEQ, SBX_SO_ZEROCOPY, L_B);
      sbx_ret(a, SBX_RET_ALLOW);
      sbx_mark(a, L_B);
      sbx_ret(a, SBX_RET_ERR(EOPNOTSUPP));
      break;
    case SBX_CHECK_socketpair: /* socketpair(domain, …): a pair of Unix sockets only */
      sbx_ld(a, SBX_OFF_ARG_LO(0));
      sbx_jump_if(a, BPF_JEQ, AF_UNIX, L_ALLOW);
      sbx_ret(a, SBX_RET_ERR(EAFNOSUPPORT));
      break;
    case SBX_CHECK_setpgid: /* setpgid(pid, pgid): 0 = a new group led by pid; another joins a group */
      sbx_ld(a, SBX_OFF_ARG_LO(1));
      sbx_jump_if(a, BPF_JEQ, 0, L_ALLOW);
      sbx_ret(a, SBX_RET_TRAP);
      break;
    case SBX_CHECK_sendto: /* sendto(fd, buf, len, flags, dest, addrlen): NULL dest = connected */
      sbx_ld(a, SBX_OFF_ARG_LO(4));
      sbx_jump_if(a, BPF_JGT, 0, L_TRAP);
      sbx_ld(a, SBX_OFF_ARG_HI(4));
      sbx_jump_if(a, BPF_JGT, 0, L_TRAP);
      sbx_ret(a, SBX_RET_ALLOW);
      break;
    case SBX_CHECK_none:
      sbx_ret(a, SBX_RET_ERR(ENOSYS));
      break;
  }
  /* the block's shared returns (unused ones cost a few instructions, nothing at run time) */
  sbx_mark(a, L_ALLOW); sbx_ret(a, SBX_RET_ALLOW);
  sbx_mark(a, L_TRAP); sbx_ret(a, SBX_RET_TRAP);
  sbx_mark(a, L_EPERM); sbx_ret(a, SBX_RET_ERR(EPERM));
  sbx_block_end(a);
}

/* A run: numbers [start, next run's start) with one outcome. */
struct sbx_run { uint32_t start; enum sbx_action action; enum sbx_check check; };

static inline uint32_t sbx_action_ret(enum sbx_action act) {
  switch (act) {
    case SBX_ALLOW: return SBX_RET_ALLOW;
    case SBX_TRAP: return SBX_RET_TRAP;
    case SBX_EPERM: return SBX_RET_ERR(EPERM);
    default: return SBX_RET_ERR(ENOSYS);
  }
}

/* Binary search over runs[lo..hi]; A holds nr. */
static inline void sbx_emit_tree(struct sbx_asm *a, const struct sbx_run *runs, int lo, int hi) {
  if (a->err) return;
  if (lo == hi) {
    if (runs[lo].action == SBX_CHECK) sbx_emit_check(a, runs[lo].check);
    else sbx_ret(a, sbx_action_ret(runs[lo].action));
    return;
  }
  int mid = (lo + hi + 1) / 2;
  /* if (nr >= runs[mid].start) skip the left half with a long jump */
  sbx_emit(a, BPF_JMP | BPF_JGE | BPF_K, runs[mid].start, 0, 1);
  int ja = a->n;
  sbx_emit(a, BPF_JMP | BPF_JA, 0, 0, 0);
  sbx_emit_tree(a, runs, lo, mid - 1);
  if (a->err) return;
  a->out[ja].k = (uint32_t)(a->n - ja - 1);
  sbx_emit_tree(a, runs, mid, hi);
}

/* The outcome of nr per the table (rows are unique; a duplicate is a build error below). */
static inline int sbx_find(int nr) {
  for (int i = 0; i < SBX_NSYSCALLS; i++)
    if (sbx_syscalls[i].nr == nr) return i;
  return -1;
}

/*
 * Writes the program into out[0..max) and returns its length, or -errno
 * (-EEXIST: a syscall listed twice).
 */
static inline int sbx_build_filter(struct sock_filter *out, int max) {
  int top = 0;
  for (int i = 0; i < SBX_NSYSCALLS; i++) {
    if (sbx_syscalls[i].nr > top) top = sbx_syscalls[i].nr;
    for (int j = 0; j < i; j++)
      if (sbx_syscalls[j].nr == sbx_syscalls[i].nr) return -EEXIST;
  }
  /* Runs over 0..top+1: neighbours with one plain action merge; CHECK rows stand alone. */
  struct sbx_run runs[1024];
  int nruns = 0;
  for (int nr = 0; nr <= top + 1; nr++) {
    int i = nr <= top ? sbx_find(nr) : -1;
    enum sbx_action act = i < 0 ? SBX_ENOSYS : sbx_syscalls[i].action;
    enum sbx_check chk = i < 0 ? SBX_CHECK_none : sbx_syscalls[i].check;
    if (nruns > 0 && act != SBX_CHECK && runs[nruns - 1].action == act) continue;
    if (nruns >= 1024) return -E2BIG;
    runs[nruns].start = (uint32_t)nr;
    runs[nruns].action = act;
    runs[nruns].check = chk;
    nruns++;
  }
  struct sbx_asm a;
  memset(&a, 0, sizeof a);
  a.out = out;
  a.max = max;
  /* Architecture: anything but the native ABI → ENOSYS. */
  sbx_ld(&a, SBX_OFF_ARCH);
  sbx_emit(&a, BPF_JMP | BPF_JEQ | BPF_K, SBX_AUDIT_ARCH, 1, 0);
  sbx_ret(&a, SBX_RET_ERR(ENOSYS));
  sbx_ld(&a, SBX_OFF_NR);
#ifdef SBX_X32_BIT
  /* x32 syscalls arrive with the x86_64 arch and this bit set in nr. */
  sbx_emit(&a, BPF_JMP | BPF_JSET | BPF_K, SBX_X32_BIT, 0, 1);
  sbx_ret(&a, SBX_RET_ERR(ENOSYS));
#endif
  if (a.err) return a.err;
  sbx_emit_tree(&a, runs, 0, nruns - 1);
  return a.err ? a.err : a.n;
}

#endif
