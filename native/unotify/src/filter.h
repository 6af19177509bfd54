/*
 * The sbx seccomp BPF program: the table in ../README.md, in code. Header-only so the
 * launcher (and, if it wants, a probe) build exactly the same program.
 *
 * Layout:
 *   arch check (non-native ABI, e.g. i386 `int 0x80`) → ERRNO(ENOSYS)
 *   x32 bit (x86_64)                                   → ERRNO(ENOSYS)
 *   one JEQ per listed syscall → a shared return (or a small arg check block)
 *   fall through                                       → ALLOW
 * Allowed syscalls depend only on (arch, nr), so the kernel's seccomp action cache lets
 * them skip the BPF program entirely: the stat family and read/write cost nothing.
 */
#ifndef SBX_FILTER_H
#define SBX_FILTER_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <asm/unistd.h>

#if defined(__x86_64__)
#define SBX_AUDIT_ARCH AUDIT_ARCH_X86_64
#define SBX_X32_BIT 0x40000000u
#elif defined(__aarch64__)
#define SBX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "sbx: the seccomp filter is written for x86_64 and aarch64 only"
#endif

/* Syscalls numbered 424+ share one number on every architecture; older libc headers
   may lack them. */
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#define __NR_io_uring_enter 426
#define __NR_io_uring_register 427
#endif
#ifndef __NR_open_tree
#define __NR_open_tree 428
#define __NR_move_mount 429
#define __NR_fsopen 430
#define __NR_fsconfig 431
#define __NR_fsmount 432
#define __NR_fspick 433
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif
#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
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

/* Where a listed syscall goes. */
enum sbx_target { SBX_NOTIF, SBX_ENOSYS, SBX_EPERM, SBX_IOCTL, SBX_SECCOMP, SBX_SENDTO, SBX_TARGETS };

struct sbx_rule { int nr; enum sbx_target to; };

