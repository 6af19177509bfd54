/* min_unotify: the smallest useful seccomp user-notify supervisor, as a baseline for
 * sbx's per-trapped-syscall cost. The child installs a filter that sends openat to a
 * listener (everything else is allowed), passes the listener over SCM_RIGHTS and execs
 * the command; the parent answers every notification from one thread (-t for more).
 * -m MODE (or MIN_UNOTIFY_MODE; the option wins) chooses the answer, each mode one more
 * piece of what an emulating supervisor like sbx must do, so the bench can show the floor
 * of each piece:
 *   continue         answer CONTINUE: the trap round trip alone (default; no policy, no
 *                    emulation, no memory reads: the floor any user-notify sandbox pays)
 *   addfd-send       read the path (process_vm_readv), check NOTIF_ID_VALID, openat it
 *                    here and inject the fd with one ADDFD|SECCOMP_ADDFD_FLAG_SEND
 *   addfd-then-send  the same, injected in two steps as sbx does (ADDFD, then SEND with the
 *                    new fd number): crash-safe, but the tracee is woken twice
 *   emulate-full     addfd-then-send plus the rest of sbx's per-open syscalls, no policy:
 *                    epoll_wait + poll(0) before RECV (its receive loop), the resolve fast path
 *                    (openat2 O_PATH, RESOLVE_NO_XDEV|NO_MAGICLINKS|NO_SYMLINKS from "/"),
 *                    fstat, reopen via /proc/self/fd/N with the caller's flags, two closes.
 *                    Paths the fast path refuses take sbx's slower path: O_PATH base from
 *                    /proc/PID/cwd or /proc/PID/fd/N, openat2 without NO_SYMLINKS, readlink of
 *                    /proc/self/fd/N for the path really reached.
 * -s asks the kernel for synchronous wake-ups (SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, 6.6+): the
 * trapped task wakes the answering thread on its own CPU and sleeps, as sbx's engine does.
 * O_PATH opens are answered CONTINUE in every mode (ADDFD cannot carry an O_PATH file; sbx
 * does the same), failures with the open's errno. A bench tool, not a sandbox: the opens
 * happen in the supervisor, so /proc/self in the traced program means the supervisor.
 * -x traps execve and execveat as well, answered CONTINUE (the launch floor: bench/launch-floor.mjs).
 * usage: min_unotify [-t THREADS] [-m MODE] [-s] [-x] -- CMD ARGS...   exit status is the command's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS /* 6.6; older headers lack it */
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

static struct seccomp_notif_sizes sizes;
static int listener = -1;

static void die(const char *what) {
  fprintf(stderr, "min_unotify: %s: %s\n", what, strerror(errno));
  exit(126);
}

static int trap_exec = 0; /* -x */

static int install_filter(void) {
  /* -x: execve and execveat trap too (answered CONTINUE), as for any sandbox that decides
   * what runs: the least a process launch costs under user-notify. */
  const __u32 exec_nr = trap_exec ? __NR_execve : __NR_openat, execat_nr = trap_exec ? __NR_execveat : __NR_openat;
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 2, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, exec_nr, 1, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, execat_nr, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("no_new_privs");
  int fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (fd < 0) die("seccomp");
  return fd;
}

static void send_fd(int sock, int fd) {
  char byte = 0, buf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = { &byte, 1 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof buf };
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  if (sendmsg(sock, &msg, 0) != 1) die("sendmsg");
}

static int recv_fd(int sock) {
  char byte, buf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = { &byte, 1 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof buf };
  if (recvmsg(sock, &msg, 0) != 1) die("recvmsg");
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) { errno = EPROTO; die("recvmsg (no fd)"); }
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

static void *answer_loop(void *unused) {
  (void)unused;
  struct seccomp_notif *req = calloc(1, sizes.seccomp_notif);
  struct seccomp_notif_resp *resp = calloc(1, sizes.seccomp_notif_resp);
  for (;;) {
    memset(req, 0, sizes.seccomp_notif);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) {
      if (errno == EINTR || errno == ENOENT) continue;
      break; /* listener gone */
    }
    memset(resp, 0, sizes.seccomp_notif_resp);
    resp->id = req->id;
    resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) != 0 && errno != ENOENT) break;
  }
  return NULL;
}

/* ---- emulating modes ---- */
enum mode { M_CONTINUE, M_ADDFD_SEND, M_ADDFD_THEN_SEND, M_EMULATE_FULL };
static const char *const mode_names[] = { "continue", "addfd-send", "addfd-then-send", "emulate-full" };
static enum mode mode = M_CONTINUE;
static int root_dir = -1, self_fd_dir = -1;

