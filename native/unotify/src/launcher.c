/*
 * sbx-launch: installs the sbx seccomp filter on itself, hands the user-notify listener
 * to the supervisor, waits for its ack, then execs the target. See ../README.md for the
 * command line and the filter table (the contract with the engine).
 *
 *   sbx-launch --fd N -- PROGRAM ARGS...
 *       fd N is an inherited AF_UNIX SOCK_SEQPACKET socket whose peer is the Node `sbx exec`
 *       (one-shot) or a keeper sbx-fast already started (`sbx-keeper --root-pid peer`). The listener goes over it (SCM_RIGHTS, payload
 *       "listener"); one ack byte comes back when an engine serves the listener.
 *
 *   --close-fds (with --fd; implied by --session): the program starts with stdio only (a
 *       session's program: sbx-fast's `sbx shell`).
 *
 *   sbx-launch --fd N --cmd-fd M --
 *       as --fd, but started before the command is known (the fast `sbx exec` starts us
 *       while the supervisor builds the policy): after handing the listener over, the
 *       command is read from fd M — each argv string NUL-terminated, an empty string, then
 *       each environment string NUL-terminated, up to EOF — and run with that environment.
 *       EOF with nothing read: the client gave up; exit 126 without a word.
 *
 *   sbx-launch --session SOCK --sbx PATH -- PROGRAM ARGS...
 *       session (sbx shell): before the filter, forks (double fork, so the keeper is not
 *       a child of the shell) and execs <dir of sbx-launch>/sbx-keeper with
 *         sbx-keeper --listener-fd N --session SOCK --sbx PATH --root-pid P
 *       where N is the keeper's end of a SOCK_SEQPACKET socketpair: the launcher sends
 *       the listener on it exactly as in --fd mode and waits for the ack byte on it
 *       (the keeper forwards the listener to the supervisor at SOCK, starting it with
 *       PATH if needed, and relays the ack). P is the launcher's pid = the session root.
 *       The keeper's stdin/stdout are /dev/null; stderr is inherited.
 *
 * Why a helper thread sends the listener: once the filter is installed, this thread's
 * sendmsg is itself trapped (USER_NOTIF) and nobody serves the listener yet, so it would
 * block forever. A thread created BEFORE the filter is not filtered (seccomp filters
 * are per thread; no TSYNC) and shares the fd table, so it sends the fd and exits.
 * execve then runs in the filtered thread; the new image keeps that thread's filter.
 *
 * Started on a terminal whose session it does not lead (sbx exec, sbx shell -- CMD from
 * an ordinary shell), it first forks: the child goes on as below on a pseudo-terminal of its
 * own, the parent relays between the two outside the sandbox and exits with the child's
 * status (pty_relay.c). The sandbox never holds the user's terminal.
 *
 * Failure anywhere: one line "sbx: launcher: <step>: <strerror>" and exit 126. The
 * target is never executed without the filter, nor on the user's terminal when a pty
 * could not be made.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>
#include <sys/resource.h>

#include "filter.h"
#include "pty_relay.h"

#define EXIT_SETUP 126
#define EXIT_NOT_FOUND 127

static void die(const char *step, int err) {
  fprintf(stderr, "sbx: launcher: %s: %s\n", step, strerror(err));
  _exit(EXIT_SETUP);
}

static void usage(void) {
  fputs("usage: sbx-launch [--close-fds] --fd N -- PROGRAM [ARGS...]\n"
        "       sbx-launch --fd N --cmd-fd M --\n"
        "       sbx-launch --session SOCK --sbx PATH -- PROGRAM [ARGS...]\n",
        stderr);
  _exit(EXIT_SETUP);
}

/* ---- PATH lookup (before the filter, like a shell: 127 not found, 126 not runnable) ---- */