static const struct sbx_rule sbx_rules[] = {
  /* open family: the engine emulates the open and injects the fd (ADDFD + SEND). */
#ifdef __NR_open
  { __NR_open, SBX_NOTIF },
#endif
  { __NR_openat, SBX_NOTIF }, { __NR_openat2, SBX_NOTIF },
#ifdef __NR_creat
  { __NR_creat, SBX_NOTIF },
#endif
  { __NR_truncate, SBX_NOTIF },
  /* namespace changes: emulated on the resolved path. */
#ifdef __NR_mkdir
  { __NR_mkdir, SBX_NOTIF },
#endif
  { __NR_mkdirat, SBX_NOTIF },
#ifdef __NR_mknod
  { __NR_mknod, SBX_NOTIF },
#endif
  { __NR_mknodat, SBX_NOTIF },
#ifdef __NR_unlink
  { __NR_unlink, SBX_NOTIF },
#endif
  { __NR_unlinkat, SBX_NOTIF },
#ifdef __NR_rmdir
  { __NR_rmdir, SBX_NOTIF },
#endif
#ifdef __NR_rename
  { __NR_rename, SBX_NOTIF },
#endif
#ifdef __NR_renameat
  { __NR_renameat, SBX_NOTIF },
#endif
  { __NR_renameat2, SBX_NOTIF },
#ifdef __NR_link
  { __NR_link, SBX_NOTIF },
#endif
  { __NR_linkat, SBX_NOTIF },
#ifdef __NR_symlink
  { __NR_symlink, SBX_NOTIF },
#endif
  { __NR_symlinkat, SBX_NOTIF },
  /* metadata changes: emulated on the resolved path. */
#ifdef __NR_chmod
  { __NR_chmod, SBX_NOTIF },
#endif
  { __NR_fchmodat, SBX_NOTIF }, { __NR_fchmodat2, SBX_NOTIF },
#ifdef __NR_chown
  { __NR_chown, SBX_NOTIF },
#endif
#ifdef __NR_lchown
  { __NR_lchown, SBX_NOTIF },
#endif
  { __NR_fchownat, SBX_NOTIF },
#ifdef __NR_utimes
  { __NR_utimes, SBX_NOTIF },
#endif
  { __NR_utimensat, SBX_NOTIF },
#ifdef __NR_futimesat
  { __NR_futimesat, SBX_NOTIF },
#endif
#ifdef __NR_utime
  { __NR_utime, SBX_NOTIF },
#endif
  { __NR_setxattr, SBX_NOTIF }, { __NR_lsetxattr, SBX_NOTIF },
  { __NR_removexattr, SBX_NOTIF }, { __NR_lremovexattr, SBX_NOTIF },
  /* exec: pre-check, CONTINUE, verified after the fact. */
  { __NR_execve, SBX_NOTIF }, { __NR_execveat, SBX_NOTIF },
  /* network: performed by the engine on its own copy of the socket. */
  { __NR_connect, SBX_NOTIF }, { __NR_sendto, SBX_SENDTO },
  { __NR_sendmsg, SBX_NOTIF }, { __NR_sendmmsg, SBX_NOTIF },
  /* signals: refused when aimed at a protected pid (supervisor, keeper). */
  { __NR_kill, SBX_NOTIF }, { __NR_tkill, SBX_NOTIF }, { __NR_tgkill, SBX_NOTIF },
  { __NR_rt_sigqueueinfo, SBX_NOTIF }, { __NR_rt_tgsigqueueinfo, SBX_NOTIF },
  { __NR_pidfd_send_signal, SBX_NOTIF },
  /* ways around the filter: io_uring performs opens/connects the filter never sees;
     clone3 passes its flags in memory BPF cannot read (libc falls back to clone). */
  { __NR_io_uring_setup, SBX_ENOSYS }, { __NR_io_uring_enter, SBX_ENOSYS },
  { __NR_io_uring_register, SBX_ENOSYS }, { __NR_clone3, SBX_ENOSYS },
  /* refused outright. */
  { __NR_seccomp, SBX_SECCOMP }, { __NR_open_by_handle_at, SBX_EPERM },
  { __NR_ptrace, SBX_EPERM }, { __NR_process_vm_readv, SBX_EPERM },
  { __NR_process_vm_writev, SBX_EPERM },
  /* pidfd_getfd is ptrace-grade: it would copy the listener out of the supervisor. */
  { __NR_pidfd_getfd, SBX_EPERM },
  { __NR_userfaultfd, SBX_EPERM },
  { __NR_mount, SBX_EPERM }, { __NR_umount2, SBX_EPERM }, { __NR_pivot_root, SBX_EPERM },
  { __NR_move_mount, SBX_EPERM }, { __NR_open_tree, SBX_EPERM }, { __NR_fsopen, SBX_EPERM },
  { __NR_fsconfig, SBX_EPERM }, { __NR_fsmount, SBX_EPERM }, { __NR_fspick, SBX_EPERM },
  { __NR_mount_setattr, SBX_EPERM }, { __NR_chroot, SBX_EPERM },
  { __NR_init_module, SBX_EPERM }, { __NR_finit_module, SBX_EPERM },
  { __NR_delete_module, SBX_EPERM }, { __NR_kexec_load, SBX_EPERM },
#ifdef __NR_kexec_file_load
  { __NR_kexec_file_load, SBX_EPERM },
#endif
  { __NR_bpf, SBX_EPERM },
  /* terminal injection: only TIOCSTI / TIOCLINUX are refused. */
  { __NR_ioctl, SBX_IOCTL },
};

#define SBX_NRULES ((int)(sizeof sbx_rules / sizeof sbx_rules[0]))
#define SBX_FILTER_MAX 256

/*
 * Writes the program into out[0..max) and returns its length, or -errno.
 * Jumps are forward-only with 8-bit offsets; the builder checks they fit.
 */
