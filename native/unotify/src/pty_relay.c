/*
 * The sandbox never holds the user's terminal. A command started with `sbx exec` or
 * `sbx shell -- CMD` from an ordinary shell would inherit that shell's terminal on fds 0-2,
 * and job control is all that keeps a background job off it: a process that calls setsid()
 * leaves the terminal's session, and then the kernel sends it no SIGTTIN or SIGTTOU. It
 * could read what is typed to the shell outside (commands, sudo passwords) and resize or
 * reconfigure the terminal, from the background or after Ctrl-Z. So, as sudo's use_pty
 * does, the command gets a pseudo-terminal of its own and this process, outside the sandbox
 * (forked before the filter, holding nothing of the sandbox's), relays between the two: it
 * passes what is typed only while its job is the terminal's foreground, and sizes and modes
 * only from the outer terminal to the pty, never back.
 *
 * No relay when the launcher leads the terminal's session (the shell hook: the user's shell
 * exec'd into sbx, so the whole terminal is the sandbox's) or no stdio fd is a terminal.
 *
 * Job control: the outer terminal is raw (keys reach the pty's line discipline, which
 * makes ^C ^Z ^\ signals for the command's foreground job; output passes untouched) only
 * while the relay's process group is the terminal's foreground and the command has
 * started. When the command stops, the relay gives the terminal back and stops its own
 * process group (sbx-fast or the Node CLI with it, as a shell expects of a job); SIGCONT
 * continues the command.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "pty_relay.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* While the relay's job is in the background it does not read the terminal (that would stop
   it with SIGTTIN); a shell's `fg` sends SIGCONT, and this bounds the wait if it did not. */
#define BACKGROUND_POLL_MS 200
/* After the command exits: its last output is in the pty already (or on its way through the
   tty layer's work queue); stop when none comes for DRAIN_IDLE_MS, and after DRAIN_MAX_MS in
   any case: a process it left behind may hold the pty open and keep writing, and must not
   keep the user's screen (or sbx exec) after the command ended. Once we exit, the pty hangs
   up and what is left gets EIO. */
#define DRAIN_IDLE_MS 50
#define DRAIN_MAX_MS 250

static volatile sig_atomic_t g_child;
static int g_master = -1;
static int g_sigpipe[2] = { -1, -1 };

/* An fd above the stdio range: 0-2 are the user's, and one of them may be closed. */
static int above_stdio(int fd) {
  if (fd < 0 || fd > 2) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  close(fd);
  return moved;
}

/* ---- the relay (the parent, outside the sandbox) ---- */

static void on_wake(int sig) {
  int e = errno;
  unsigned char c = (unsigned char)sig;
  (void)!write(g_sigpipe[1], &c, 1);
  errno = e;
}

/* Signals the outer terminal made (stdin not a terminal, so it stayed cooked) go to the
   pty's foreground job, by the kernel (TIOCSIG: the pty's own reference to its foreground
   group, never a number: a group that is gone gets nothing); ^Z is decided in the main loop
   (suspend_job). A kill of our job or a hangup goes to the command itself (our child, not
   reaped yet: its number is its own). */
static void on_forward(int sig) {
  int e = errno;
  if (g_child > 0) {
    if (sig == SIGINT || sig == SIGQUIT) ioctl(g_master, TIOCSIG, sig);
    else if (sig == SIGTSTP) on_wake(sig);
    else kill((pid_t)g_child, sig);
  }
  errno = e;
}

struct relay {
  int term;               /* an outer terminal fd, for its size, modes and foreground */
  int in;                 /* fd 0 when it is the terminal, else -1: no input to pass */
  int out;                /* where the pty's output goes */
  int go;                 /* EOF when the command execs (or the child dies): CLOEXEC pipe */
  int started, raw, out_dead, in_dead;
  struct termios saved;   /* the outer terminal's modes, put back whenever we give it up */
  char in_buf[4096];
  size_t in_len, in_off;
};

/* The outer terminal's modes change only with SIGTTOU blocked: restoring the user's own
   modes must not stop us, and entering raw mode is only done in the foreground anyway. */
