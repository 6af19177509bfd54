/* timeit: run a command N times (after W warm-up runs) and print each wall time in
 * nanoseconds, one per line, on stdout. The command's stdout goes to /dev/null so the
 * figures stay parseable; its stderr is kept. Runs inside the sandbox under test, so a
 * sandbox's one-time start-up cost is not part of a workload's figure.
 * -s FILE: print "before <FILE's content>" first and "after <content>" last (one line each):
 * with /proc/self/sbx/ask/status, the session's engine counters around the runs, so the
 * bench can count the traps of a workload (the "after" read itself adds one open).
 * usage: timeit [-w W] [-s FILE] N -- CMD ARGS...    exit 1 if any run fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int run_once(char **argv, int devnull) {
  pid_t pid = fork();
  if (pid < 0) { perror("timeit: fork"); return -1; }
  if (pid == 0) {
    dup2(devnull, 1);
    execvp(argv[0], argv);
    fprintf(stderr, "timeit: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int status;
  if (waitpid(pid, &status, 0) < 0) { perror("timeit: waitpid"); return -1; }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "timeit: %s failed (status 0x%x)\n", argv[0], status);
    return -1;
  }
  return 0;
}

/* FILE's content on one line after `tag`; exit 1 when it cannot be read (no silent zero). */
static int show(const char *tag, const char *file) {
  char buf[1 << 16];
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { fprintf(stderr, "timeit: %s: %s\n", file, strerror(errno)); return -1; }
  size_t len = 0;
  ssize_t n;
  while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)n;
  close(fd);
  while (len && buf[len - 1] == '\n') len--;
  for (size_t k = 0; k < len; k++) if (buf[k] == '\n') buf[k] = ' ';
  buf[len] = 0;
  printf("%s %s\n", tag, buf);
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  int warm = 0, i = 1;
  const char *stats = NULL;
  for (;;) {
    if (i + 1 < argc && strcmp(argv[i], "-w") == 0) { warm = atoi(argv[i + 1]); i += 2; }
    else if (i + 1 < argc && strcmp(argv[i], "-s") == 0) { stats = argv[i + 1]; i += 2; }
    else break;
  }
  if (i + 2 >= argc || strcmp(argv[i + 1], "--") != 0) {
    fprintf(stderr, "usage: timeit [-w W] [-s FILE] N -- CMD ARGS...\n");
    return 2;
  }
  int n = atoi(argv[i]);
  char **cmd = argv + i + 2;
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull < 0) { perror("timeit: /dev/null"); return 1; }
  for (int k = 0; k < warm; k++)
    if (run_once(cmd, devnull) != 0) return 1;
  if (stats && show("before", stats) != 0) return 1;
  for (int k = 0; k < n; k++) {
    long long t0 = now_ns();
    if (run_once(cmd, devnull) != 0) return 1;
    printf("%lld\n", now_ns() - t0);
    fflush(stdout);
  }
  if (stats && show("after", stats) != 0) return 1;
  return 0;
}
