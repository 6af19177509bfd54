/*
 * sbx-keeper: holds one session's seccomp listener outside the sandbox, so a supervisor
 * crash or upgrade loses no session (notifications simply wait in the kernel).
 *
 *   sbx-keeper --listener-fd N --session SOCK --sbx PATH --root-pid P|peer [--exec]
 *
 * --exec: the session is a fast-path `sbx exec` (sbx-fast): the first registration says so
 * ("exec":true) and the supervisor holds it until the exec-start policy for that session is
 * built (the launcher runs while it is built, so the registration may come first).
 *
 * Started by sbx-launch (session mode) before it installs its filter, so the keeper is
 * not sandboxed. N is a SOCK_SEQPACKET socket to the launcher: the listener arrives on
 * it (SCM_RIGHTS, payload "listener") and the ack byte goes back on it once a supervisor
 * serves the listener. Closing N without an ack makes the launcher fail (exit 126):
 * never an unsandboxed shell.
 *
 * Supervisor protocol (AF_UNIX stream at SOCK):
 *   keeper → supervisor: one JSON line {"v":1,"session",…,"resume",…,"state",…} with the
 *                        listener and the journal memfd attached (SCM_RIGHTS).
 *   supervisor → keeper: lines "ready", "error <message>", "state <json>" (the session's
 *                        assignments, handed back on the next registration).
 * The supervisor hangs up (crash, restart) → reconnect, starting it with `PATH daemon
 * start` when nobody answers, and re-register with resume=true. The listener reports
 * POLLHUP (no sandboxed process left) → exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/close_range.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SETUP 126
/* The journal (256 KiB) and, after it, the process tags the engine hands out (addon/procs.h). */
#define JOURNAL_SIZE (1024 * 1024 + 64 * 1024) /* journal, process tags, IPC records (journal.h) */
#define MAX_STATE (1024 * 1024) /* MAX_STATE_BYTES in src/protocol/keeper.ts; fdserver.cc's kMaxPayload above it */
#define FIRST_DEADLINE_MS 5000
/* A supervisor that accepted the registration is alive, only busy: wait longer for it. */
#define ANSWER_DEADLINE_MS 60000
#define ANSWER_NOTICE_MS 5000
#define BACKOFF_CAP_MS 500
#define RESUME_BACKOFF_CAP_MS 5000

static const char *g_sock_path, *g_sbx;
static int g_root_pid;
static int g_exec; /* --exec: a fast-path `sbx exec` session */
static int g_listener = -1, g_journal = -1;
static char g_session[48];
static char g_cwd[PATH_MAX], g_tty[PATH_MAX];
/* The terminals the root started on (its stdio and controlling terminal), O_PATH, read before
   it ran anything of the user's: handed to every supervisor after the listener and journal,
   so one that starts after a restart knows them too, whatever the root did meanwhile
   (addon/terminal_release.h). O_PATH keeps no pty alive. */
#define MAX_TERMS 4
static int g_terms[MAX_TERMS], g_nterms;
static char *g_state; /* last "state" JSON from the supervisor, or NULL */

static void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("sbx: keeper: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(void) {
  fputs("usage: sbx-keeper --listener-fd N --session SOCK --sbx PATH --root-pid P|peer [--exec]\n", stderr);
  exit(EXIT_SETUP);
}

/* The listener from the launcher. With `--root-pid peer` (started by sbx-fast before the
   launcher exists) the session root is the process that sent it: the kernel's
   SCM_CREDENTIALS (SO_PASSCRED was set on our end before the launcher could send), not a
   claim. A channel closed with nothing sent is the client giving up (it fell back to the
   Node CLI): *quiet is set and nothing is said. */
static int recv_listener(int sock, int want_peer, int *quiet) {
  struct pollfd p = {sock, POLLIN, 0};
  /* sbx-fast starts us before it asks the supervisor (up to 10 s) and execs the launcher. */
  if (poll(&p, 1, want_peer ? 30000 : 10000) <= 0) return -1;
  char buf[64];
  struct iovec iov = {buf, sizeof buf};
  union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))]; } u;
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.b;
  msg.msg_controllen = sizeof u.b;
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
  if (n == 0 && want_peer) *quiet = 1;
  if (n <= 0) return -1;
  int fd = -1;
  pid_t peer = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_RIGHTS && fd < 0) memcpy(&fd, CMSG_DATA(c), sizeof fd);
    else if (c->cmsg_type == SCM_CREDENTIALS) {
      struct ucred cr;
      memcpy(&cr, CMSG_DATA(c), sizeof cr);
      peer = cr.pid;
    }
  }
  if (fd >= 0 && want_peer) {
    if (peer <= 0) { close(fd); return -1; }
    g_root_pid = (int)peer;
  }
  return fd;
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}