static void set_modes(struct relay *r, const struct termios *t) {
  sigset_t tt, old;
  sigemptyset(&tt);
  sigaddset(&tt, SIGTTOU);
  sigprocmask(SIG_BLOCK, &tt, &old);
  while (tcsetattr(r->term, TCSADRAIN, t) != 0 && errno == EINTR) {}
  sigprocmask(SIG_SETMASK, &old, NULL);
}

static int foreground(const struct relay *r) { return tcgetpgrp(r->term) == getpgrp(); }

static void enter_raw(struct relay *r) {
  if (r->raw || r->in < 0 || !r->started || !foreground(r)) return;
  if (tcgetattr(r->term, &r->saved) != 0) return; /* read now: the user may have run stty while we were stopped */
  struct termios t = r->saved;
  t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXOFF);
  t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
  /* Output too: the pty's line discipline did the command's output processing already, and
     a program that turned it off there (tmux, curses: a bare \n moves the cursor down, not
     to column 0) must not get it back here. sbx's own lines on this terminal end in \r\n. */
  t.c_oflag &= ~OPOST;
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  set_modes(r, &t);
  r->raw = 1;
}

static void leave_raw(struct relay *r) {
  if (!r->raw) return;
  set_modes(r, &r->saved);
  r->raw = 0;
}

static void sync_size(const struct relay *r) {
  struct winsize ws;
  if (ioctl(r->term, TIOCGWINSZ, &ws) == 0) ioctl(g_master, TIOCSWINSZ, &ws);
}

static void write_out(struct relay *r, const char *b, size_t n) {
  while (n > 0 && !r->out_dead) {
    ssize_t w = write(r->out, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) { r->out_dead = 1; break; } /* the terminal hung up: drop the output, keep draining */
    b += w;
    n -= (size_t)w;
  }
}

/* ---- the pty's foreground job, by process ---- */

/* The pty reports its foreground group by number, and keeps the number of a group that has
   gone: the command can make a group of its own the foreground, let it die and wait until
   the number is a group of the user's outside the sandbox (pids wrap in seconds). So a signal
   the relay itself sends there goes to each member proven to be in the command's session
   (the session's number is our unreaped child's: no other session can have it), through a
   pidfd taken before that proof. */

/* pgrp and session of pid from /proc/<pid>/stat; 0 when it cannot be read. */
static int group_and_session(pid_t pid, pid_t *pgrp, pid_t *sid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* comm may hold anything but not past the last ')' */
  int ppid, g, s;
  char state;
  if (!p || sscanf(p + 1, " %c %d %d %d", &state, &ppid, &g, &s) != 4) return 0;
  *pgrp = g;
  *sid = s;
  return 1;
}

/* Does the process catch or ignore sig (/proc/<pid>/status SigCgt, SigIgn)? */
static int handles(pid_t pid, int sig) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  int yes = 0;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "SigCgt:", 7) == 0 || strncmp(line, "SigIgn:", 7) == 0)
      yes |= (int)((strtoull(line + 7, NULL, 16) >> (sig - 1)) & 1);
  fclose(f);
  return yes;
}

/* Sends sig to every process of group pg in the command's session; with `unless_handled`, to
   none (returning 1) when one of them catches or ignores it. Returns 0 otherwise. */
static int signal_foreground(pid_t pg, int sig, int unless_handled) {
  enum { MAX_MEMBERS = 256 };
  int fds[MAX_MEMBERS];
  int n = 0, handled = 0;
  DIR *d = opendir("/proc");
  if (!d) return 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < MAX_MEMBERS) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    pid_t g, s;
    if (*end || pid <= 0 || !group_and_session((pid_t)pid, &g, &s) || g != pg || s != (pid_t)g_child) continue;
    int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
    if (fd < 0) continue;
    /* Looked at again through the pidfd's process: the number may have changed hands. */
    if (!group_and_session((pid_t)pid, &g, &s) || g != pg || s != (pid_t)g_child ||
        syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) != 0) {
      close(fd);
      continue;
    }
    if (unless_handled && handles((pid_t)pid, sig)) handled = 1;
    fds[n++] = fd;
  }
  closedir(d);
  for (int i = 0; i < n; i++) {
    if (!handled) syscall(SYS_pidfd_send_signal, fds[i], sig, NULL, 0);
    close(fds[i]);
  }
  return handled;
}