static inline int sbx_build_filter(struct sock_filter *out, int max) {
  int n = 0;
  /* Pending jumps to a target block: index of the instruction and which field. */
  struct { int at; int to; int jt; } fix[SBX_FILTER_MAX];
  int nfix = 0;
  int block[SBX_TARGETS + 2];
  enum { B_ALLOW = SBX_TARGETS, B_ENOSYS_ARCH = SBX_TARGETS + 1 };

#define EMIT(code, k, jt, jf)                                               \
  do {                                                                      \
    if (n >= max) return -E2BIG;                                            \
    out[n++] = (struct sock_filter)BPF_JUMP((code), (k), (jt), (jf));       \
  } while (0)
#define JUMP_TO(code, k, target, on_true)                                   \
  do {                                                                      \
    if (nfix >= SBX_FILTER_MAX) return -E2BIG;                              \
    fix[nfix].at = n; fix[nfix].to = (target); fix[nfix].jt = (on_true);    \
    nfix++;                                                                 \
    EMIT((code), (k), 0, 0);                                                \
  } while (0)

  /* Architecture: anything but the native ABI (i386 int 0x80, arm32 compat) → ENOSYS. */
  EMIT(BPF_LD | BPF_W | BPF_ABS, SBX_OFF_ARCH, 0, 0);
  JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, SBX_AUDIT_ARCH, B_ENOSYS_ARCH, 0);
  EMIT(BPF_LD | BPF_W | BPF_ABS, SBX_OFF_NR, 0, 0);
#ifdef SBX_X32_BIT
  /* x32 syscalls arrive with the x86_64 arch and this bit set in nr. */
  JUMP_TO(BPF_JMP | BPF_JSET | BPF_K, SBX_X32_BIT, SBX_ENOSYS, 1);
#endif
  for (int i = 0; i < SBX_NRULES; i++)
    JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)sbx_rules[i].nr, sbx_rules[i].to, 1);
  block[B_ALLOW] = n;
  EMIT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
  /* ioctl(fd, cmd, …): cmd is an unsigned int, so the low word is all the kernel uses. */
  block[SBX_IOCTL] = n;
  EMIT(BPF_LD | BPF_W | BPF_ABS, SBX_OFF_ARG_LO(1), 0, 0);
  JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, SBX_EPERM, 1);
  JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, SBX_EPERM, 1);
  EMIT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);

  /* seccomp(op, flags, args): a nested listener would let the sandbox answer for
     itself; other filters only narrow and are allowed. flags is an unsigned int. */
  block[SBX_SECCOMP] = n;
  EMIT(BPF_LD | BPF_W | BPF_ABS, SBX_OFF_ARG_LO(1), 0, 0);
  JUMP_TO(BPF_JMP | BPF_JSET | BPF_K, SECCOMP_FILTER_FLAG_NEW_LISTENER, SBX_EPERM, 1);
  EMIT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);

  /* sendto(fd, buf, len, flags, dest_addr, addrlen): NULL dest = connected socket,
     already decided at connect; a register, so no race. */
  block[SBX_SENDTO] = n;
  EMIT(BPF_LD | BPF_W | BPF_ABS, SBX_OFF_ARG_LO(4), 0, 0);
  JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, 0, SBX_NOTIF, 0);
  EMIT(BPF_LD | BPF_W | BPF_ABS, SBX_OFF_ARG_HI(4), 0, 0);
  JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, 0, SBX_NOTIF, 0);
  EMIT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);

  /* Shared returns last, so every jump above is forward. */
  block[SBX_NOTIF] = n;
  EMIT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF, 0, 0);
  block[SBX_ENOSYS] = block[B_ENOSYS_ARCH] = n;
  EMIT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS, 0, 0);
  block[SBX_EPERM] = n;
  EMIT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM, 0, 0);

  /* Resolve the forward jumps. */
  for (int i = 0; i < nfix; i++) {
    int off = block[fix[i].to] - fix[i].at - 1;
    if (off < 0 || off > 255) return -ERANGE;
    if (fix[i].jt) out[fix[i].at].jt = (uint8_t)off;
    else out[fix[i].at].jf = (uint8_t)off;
  }
  return n;
#undef EMIT
#undef JUMP_TO
}

#endif