static int connect_supervisor(void) {
  struct sockaddr_un a = {0};
  a.sun_family = AF_UNIX;
  if (strlen(g_sock_path) >= sizeof a.sun_path) { errno = ENAMETOOLONG; return -1; }
  strcpy(a.sun_path, g_sock_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* Sends the registration line with [listener, journal] attached. */
static int send_register(int fd, int resume) {
  char *line = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&line, &len);
  if (!f) return -1;
  fprintf(f, "{\"v\":1,\"session\":");
  json_str(f, g_session);
  fprintf(f, ",\"rootPid\":%d,\"keeperPid\":%d,\"cwd\":", g_root_pid, (int)getpid());
  json_str(f, g_cwd);
  fprintf(f, ",\"tty\":");
  json_str(f, g_tty);
  fprintf(f, ",\"terms\":%d,\"resume\":%s,\"exec\":%s,\"state\":%s}\n", g_nterms, resume ? "true" : "false",
          g_exec && !resume ? "true" : "false", g_state ? g_state : "null");
  fclose(f);

  int fds[2 + MAX_TERMS] = {g_listener, g_journal};
  for (int i = 0; i < g_nterms; i++) fds[2 + i] = g_terms[i];
  const size_t nfds = 2 + (size_t)g_nterms;
  union { struct cmsghdr h; char b[CMSG_SPACE(sizeof fds)]; } u;
  memset(&u, 0, sizeof u);
  struct iovec iov = {line, len};
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.b;
  msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
  memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
  ssize_t n;
  do n = sendmsg(fd, &msg, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  int ok = n == (ssize_t)len;
  free(line);
  return ok ? 0 : -1;
}

/* Line reader over the supervisor connection. */
static char g_buf[MAX_STATE + 256];
static size_t g_buflen, g_consumed;

/* Returns 1 with a line (NUL-terminated, no '\n') in *out, 0 on EOF/error, -1 on timeout. */
static int read_line(int fd, char **out, int timeout_ms) {
  if (g_consumed) {
    memmove(g_buf, g_buf + g_consumed, g_buflen - g_consumed);
    g_buflen -= g_consumed;
    g_consumed = 0;
  }
  for (;;) {
    char *nl = memchr(g_buf, '\n', g_buflen);
    if (nl) {
      *nl = '\0';
      *out = g_buf;
      g_consumed = (size_t)(nl - g_buf) + 1;
      return 1;
    }
    if (g_buflen >= sizeof g_buf - 1) return 0; /* oversized line: protocol error */
    if (timeout_ms >= 0) {
      struct pollfd p = {fd, POLLIN, 0};
      int r = poll(&p, 1, timeout_ms);
      if (r == 0) return -1;
      if (r < 0 && errno != EINTR) return 0;
    }
    ssize_t n = read(fd, g_buf + g_buflen, sizeof g_buf - 1 - g_buflen);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return 0;
    g_buflen += (size_t)n;
  }
}

static void handle_state(const char *json) {
  size_t n = strlen(json);
  if (n > MAX_STATE) return;
  char *copy = strdup(json);
  if (!copy) return;
  free(g_state);
  g_state = copy;
}

/* `sbx daemon start`, unless another keeper is already doing it. */
static void start_daemon(int quiet) {
  char lock[PATH_MAX];
  snprintf(lock, sizeof lock, "%s", g_sock_path);
  char *slash = strrchr(lock, '/');
  if (!slash) return;
  snprintf(slash + 1, sizeof lock - (size_t)(slash + 1 - lock), "keeper-spawn.lock");
  int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lfd < 0) return;
  if (flock(lfd, LOCK_EX | LOCK_NB) != 0) { close(lfd); return; }
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, 0);
      dup2(devnull, 1);
      if (quiet) dup2(devnull, 2);
    }
    /* The supervisor for the runtime dir we serve (its pin names sbx's places there:
       src/supervisor/pinned-places.ts), whatever our environment says: a keeper the launcher
       started has the program's, whose env rules may have hidden XDG_RUNTIME_DIR. The socket
       is <XDG_RUNTIME_DIR>/sbx/keeper.sock, or /tmp/sbx-UID/keeper.sock without one. */
    char run[PATH_MAX];
    snprintf(run, sizeof run, "%s", g_sock_path);
    char *s1 = strrchr(run, '/');
    if (s1) {
      *s1 = '\0';
      char *s2 = strrchr(run, '/');
      if (s2 && strcmp(s2 + 1, "sbx") == 0) {
        *s2 = '\0';
        setenv("XDG_RUNTIME_DIR", run[0] ? run : "/", 1);
      } else {
        unsetenv("XDG_RUNTIME_DIR");
      }
    }
    unsetenv("SBX_SESSION");
    execl(g_sbx, g_sbx, "daemon", "start", (char *)NULL);
    fprintf(stderr, "sbx: keeper: exec %s daemon start: %s\n", g_sbx, strerror(errno));
    _exit(127);
  }
  if (pid > 0) while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
  flock(lfd, LOCK_UN);
  close(lfd);
}