/* ^Z for the command (typed, or SIGTSTP from the outer terminal in cooked mode). The pty's
   line discipline would send SIGTSTP to its foreground group, but the command leads a
   session whose parent (we) is outside it: its group is orphaned, and the kernel drops a
   stop signal's default action there. A program that catches or ignores SIGTSTP (a shell,
   an editor) gets it as usual; any other is stopped as a terminal would stop it, with
   SIGSTOP. Returns 1 when the job handles it (the key then goes through). */
static int suspend_job(void) {
  pid_t pg = tcgetpgrp(g_master);
  if (pg <= 0) return 1;
  if (signal_foreground(pg, SIGSTOP, 1) == 0) return 0;
  return 1;
}

static void suspend_key(struct relay *r) {
  struct termios t;
  if (tcgetattr(g_master, &t) != 0 || !(t.c_lflag & ISIG) || t.c_cc[VSUSP] == _POSIX_VDISABLE) return;
  char *z = memchr(r->in_buf, t.c_cc[VSUSP], r->in_len);
  if (!z || suspend_job()) return;
  r->in_len = (size_t)(z - r->in_buf); /* what followed ^Z is dropped, as a stopped job's would be */
}

/* The command stopped (^Z on the pty, or a signal): the job stops as a whole, as a shell
   expects, and the command continues when it does. */
static void stop_job(struct relay *r) {
  leave_raw(r);
  signal(SIGTSTP, SIG_DFL);
  kill(0, SIGTSTP); /* our group: us, and sbx-fast or the Node CLI that waits for us */
  /* ... continued (fg or bg): SIGCONT. */
  struct sigaction fwd = { .sa_handler = on_forward, .sa_flags = SA_RESTART };
  sigaction(SIGTSTP, &fwd, NULL);
  sync_size(r);
  if (g_child > 0) {
    kill(-(pid_t)g_child, SIGCONT); /* the command leads its session: its group is its pid */
    pid_t fg = tcgetpgrp(g_master);
    if (fg > 0 && fg != (pid_t)g_child) signal_foreground(fg, SIGCONT, 0);
  }
}

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void drain(struct relay *r) {
  char b[8192];
  const long long end = now_ms() + DRAIN_MAX_MS;
  for (;;) {
    long long left = end - now_ms();
    if (left <= 0) return;
    struct pollfd p = { g_master, POLLIN, 0 };
    int n = poll(&p, 1, left < DRAIN_IDLE_MS ? (int)left : DRAIN_IDLE_MS);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    ssize_t got = read(g_master, b, sizeof b);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) return; /* EIO: every holder of the pty is gone */
    write_out(r, b, (size_t)got);
  }
}