static int is_exec_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Returns a malloc'd path to run, or exits 127/126 with a shell-like message. */
static char *resolve_program(const char *prog) {
  if (prog[0] == '\0') {
    fprintf(stderr, "sbx: '': command not found\n");
    _exit(EXIT_NOT_FOUND);
  }
  if (strchr(prog, '/')) {
    struct stat st;
    if (stat(prog, &st) != 0) {
      int e = errno;
      fprintf(stderr, "sbx: %s: %s\n", prog, strerror(e));
      _exit(e == ENOENT || e == ENOTDIR ? EXIT_NOT_FOUND : EXIT_SETUP);
    }
    if (S_ISDIR(st.st_mode)) {
      fprintf(stderr, "sbx: %s: Is a directory\n", prog);
      _exit(EXIT_SETUP);
    }
    return strdup(prog);
  }
  const char *path = getenv("PATH");
  if (path == NULL) path = "/usr/local/bin:/usr/bin:/bin";
  size_t plen = strlen(prog);
  char *first_nonexec = NULL;
  for (const char *p = path;; ) {
    const char *end = strchr(p, ':');
    size_t dlen = end ? (size_t)(end - p) : strlen(p);
    /* An empty PATH entry means the current directory. */
    char *cand = malloc(dlen + plen + 3);
    if (!cand) die("malloc", ENOMEM);
    if (dlen == 0) sprintf(cand, "./%s", prog);
    else sprintf(cand, "%.*s/%s", (int)dlen, p, prog);
    if (is_exec_file(cand)) { free(first_nonexec); return cand; }
    struct stat st;
    if (!first_nonexec && stat(cand, &st) == 0 && S_ISREG(st.st_mode)) first_nonexec = cand;
    else free(cand);
    if (!end) break;
    p = end + 1;
  }
  if (first_nonexec) {
    fprintf(stderr, "sbx: %s: Permission denied\n", first_nonexec);
    _exit(EXIT_SETUP);
  }
  fprintf(stderr, "sbx: %s: command not found\n", prog);
  _exit(EXIT_NOT_FOUND);
}

/* ---- the command from --cmd-fd ---- */

#define MAX_COMMAND (16 * 1024 * 1024)

/* NULL-terminated array of the NUL-terminated strings in [*p, end) up to an empty one (or
   end); *p moves past it. */
static char **split_strings(char **p, char *end) {
  size_t n = 0, cap = 16;
  char **v = malloc(cap * sizeof *v);
  if (!v) die("malloc", ENOMEM);
  while (*p < end && **p != '\0') {
    if (n + 1 >= cap) {
      cap *= 2;
      v = realloc(v, cap * sizeof *v);
      if (!v) die("malloc", ENOMEM);
    }
    v[n++] = *p;
    *p += strlen(*p) + 1;
  }
  if (*p < end) (*p)++; /* the empty string */
  v[n] = NULL;
  return v;
}