static int listener_hung_up(int timeout_ms) {
  struct pollfd p = {g_listener, 0, 0};
  return poll(&p, 1, timeout_ms) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

/*
 * Waits for the supervisor's answer to a registration: "ready" or "error …" (a state
 * line may come first: kept, it is the newest state). Returns like read_line. A
 * supervisor in a denial storm can take seconds; the person waiting gets one notice.
 */
static int wait_answer(int fd, char **line, int resume) {
  long long start = now_ms();
  int noticed = resume; /* a resuming keeper's stderr is /dev/null anyway */
  for (;;) {
    long long waited = now_ms() - start;
    if (waited >= ANSWER_DEADLINE_MS) return -1;
    int slice = noticed ? ANSWER_DEADLINE_MS - (int)waited : ANSWER_NOTICE_MS - (int)waited;
    int r = read_line(fd, line, slice > 0 ? slice : 0);
    if (r == 1 && strncmp(*line, "state ", 6) == 0) {
      handle_state(*line + 6);
      continue;
    }
    if (r != -1) return r;
    if (!noticed) {
      fprintf(stderr, "sbx: the supervisor is slow to accept the session; still waiting (up to %d s)\n",
              ANSWER_DEADLINE_MS / 1000);
      noticed = 1;
    }
  }
}

/*
 * Connects and registers. Returns the connected fd after "ready"; -1 when the
 * supervisor refused (message in *err) or the deadline passed; -2 when the listener
 * hung up meanwhile (nothing left to serve).
 */
static int register_session(int resume, char *err, size_t errlen) {
  long long deadline = now_ms() + FIRST_DEADLINE_MS;
  int backoff = 10, cap = resume ? RESUME_BACKOFF_CAP_MS : BACKOFF_CAP_MS;
  long long last_spawn = 0;
  snprintf(err, errlen, "no supervisor answered at %s", g_sock_path);
  for (;;) {
    int fd = connect_supervisor();
    if (fd >= 0) {
      g_buflen = g_consumed = 0;
      if (send_register(fd, resume) == 0) {
        char *line;
        int r = wait_answer(fd, &line, resume);
        if (r == 1 && strcmp(line, "ready") == 0) return fd;
        if (r == 1 && strncmp(line, "error ", 6) == 0) {
          snprintf(err, errlen, "%s", line + 6);
          close(fd);
          if (!resume) return -1;
        } else {
          if (r == -1) snprintf(err, errlen, "the supervisor at %s took the session but did not answer within %d s", g_sock_path, ANSWER_DEADLINE_MS / 1000);
          close(fd);
          /* It is alive but stuck: registering again would only find the session taken. */
          if (r == -1 && !resume) return -1;
        }
      } else {
        close(fd);
      }
    } else if (errno == ENOENT || errno == ECONNREFUSED) {
      /* Nobody serves: start one (at most once a second). */
      if (now_ms() - last_spawn >= 1000) {
        int first = last_spawn == 0;
        start_daemon(resume);
        last_spawn = now_ms();
        /* Counting from when the first start attempt returned (node may be slow to boot). */
        if (first) deadline = last_spawn + FIRST_DEADLINE_MS;
        continue;
      }
    } else {
      snprintf(err, errlen, "connect %s: %s", g_sock_path, strerror(errno));
    }
    if (!resume && now_ms() >= deadline) return -1;
    if (listener_hung_up(backoff)) return -2;
    backoff = backoff * 2 > cap ? cap : backoff * 2;
  }
}

static void read_link(const char *path, char *out, size_t size) {
  ssize_t n = readlink(path, out, size - 1);
  out[n < 0 ? 0 : n] = '\0';
}

static void pick_session_id(void) {
  const char *s = getenv("SBX_SESSION");
  int ok = s && *s && strlen(s) < sizeof g_session;
  for (const char *p = s; ok && *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')) ok = 0;
  if (ok) {
    strcpy(g_session, s);
    return;
  }
  unsigned char r[6] = {0};
  if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
    unsigned long long t = (unsigned long long)now_ms() ^ (unsigned long long)getpid() << 20;
    memcpy(r, &t, sizeof r);
  }
  snprintf(g_session, sizeof g_session, "s%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
}

/* A terminal the engine decides (a pty, a virtual console, the console): keep it, once. */
static void keep_terminal(int fd) {
  struct stat st;
  unsigned maj;
  if (fd < 0) return;
  if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode) || g_nterms == MAX_TERMS) goto drop;
  maj = major(st.st_rdev);
  if (!((maj >= 136 && maj <= 143) || (maj == 4 && minor(st.st_rdev) < 64) || st.st_rdev == makedev(5, 1))) goto drop;
  for (int i = 0; i < g_nterms; i++) {
    struct stat seen;
    if (fstat(g_terms[i], &seen) == 0 && seen.st_rdev == st.st_rdev && seen.st_ino == st.st_ino) goto drop;
  }
  g_terms[g_nterms++] = fd;
  return;
drop:
  close(fd);
}