static void relay_main(struct relay *r) __attribute__((noreturn));
static void relay_main(struct relay *r) {
  int status = 0;
  char out_buf[8192];
  for (;;) {
    enter_raw(r);
    int fg = r->raw || (r->started && r->in >= 0 && foreground(r));
    int want_in = r->started && r->in >= 0 && !r->in_dead && r->raw && r->in_len == 0;
    struct pollfd p[4] = {
      { g_master, POLLIN | (r->in_len ? POLLOUT : 0), 0 },
      { want_in ? r->in : -1, POLLIN, 0 },
      { r->started ? -1 : r->go, POLLIN, 0 },
      { g_sigpipe[0], POLLIN, 0 },
    };
    int timeout = r->started && r->in >= 0 && !r->in_dead && !fg ? BACKGROUND_POLL_MS : -1;
    int n = poll(p, 4, timeout);
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    if (p[3].revents & POLLIN) {
      unsigned char sigs[64];
      ssize_t k = read(g_sigpipe[0], sigs, sizeof sigs);
      int chld = 0;
      for (ssize_t i = 0; i < k; i++) {
        if (sigs[i] == SIGWINCH || sigs[i] == SIGCONT) sync_size(r);
        if (sigs[i] == SIGCHLD) chld = 1;
        if (sigs[i] == SIGTSTP && suspend_job()) ioctl(g_master, TIOCSIG, SIGTSTP); /* the job handles it */
      }
      if (chld) {
        pid_t w;
        while ((w = waitpid((pid_t)g_child, &status, WNOHANG | WUNTRACED)) < 0 && errno == EINTR) {}
        if (w == (pid_t)g_child && WIFSTOPPED(status)) stop_job(r);
        else if (w == (pid_t)g_child) break;
      }
    }
    if (p[2].revents) { r->started = 1; close(r->go); r->go = -1; }
    if (p[1].revents & POLLIN) {
      ssize_t k = read(r->in, r->in_buf, sizeof r->in_buf);
      if (k > 0) { r->in_len = (size_t)k; r->in_off = 0; suspend_key(r); }
      else if (k == 0 || (errno != EINTR && errno != EAGAIN)) r->in_dead = 1;
    } else if (p[1].revents & (POLLHUP | POLLERR | POLLNVAL)) {
      r->in_dead = 1;
    }
    if (r->in_len && (p[0].revents & POLLOUT)) {
      ssize_t w = write(g_master, r->in_buf + r->in_off, r->in_len);
      if (w > 0) { r->in_off += (size_t)w; r->in_len -= (size_t)w; }
      else if (w < 0 && errno != EINTR && errno != EAGAIN) r->in_len = 0;
    }
    if (p[0].revents & POLLIN) {
      ssize_t k = read(g_master, out_buf, sizeof out_buf);
      if (k > 0) write_out(r, out_buf, (size_t)k);
    }
    /* POLLHUP alone on the master (no slave open, e.g. before the child has it): the
       child's exit is what ends us, seen through SIGCHLD. */
    if ((p[0].revents & (POLLHUP | POLLERR)) && !(p[0].revents & POLLIN)) {
      struct pollfd q = { g_sigpipe[0], POLLIN, 0 };
      poll(&q, 1, 10);
    }
  }
  drain(r);
  leave_raw(r);
  if (WIFSIGNALED(status)) {
    /* Die of the same signal, so sbx exec reports 128+N and a shell sees ^C end the job. */
    int sig = WTERMSIG(status);
    signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    sigprocmask(SIG_UNBLOCK, &one, NULL);
    kill(getpid(), sig);
    _exit(128 + sig);
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 126);
}

/* ---- setup ---- */