static int reply(uint64_t id, int64_t val, int error, uint32_t flags) {
  struct seccomp_notif_resp resp = { .id = id, .val = val, .error = error, .flags = flags };
  return ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

/* The NUL-terminated string at addr in the caller, one page at a time (as sbx reads it). */
static int read_path(pid_t pid, uint64_t addr, char *out, size_t max) {
  size_t len = 0;
  if (addr == 0) return -EFAULT;
  while (len < max) {
    size_t chunk = 4096 - (addr % 4096);
    if (chunk > max - len) chunk = max - len;
    struct iovec local = { out + len, chunk }, remote = { (void *)(uintptr_t)addr, chunk };
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n <= 0) return -EFAULT;
    char *nul = memchr(out + len, 0, (size_t)n);
    if (nul) return 0;
    len += (size_t)n;
    addr += (uint64_t)n;
  }
  return -ENAMETOOLONG;
}

/* The caller's dirfd (or cwd), opened O_PATH through /proc. */
static int open_base(pid_t pid, int dirfd) {
  char p[64];
  if (dirfd == AT_FDCWD) snprintf(p, sizeof p, "/proc/%d/cwd", (int)pid);
  else snprintf(p, sizeof p, "/proc/%d/fd/%d", (int)pid, dirfd);
  int fd = open(p, O_PATH | O_CLOEXEC);
  return fd < 0 ? -(dirfd == AT_FDCWD ? ENOENT : EBADF) : fd;
}

/* Absolute, no "//", "/./", "/../", no trailing '/': what sbx's resolve fast path takes. */
static int clean_absolute(const char *p) {
  size_t n = strlen(p);
  if (n < 2 || p[0] != '/' || p[n - 1] == '/') return 0;
  if (strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../")) return 0;
  return !(n >= 2 && strcmp(p + n - 2, "/.") == 0) && !(n >= 3 && strcmp(p + n - 3, "/..") == 0);
}

static int openat2_path(int start, const char *path, uint64_t oflags, uint64_t resolve) {
  struct open_how how = { .flags = oflags, .resolve = resolve };
  return (int)syscall(SYS_openat2, start, path, &how, sizeof how);
}

/* sbx's per-open work for an existing file, minus policy: resolve O_PATH, fstat, (path check),
 * reopen via /proc/self/fd/N with the caller's flags. Returns the fd or -errno. */
static int emulate_open(pid_t pid, int dirfd, const char *path, int flags, mode_t fmode) {
  int follow = !(flags & O_NOFOLLOW), opath = -1, base = -1;
  char real[4097];
  if (clean_absolute(path)) {
    opath = openat2_path(root_dir, path, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW),
                         RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS);
    if (opath < 0 && errno != ELOOP && errno != EXDEV && errno != ENOENT) return -errno;
  }
  if (opath < 0) {
    if (path[0] != '/' && (base = open_base(pid, dirfd)) < 0) return base;
    opath = openat2_path(path[0] == '/' ? root_dir : base, path, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW),
                         RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS);
    int e = errno;
    if (base >= 0) close(base);
    if (opath < 0) return -e;
    char name[16];
    snprintf(name, sizeof name, "%d", opath);
    if (readlinkat(self_fd_dir, name, real, sizeof real - 1) < 0) { e = errno; close(opath); return -e; }
  }
  struct stat st;
  if (fstat(opath, &st) < 0) { int e = errno; close(opath); return -e; }
  if (S_ISLNK(st.st_mode)) { close(opath); return -ELOOP; }
  char name[16];
  snprintf(name, sizeof name, "%d", opath);
  int fd = openat(self_fd_dir, name, (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC | O_NOCTTY, fmode);
  int e = errno;
  close(opath);
  return fd < 0 ? -e : fd;
}