/* Reads the whole command (see the top of this file); exits quietly on an empty one. */
static void read_command(int fd, char ***argv_out, char ***env_out) {
  size_t len = 0, cap = 65536;
  char *b = malloc(cap + 1);
  if (!b) die("malloc", ENOMEM);
  for (;;) {
    if (len == cap) {
      if (cap >= MAX_COMMAND) die("reading the command", E2BIG);
      cap *= 2;
      b = realloc(b, cap + 1);
      if (!b) die("malloc", ENOMEM);
    }
    ssize_t r = read(fd, b + len, cap - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("reading the command", errno);
    if (r == 0) break;
    len += (size_t)r;
  }
  close(fd);
  if (len == 0 || b[len - 1] != '\0') _exit(EXIT_SETUP); /* the client gave up (or died mid-write) */
  b[len] = '\0';
  char *p = b, *end = b + len;
  *argv_out = split_strings(&p, end);
  *env_out = split_strings(&p, end);
  if (!(*argv_out)[0]) _exit(EXIT_SETUP);
}

/* ---- helper thread: sends the listener (unfiltered) ---- */

struct sender {
  int sock;          /* where the listener goes */
  int pipe_rd;       /* the main thread writes the listener fd number here */
  int err;           /* 0 or errno of the failed sendmsg */
};

static int send_fd(int sock, int fd) {
  char payload[] = "listener";
  struct iovec iov = { .iov_base = payload, .iov_len = sizeof payload - 1 };
  union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  return n < 0 ? errno : 0;
}

static void *sender_main(void *arg) {
  struct sender *s = arg;
  int fd;
  ssize_t n;
  do n = read(s->pipe_rd, &fd, sizeof fd); while (n < 0 && errno == EINTR);
  if (n != (ssize_t)sizeof fd) { s->err = n < 0 ? errno : EPIPE; return NULL; }
  if (fd < 0) return NULL; /* filter install failed; nothing to send */
  s->err = send_fd(s->sock, fd);
  return NULL;
}

/* ---- session mode: start the keeper outside the sandbox ---- */

static void self_dir(char *out, size_t size) {
  ssize_t n = readlink("/proc/self/exe", out, size - 1);
  if (n < 0) die("readlink /proc/self/exe", errno);
  out[n] = '\0';
  char *slash = strrchr(out, '/');
  if (slash) *slash = '\0';
}

/* Returns the launcher's end of the keeper socketpair. */
static int start_keeper(const char *session, const char *sbx) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) die("socketpair (keeper)", errno);
  int errpipe[2]; /* CLOEXEC: EOF = exec worked, else the child's errno */
  if (pipe2(errpipe, O_CLOEXEC) != 0) die("pipe (keeper)", errno);

  char dir[PATH_MAX];
  self_dir(dir, sizeof dir);
  char keeper[PATH_MAX + 16];
  snprintf(keeper, sizeof keeper, "%s/sbx-keeper", dir);
  char fdarg[16], pidarg[16];
  snprintf(pidarg, sizeof pidarg, "%d", (int)getpid());

  pid_t mid = fork();
  if (mid < 0) die("fork (keeper)", errno);
  if (mid == 0) {
    /* Intermediate child: fork the keeper and exit so the keeper is reparented away
       from the process that becomes the user's shell. */
    pid_t k = fork();
    if (k < 0) { int e = errno; (void)!write(errpipe[1], &e, sizeof e); _exit(1); }
    if (k > 0) _exit(0);
    setsid();
    close(sv[0]);
    int kfd = fcntl(sv[1], F_DUPFD, 3); /* without CLOEXEC: the keeper inherits it */
    if (kfd < 0) { int e = errno; (void)!write(errpipe[1], &e, sizeof e); _exit(1); }
    snprintf(fdarg, sizeof fdarg, "%d", kfd);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) { dup2(devnull, 0); dup2(devnull, 1); if (devnull > 2) close(devnull); }
    char *argv[] = { "sbx-keeper", "--listener-fd", fdarg, "--session", (char *)session,
                     "--sbx", (char *)sbx, "--root-pid", pidarg, NULL };
    execv(keeper, argv);
    int e = errno;
    (void)!write(errpipe[1], &e, sizeof e);
    _exit(1);
  }
  close(errpipe[1]);
  close(sv[1]);
  int status;
  while (waitpid(mid, &status, 0) < 0 && errno == EINTR) {}
  int e = 0;
  ssize_t n;
  do n = read(errpipe[0], &e, sizeof e); while (n < 0 && errno == EINTR);
  close(errpipe[0]);
  if (n == (ssize_t)sizeof e) {
    fprintf(stderr, "sbx: launcher: exec %s: %s\n", keeper, strerror(e));
    _exit(EXIT_SETUP);
  }
  return sv[0];
}

/* ---- main ---- */

/* ---- host-wide capabilities (a sandbox started as root) ---- */
/* Capabilities that reach beyond the files and network the engine decides: the host's
   network configuration, raw devices, other users' processes and IPC, audit, time, BPF.
   Dropped from every set and the bounding set, so nothing inside regains them. Root keeps
   file-ownership powers (chown, DAC): every file access is decided by the engine anyway. */
static const int host_caps[] = {
  CAP_KILL, CAP_LINUX_IMMUTABLE, CAP_NET_BROADCAST, CAP_NET_ADMIN, CAP_NET_RAW, CAP_IPC_OWNER,
  CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_CHROOT, CAP_SYS_PTRACE, CAP_SYS_PACCT, CAP_SYS_ADMIN,
  CAP_SYS_BOOT, CAP_SYS_TIME, CAP_SYS_TTY_CONFIG, CAP_MKNOD, CAP_AUDIT_WRITE, CAP_AUDIT_CONTROL,
  CAP_MAC_OVERRIDE, CAP_MAC_ADMIN, CAP_SYSLOG, CAP_WAKE_ALARM, CAP_BLOCK_SUSPEND, CAP_AUDIT_READ,
#ifdef CAP_PERFMON
  CAP_PERFMON, CAP_BPF, CAP_CHECKPOINT_RESTORE,
#endif
};