int pty_relay_start(const char **step) {
  int term = -1, is_term[3] = { 0, 0, 0 };
  struct stat tst;
  for (int fd = 0; fd < 3; fd++) {
    struct stat st;
    if (!isatty(fd) || fstat(fd, &st) != 0) continue;
    if (term >= 0 && st.st_rdev != tst.st_rdev) {
      *step = "standard input, output and error are on two different terminals; not giving the command either";
      return -EINVAL;
    }
    if (term < 0) { term = fd; tst = st; }
    is_term[fd] = 1;
  }
  if (term < 0) {
    /* No standard stream is a terminal (nohup CMD &, an agent's tool call on pipes), but the
       user's terminal may still be the controlling one: /dev/tty would open it, and a
       process that then calls setsid() reads what is typed to the shell there. Give it up
       (TIOCNOTTY: for a process that does not lead its session, only this process's link to
       it goes) — unless we lead that session: then it is the sandbox's own. */
    if (getsid(0) != getpid()) {
      int ctty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (ctty >= 0) {
        *step = "giving up the controlling terminal (TIOCNOTTY)";
        int r = ioctl(ctty, TIOCNOTTY);
        int e = errno;
        close(ctty);
        if (r != 0) return -e;
      }
    }
    return 0;
  }
  if (tcgetsid(term) == getpid()) return 0;

  *step = "opening a pseudo-terminal for the command (/dev/ptmx)";
  int master = above_stdio(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (master < 0) return -errno;
  int zero = 0;
  *step = "unlocking the command's pseudo-terminal";
  if (ioctl(master, TIOCSPTLCK, &zero) != 0) { int e = errno; close(master); return -e; }
  *step = "opening the command's pseudo-terminal (TIOCGPTPEER)";
  int slave = above_stdio(ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (slave < 0) { int e = errno; close(master); return -e; }
  /* It starts as the outer terminal is: same modes, same size. */
  struct termios t;
  struct winsize ws;
  if (tcgetattr(term, &t) == 0) tcsetattr(slave, TCSANOW, &t);
  if (ioctl(term, TIOCGWINSZ, &ws) == 0) ioctl(slave, TIOCSWINSZ, &ws);
  int go[2];
  *step = "pipe (pseudo-terminal relay)";
  if (pipe2(go, O_CLOEXEC) != 0) { int e = errno; close(master); close(slave); return -e; }
  go[0] = above_stdio(go[0]);
  go[1] = above_stdio(go[1]);

  *step = "fork (pseudo-terminal relay)";
  pid_t child = fork();
  if (child < 0) { int e = errno; close(master); close(slave); close(go[0]); close(go[1]); return -e; }
  if (child == 0) {
    /* The command's side: go[1] stays open (CLOEXEC) until its exec tells the relay to
       start passing input. */
    close(master);
    close(go[0]);
    *step = "setsid (pseudo-terminal)";
    if (setsid() < 0) return -errno;
    *step = "TIOCSCTTY (pseudo-terminal)";
    if (ioctl(slave, TIOCSCTTY, 0) != 0) return -errno;
    *step = "dup2 (pseudo-terminal)";
    for (int fd = 0; fd < 3; fd++)
      if (is_term[fd] && dup2(slave, fd) < 0) return -errno;
    close(slave);
    return 0;
  }

  /* The relay: nothing of the sandbox's (its channel, the command fd) and of the user's
     only the outer terminal; a pipe on stdin would otherwise not see its reader go. */
  close(slave);
  close(go[1]);
  int keep[2] = { master < go[0] ? master : go[0], master < go[0] ? go[0] : master };
  if (keep[0] > 3) close_range(3, (unsigned)keep[0] - 1, 0);
  if (keep[1] > keep[0] + 1) close_range((unsigned)keep[0] + 1, (unsigned)keep[1] - 1, 0);
  close_range((unsigned)keep[1] + 1, ~0U, 0);
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 2; fd++)
    if (!is_term[fd] && devnull >= 0) dup2(devnull, fd);
  if (devnull > 2) close(devnull);

  g_master = master;
  g_child = child;
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  if (pipe2(g_sigpipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    /* Cannot relay: end the command before it runs (it waits for its ack). */
    kill(child, SIGKILL);
    fprintf(stderr, "sbx: launcher: pipe (pseudo-terminal relay): %s\n", strerror(errno));
    _exit(126);
  }
  struct sigaction wake = { .sa_handler = on_wake, .sa_flags = SA_RESTART };
  struct sigaction fwd = { .sa_handler = on_forward, .sa_flags = SA_RESTART };
  sigaction(SIGCHLD, &wake, NULL);
  sigaction(SIGWINCH, &wake, NULL);
  sigaction(SIGCONT, &wake, NULL);
  sigaction(SIGINT, &fwd, NULL);
  sigaction(SIGQUIT, &fwd, NULL);
  sigaction(SIGTERM, &fwd, NULL);
  sigaction(SIGHUP, &fwd, NULL);
  sigaction(SIGTSTP, &fwd, NULL);
  signal(SIGPIPE, SIG_IGN);
  /* The child may have changed state before the handler was there. */
  on_wake(SIGCHLD);

  static struct relay r;
  r.term = term;
  r.in = is_term[0] ? 0 : -1;
  r.out = is_term[1] ? 1 : is_term[2] ? 2 : 0;
  r.go = go[0];
  relay_main(&r);
}