/* The root's terminals now, before it runs anything of the user's (it waits for our ack):
   fds 0-2 and its controlling terminal (field 7 of /proc/<root>/stat). */
static void record_terminals(void) {
  char path[64];
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "/proc/%d/fd/%d", g_root_pid, i);
    keep_terminal(open(path, O_PATH | O_CLOEXEC));
  }
  snprintf(path, sizeof path, "/proc/%d/stat", g_root_pid);
  FILE *f = fopen(path, "re");
  if (!f) return;
  char line[1024];
  const char *p = fgets(line, sizeof line, f) ? strrchr(line, ')') : NULL;
  fclose(f);
  unsigned long tty = 0;
  if (!p || sscanf(p + 1, " %*c %*d %*d %*d %lu", &tty) != 1 || tty == 0) return;
  unsigned maj = (tty >> 8) & 0xfff, mnr = (tty & 0xff) | ((tty >> 12) & 0xfff00);
  if (maj >= 136 && maj <= 143) snprintf(path, sizeof path, "/dev/pts/%u", (maj - 136) * 256 + mnr);
  else if (maj == 4 && mnr < 64) snprintf(path, sizeof path, "/dev/tty%u", mnr);
  else if (maj == 5 && mnr == 1) snprintf(path, sizeof path, "/dev/console");
  else return;
  int fd = open(path, O_PATH | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (fd >= 0 && (fstat(fd, &st) != 0 || st.st_rdev != makedev(maj, mnr))) {
    close(fd);
    return;
  }
  keep_terminal(fd);
}