/* One openat notification answered by opening the file here and injecting the fd. */
static void emulate(const struct seccomp_notif *req) {
  int dirfd = (int)req->data.args[0], flags = (int)req->data.args[2];
  mode_t fmode = (mode_t)(req->data.args[3] & 07777);
  char path[4097];
  int e = read_path(req->pid, req->data.args[1], path, sizeof path);
  if (e < 0) { reply(req->id, 0, e, 0); return; }
  __u64 id = req->id;
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0) return; /* the caller is gone */
  if (flags & O_PATH) { reply(req->id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE); return; }
  int fd;
  if (mode == M_EMULATE_FULL) {
    fd = emulate_open(req->pid, dirfd, path, flags, fmode);
  }
  /* Other modes; and in emulate-full a creation, or a path crossing a mount (sbx walks those
   * component by component): a plain openat. */
  if (mode != M_EMULATE_FULL || (fd == -ENOENT && (flags & O_CREAT)) || fd == -EXDEV) {
    int base = -1;
    if (path[0] != '/' && (base = open_base(req->pid, dirfd)) < 0) { reply(req->id, 0, base, 0); return; }
    fd = openat(path[0] == '/' ? AT_FDCWD : base, path, flags | O_CLOEXEC | O_NOCTTY, fmode);
    if (fd < 0) fd = -errno;
    if (base >= 0) close(base);
  }
  if (fd < 0) { reply(req->id, 0, fd, 0); return; }
  struct seccomp_notif_addfd a = { .id = req->id, .srcfd = (__u32)fd, .newfd_flags = (flags & O_CLOEXEC) ? O_CLOEXEC : 0 };
  if (mode == M_ADDFD_SEND) {
    a.flags = SECCOMP_ADDFD_FLAG_SEND;
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a) < 0 && errno != ENOENT) reply(req->id, 0, -errno, 0);
  } else {
    int newfd = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
    if (newfd < 0) { if (errno != ENOENT) reply(req->id, 0, -errno, 0); }
    else reply(req->id, newfd, 0, 0);
  }
  close(fd);
}

static void *emulate_loop(void *unused) {
  (void)unused;
  struct seccomp_notif *req = calloc(1, sizes.seccomp_notif);
  int ep = -1;
  if (mode == M_EMULATE_FULL) { /* sbx's receive loop: epoll (exclusive), then poll(0) before RECV */
    struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev) != 0) die("epoll");
  }
  for (;;) {
    if (ep >= 0) {
      struct epoll_event ev;
      int r = epoll_wait(ep, &ev, 1, -1);
      if (r < 0 && errno == EINTR) continue;
      if (r != 1 || !(ev.events & EPOLLIN)) break; /* hang-up: no caller left */
      struct pollfd q = { listener, POLLIN, 0 };
      if (poll(&q, 1, 0) != 1 || !(q.revents & POLLIN)) continue;
    }
    memset(req, 0, sizes.seccomp_notif);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) {
      if (errno == EINTR || errno == ENOENT) continue;
      break; /* listener gone */
    }
    if (req->data.nr == __NR_openat) emulate(req);
    else reply(req->id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
  }
  return NULL;
}

int main(int argc, char **argv) {
  int threads = 1, i = 1, sync_wake = 0;
  const char *mode_name = getenv("MIN_UNOTIFY_MODE");
  while (i + 1 < argc) {
    if (strcmp(argv[i], "-s") == 0) { sync_wake = 1; i++; continue; }
    if (strcmp(argv[i], "-x") == 0) { trap_exec = 1; i++; continue; }
    if (strcmp(argv[i], "-t") == 0) threads = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "-m") == 0) mode_name = argv[i + 1];
    else break;
    i += 2;
  }
  if (mode_name && *mode_name) {
    size_t m = 0;
    while (m < sizeof mode_names / sizeof mode_names[0] && strcmp(mode_name, mode_names[m]) != 0) m++;
    if (m == sizeof mode_names / sizeof mode_names[0]) {
      fprintf(stderr, "min_unotify: unknown mode %s (continue, addfd-send, addfd-then-send, emulate-full)\n", mode_name);
      return 2;
    }
    mode = (enum mode)m;
  }
  if (i + 1 >= argc || strcmp(argv[i], "--") != 0) {
    fprintf(stderr, "usage: min_unotify [-t THREADS] [-m continue|addfd-send|addfd-then-send|emulate-full] [-s] [-x] -- CMD ARGS...\n");
    return 2;
  }
  if (mode != M_CONTINUE) {
    root_dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    self_fd_dir = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_dir < 0 || self_fd_dir < 0) die("open / or /proc/self/fd");
  }
  char **cmd = argv + i + 1;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) die("GET_NOTIF_SIZES");
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) die("socketpair");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    close(sv[0]);
    int fd = install_filter();
    send_fd(sv[1], fd);
    close(fd);
    close(sv[1]);
    execvp(cmd[0], cmd);
    fprintf(stderr, "min_unotify: exec %s: %s\n", cmd[0], strerror(errno));
    _exit(127);
  }
  close(sv[1]);
  listener = recv_fd(sv[0]);
  close(sv[0]);
  if (sync_wake && ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, 0) != 0)
    die("SECCOMP_IOCTL_NOTIF_SET_FLAGS(SYNC_WAKE_UP)");
  for (int t = 0; t < threads; t++) {
    pthread_t th;
    if (pthread_create(&th, NULL, mode == M_CONTINUE ? answer_loop : emulate_loop, NULL) != 0) die("pthread_create");
    pthread_detach(th);
  }
  int status;
  if (waitpid(pid, &status, 0) < 0) die("waitpid");
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
