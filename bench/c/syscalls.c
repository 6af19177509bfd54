/* syscalls: tight loops of one syscall, for per-call cost and decisions per second.
 *   syscalls open  N PATH     N × open(PATH)+close (open is trapped by sbx)
 *   syscalls stat  N PATH     N × stat(PATH)       (not trapped: should cost nothing extra)
 *   syscalls procs K N PATH   K processes each doing N open+close at once
 * Prints one line "<ops> <ns>" (operations done, wall time of the loop alone). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int open_loop(long n, const char *path) {
  for (long i = 0; i < n; i++) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { perror(path); return 1; }
    close(fd);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: syscalls open|stat N PATH | syscalls procs K N PATH\n");
    return 2;
  }
  long long t0;
  long ops;
  if (strcmp(argv[1], "open") == 0) {
    ops = atol(argv[2]);
    t0 = now_ns();
    if (open_loop(ops, argv[3])) return 1;
  } else if (strcmp(argv[1], "stat") == 0) {
    ops = atol(argv[2]);
    struct stat st;
    t0 = now_ns();
    for (long i = 0; i < ops; i++)
      if (stat(argv[3], &st) != 0) { perror(argv[3]); return 1; }
  } else if (strcmp(argv[1], "procs") == 0 && argc >= 5) {
    int k = atoi(argv[2]);
    long n = atol(argv[3]);
    ops = (long)k * n;
    /* Children start together on a pipe so the clock covers only concurrent work. */
    int go[2];
    if (pipe(go) != 0) { perror("pipe"); return 1; }
    for (int c = 0; c < k; c++) {
      pid_t pid = fork();
      if (pid < 0) { perror("fork"); return 1; }
      if (pid == 0) {
        char b;
        close(go[1]);
        if (read(go[0], &b, 1) < 0) _exit(1);
        _exit(open_loop(n, argv[4]));
      }
    }
    close(go[0]);
    t0 = now_ns();
    close(go[1]); /* EOF releases every child at once */
    int status, bad = 0;
    while (wait(&status) > 0)
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) bad = 1;
    if (bad) { fprintf(stderr, "syscalls: a child failed\n"); return 1; }
  } else {
    fprintf(stderr, "syscalls: unknown mode %s\n", argv[1]);
    return 2;
  }
  printf("%ld %lld\n", ops, now_ns() - t0);
  return 0;
}