int main(int argc, char **argv) {
  int launcher = -1, peer_root = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--exec") == 0) { g_exec = 1; continue; }
    if (i + 1 >= argc) usage();
    if (strcmp(argv[i], "--listener-fd") == 0) launcher = atoi(argv[++i]);
    else if (strcmp(argv[i], "--session") == 0) g_sock_path = argv[++i];
    else if (strcmp(argv[i], "--sbx") == 0) g_sbx = argv[++i];
    else if (strcmp(argv[i], "--root-pid") == 0) {
      i++;
      if (strcmp(argv[i], "peer") == 0) peer_root = 1;
      else g_root_pid = atoi(argv[i]);
    }
    else usage();
  }
  if (launcher < 0 || !g_sock_path || !g_sbx || (g_root_pid <= 0 && !peer_root)) usage();
  fcntl(launcher, F_SETFD, FD_CLOEXEC);
  /* Hold nothing of the user's but the channel (a pipe kept open would keep a reader
     waiting for EOF), and keep 0-2 occupied so no fd we receive lands on them. */
  if (launcher > 3) close_range(3, (unsigned)launcher - 1, 0);
  close_range((unsigned)launcher + 1, ~0U, 0);
  for (int fd = 0; fd < 3; fd++)
    if (fcntl(fd, F_GETFD) < 0) {
      int n = open("/dev/null", O_RDWR);
      if (n >= 0 && n != fd) { dup2(n, fd); close(n); }
    }

  /* Out of the terminal's process group and session; nobody may ptrace or core us. */
  setsid();
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  signal(SIGTTOU, SIG_IGN);
  signal(SIGTTIN, SIG_IGN);

  int quiet = 0;
  g_listener = recv_listener(launcher, peer_root, &quiet);
  if (g_listener < 0) {
    if (quiet) return 0;
    say("did not receive the seccomp listener from the launcher");
    return EXIT_SETUP;
  }
  /* The journal lets a restarted engine finish notifications a dead one had received. */
  g_journal = memfd_create("sbx-journal", MFD_CLOEXEC);
  if (g_journal < 0 || ftruncate(g_journal, JOURNAL_SIZE) != 0) {
    say("memfd_create (journal): %s", strerror(errno));
    return EXIT_SETUP;
  }
  pick_session_id();
  char link[64];
  snprintf(link, sizeof link, "/proc/%d/cwd", g_root_pid);
  read_link(link, g_cwd, sizeof g_cwd);
  snprintf(link, sizeof link, "/proc/%d/fd/0", g_root_pid);
  read_link(link, g_tty, sizeof g_tty);
  if (strncmp(g_tty, "/dev/pts/", 9) != 0 && strncmp(g_tty, "/dev/tty", 8) != 0) g_tty[0] = '\0';
  record_terminals();

  char err[512];
  int conn = register_session(0, err, sizeof err);
  /* The launcher is gone (sbx-fast killed it to fall back to the Node CLI, which says why):
     nobody waits for this session, say nothing. A fast-path exec's refusal can reach us a
     moment before its client, told to fall back, kills the launcher: give it that moment. */
  struct pollfd lp = {launcher, POLLIN, 0};
  if (conn < 0 && (conn == -2 || (poll(&lp, 1, g_exec ? 300 : 0) == 1 && (lp.revents & (POLLHUP | POLLERR))))) return 0;
  if (conn < 0) {
    fprintf(stderr, "sbx: %s; not starting the session\n", err);
    fprintf(stderr, "hint: run `%s daemon start` and look at `%s daemon status`\n", g_sbx, g_sbx);
    return EXIT_SETUP; /* closing `launcher` without an ack makes it exit 126 */
  }
  char ack = 1;
  ssize_t w;
  do w = write(launcher, &ack, 1); while (w < 0 && errno == EINTR);
  close(launcher);
  /* From now on nobody reads our stderr: do not hold the user's pipe or terminal open. */
  int devnull = open("/dev/null", O_RDWR);
  if (devnull >= 0) dup2(devnull, 2);
  if (devnull > 2) close(devnull);

  for (;;) {
    struct pollfd p[2] = {{g_listener, 0, 0}, {conn, POLLIN, 0}};
    int r = poll(p, 2, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL)) return 0; /* no sandboxed process left */
    if (!p[1].revents) continue;
    int gone = 0;
    char *line;
    int lr;
    while ((lr = read_line(conn, &line, 0)) == 1) {
      if (strncmp(line, "state ", 6) == 0) handle_state(line + 6);
    }
    if (lr == 0) gone = 1;
    if (!gone) continue;
    /* Supervisor hung up (crash or restart): hand the session to the next one. */
    close(conn);
    conn = register_session(1, err, sizeof err);
    if (conn == -2) return 0;
  }
}