static void drop_host_caps(void) {
  struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &hdr, data) != 0) die("capget", errno);
  int any = 0;
  for (size_t i = 0; i < sizeof host_caps / sizeof host_caps[0]; i++) {
    int c = host_caps[i];
    uint32_t bit = 1u << (c % 32);
    if ((data[c / 32].permitted | data[c / 32].effective | data[c / 32].inheritable) & bit) any = 1;
    data[c / 32].effective &= ~bit;
    data[c / 32].permitted &= ~bit;
    data[c / 32].inheritable &= ~bit;
  }
  /* The bounding set needs CAP_SETPCAP; without it (an ordinary user) there is nothing to
     drop: no_new_privs already keeps file capabilities from adding any. */
  for (size_t i = 0; i < sizeof host_caps / sizeof host_caps[0]; i++)
    if (prctl(PR_CAPBSET_DROP, host_caps[i], 0, 0, 0) != 0 && errno != EPERM && errno != EINVAL)
      die("prctl(PR_CAPBSET_DROP)", errno);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    die("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", errno);
  if (any && syscall(SYS_capset, &hdr, data) != 0) die("capset", errno);
}

int main(int argc, char **argv) {
  int sock = -1, cmd_fd = -1;
  const char *session = NULL, *sbx = NULL;
  int close_fds = 0;
  int i = 1;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) { i++; break; }
    if (strcmp(argv[i], "--close-fds") == 0) { close_fds = 1; continue; }
    if (i + 1 >= argc) usage();
    if (strcmp(argv[i], "--fd") == 0) {
      char *end;
      long v = strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 0 || v > INT_MAX) usage();
      sock = (int)v;
    } else if (strcmp(argv[i], "--cmd-fd") == 0) {
      char *end;
      long v = strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 0 || v > INT_MAX) usage();
      cmd_fd = (int)v;
    } else if (strcmp(argv[i], "--session") == 0) session = argv[++i];
    else if (strcmp(argv[i], "--sbx") == 0) sbx = argv[++i];
    else usage();
  }
  if ((sock >= 0) == (session != NULL)) usage();  /* exactly one mode */
  if (session && !sbx) usage();
  /* --cmd-fd: the command comes later, never on the line. */
  if (cmd_fd >= 0 ? (sock < 0 || i < argc) : i >= argc) usage();
  char **target = cmd_fd >= 0 ? NULL : &argv[i];

  /* 1. PATH lookup before anything else: not found is 127, like a shell. (With --cmd-fd it
        happens once the command is here: stat and access are not trapped.) */
  char *program = target ? resolve_program(target[0]) : NULL;
  if (cmd_fd >= 0 && fcntl(cmd_fd, F_SETFD, FD_CLOEXEC) != 0) die("fcntl (--cmd-fd)", errno);

  if (sock >= 0) {
    int type;
    socklen_t len = sizeof type;
    if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len) != 0) die("--fd is not a socket", errno);
    /* Never let the target inherit the supervisor channel. */
    if (fcntl(sock, F_SETFD, FD_CLOEXEC) != 0) die("fcntl (--fd)", errno);
  }

  /* 2. No new privileges: required for an unprivileged filter, and setuid binaries
        must not gain rights the supervisor never saw. */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("prctl(PR_SET_NO_NEW_PRIVS)", errno);

  /* 2b. No core dumps: the kernel writes a core file with no syscall the engine could
        decide (it would land in whatever directory the crashing program chose), and the
        filter refuses every change to RLIMIT_CORE. The soft limit goes to 0; the hard
        limit is left where it is: the engine lowers it to tag each process with the
        policy it was created under (addon/procs.h). */
  struct rlimit core;
  if (getrlimit(RLIMIT_CORE, &core) != 0) die("getrlimit(RLIMIT_CORE)", errno);
  core.rlim_cur = 0;
  if (setrlimit(RLIMIT_CORE, &core) != 0) die("setrlimit(RLIMIT_CORE)", errno);

  /* 2c. A terminal the sandbox does not lead is not handed to it: the command gets a pty
        of its own, relayed by our parent half, which stays outside (pty_relay.c). From
        here on this process is the command's (the session root the keeper names, the
        pid that sends the listener); the relay never returns. */
  const char *pty_step = NULL;
  int pty_err = pty_relay_start(&pty_step);
  if (pty_err < 0) die(pty_step, -pty_err);

  /* 3. Session: the keeper is started before the filter so it stays outside. */
  if (session) sock = start_keeper(session, sbx);

  /* 3b. No host-wide capabilities (after the keeper started: it stays as it was). */
  drop_host_caps();

  /* 4. The sender thread, created before the filter so it is not filtered. */
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) die("pipe", errno);
  struct sender snd = { .sock = sock, .pipe_rd = p[0], .err = 0 };
  pthread_t th;
  int rc = pthread_create(&th, NULL, sender_main, &snd);
  if (rc != 0) die("pthread_create", rc);

  /* 5. Build and install the filter on this thread, with a listener. */
  struct sock_filter insns[SBX_FILTER_MAX];
  int n = sbx_build_filter(insns, SBX_FILTER_MAX);
  if (n < 0) die("building the seccomp filter", -n);
  struct sock_fprog prog = { .len = (unsigned short)n, .filter = insns };
  long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                          SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
  if (listener < 0 && errno == EINVAL) {
    /* Kernels < 5.19 lack WAIT_KILLABLE_RECV: a signal during a pending notification
       then restarts the syscall (harmless for correctness, noisier for the engine). */
    fputs("sbx: launcher: kernel lacks SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV; continuing without it\n", stderr);
    listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  }
  if (listener < 0) {
    int e = errno;
    int none = -1;
    (void)!write(p[1], &none, sizeof none);
    pthread_join(th, NULL);
    die("seccomp(SECCOMP_SET_MODE_FILTER, NEW_LISTENER)", e);
  }

  /* 6. Hand the listener over (via the unfiltered thread) and wait for it to finish. */
  int lfd = (int)listener;
  if (write(p[1], &lfd, sizeof lfd) != (ssize_t)sizeof lfd) die("pipe write", errno);
  pthread_join(th, NULL);
  close(p[0]);
  close(p[1]);
  /* The sandbox must never hold its own listener: it could answer its own syscalls. */
  close(lfd);
  if (snd.err != 0) die("sending the listener fd", snd.err);

  /* 6b. --cmd-fd: the command and its environment, as the supervisor answered them. */
  if (cmd_fd >= 0) {
    char **env;
    read_command(cmd_fd, &target, &env);
    environ = env;
    program = resolve_program(target[0]);
  }

  /* 7. One ack byte: an engine now serves the listener. EOF = the supervisor refused. */
  char ack;
  ssize_t got;
  do got = read(sock, &ack, 1); while (got < 0 && errno == EINTR);
  if (got < 0) die("waiting for the supervisor's ack", errno);
  if (got == 0) {
    fputs("sbx: launcher: the supervisor closed the channel without accepting the sandbox; not running the command\n", stderr);
    _exit(EXIT_SETUP);
  }
  close(sock);

  /* 8. Become the target. execve is trapped: the engine decides exec. A session's program
     (--session, or --close-fds from sbx-fast's `sbx shell`) starts with stdio only: a
     descriptor the terminal emulator or whatever started the shell left open, on a secret or
     another terminal, must not reach it. A command (`sbx exec`) keeps what it was handed, as
     any command does (make's jobserver, socket activation). */
  if (session || close_fds) syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  execvp(program, target);
  int e = errno;
  fprintf(stderr, "sbx: %s: %s\n", target[0], strerror(e));
  _exit(e == ENOENT ? EXIT_NOT_FOUND : EXIT_SETUP);
}
