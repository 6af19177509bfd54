/* syscalls: tight loops of one syscall, for per-call cost and decisions per second.
 *   syscalls open  N PATH     N × open(PATH)+close (open is trapped by sbx)
 *   syscalls stat  N PATH     N × stat(PATH)       (not trapped: should cost nothing extra)
 *   syscalls procs K N PATH   K processes each doing N open+close at once
 *   syscalls accept N -       N TCP connections on loopback, one at a time: a child
 *                             connects and closes, this process accepts (accept and
 *                             connect are trapped by sbx) and closes
 *   syscalls accept-poll N -  the same, but poll() for the client before each accept
 *                             (Python's socketserver and others serve so)
 * Prints one line "<ops> <ns>" (operations done, wall time of the loop alone). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
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

/* The child connects n times in a row; each connection is accepted before the next. */
static int accept_loop(long n, int poll_first) {
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 64) || getsockname(l, (struct sockaddr *)&a, &al)) {
    perror("listen");
    return 1;
  }
  int ack[2];
  if (pipe(ack) != 0) { perror("pipe"); return 1; }
  pid_t pid = fork();
  if (pid == 0) {
    for (long i = 0; i < n; i++) {
      int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) != 0) _exit(1);
      close(c);
      char b;
      if (read(ack[0], &b, 1) != 1) _exit(1);
    }
    _exit(0);
  }
  for (long i = 0; i < n; i++) {
    struct pollfd p = {l, POLLIN, 0};
    if (poll_first && poll(&p, 1, -1) != 1) { perror("poll"); return 1; }
    int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) { perror("accept"); return 1; }
    close(c);
    if (write(ack[1], "x", 1) != 1) return 1;
  }
  int status;
  waitpid(pid, &status, 0);
  return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: syscalls open|stat N PATH | syscalls procs K N PATH | syscalls accept|accept-poll N -\n");
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
  } else if (strcmp(argv[1], "accept") == 0 || strcmp(argv[1], "accept-poll") == 0) {
    ops = atol(argv[2]);
    t0 = now_ns();
    if (accept_loop(ops, strcmp(argv[1], "accept-poll") == 0)) return 1;
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
