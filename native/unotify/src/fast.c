/*
 * sbx-fast: what bin/sbx runs first. It starts sandboxes without starting Node when a
 * supervisor is running, and hands everything else to the Node CLI (same argv), so every
 * behaviour and error message stays in one place (src/cli):
 *
 *   sbx exec [flags] -- CMD   asks the supervisor (control socket, `exec-start`: the raw command
 *                             line, cwd and environment; src/protocol/control.ts) and runs
 *                             sbx-launch --fd on the channel of a keeper it started while the
 *                             supervisor built the policy. This process stays as the command's parent: it prints
 *                             the denial lines the supervisor sends and exits with the command's
 *                             code (128+signal when killed), like the Node `sbx exec`.
 *   sbx shell --check         0 when a session can start now (supervisor answers, launcher and
 *                             keeper present, kernel has user-notify); else the Node CLI says why.
 *   sbx shell [--follow-cd] [--] [PROG ...] `session-env` (the reply is the program's whole environment), then
 *                             execs sbx-launch --fd on the channel of a keeper it started meanwhile.
 *   sbx hook bash|zsh|fish    prints the hook text Node cached (src/hook/cache.ts) when its key
 *                             still matches; else Node renders (and caches) it.
 *
 * Anything else, and whenever in doubt (no supervisor, an old one, a refusal, a request too big,
 * inside a session), exec the Node CLI: `node <root>/bin/sbx ARGS`. It never runs a command
 * unsandboxed: the only exec of the user's command goes through sbx-launch.
 * SBX_FAST_TRACE=1 prints which path was taken ("sbx-fast: fast exec" / "sbx-fast: node: why").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SBX_NODE_PATH
#error "SBX_NODE_PATH: the absolute path of node, set by binding.gyp"
#endif

extern char **environ;

/* The control server drops a request line longer than 64 KiB (src/supervisor/daemon.ts). */
#define MAX_REQUEST (60 * 1024)
#define MAX_REPLY (4 * 1024 * 1024)
#define REPLY_TIMEOUT_MS 10000
/* After the command exits: how long to wait for the supervisor's last denial lines. It says
   {"done":true} once the command's exit has passed through the engine's events, after every
   line of the command's own calls, and ends the connection with the session; this bounds a
   supervisor that says neither (an older one, or one gone). */
#define DRAIN_TIMEOUT_MS 5000
#define EXEC_START_VERSION 3 /* src/protocol/control.ts */
#define SESSION_ENV_VERSION 4

static char g_root[PATH_MAX];      /* package root: <root>/native/unotify/build/Release/sbx-fast */
static char g_sbx[PATH_MAX + 16];  /* <root>/bin/sbx */
static char g_dir[PATH_MAX];       /* where sbx-launch and sbx-keeper are */
static int g_argc;
static char **g_argv;
static int g_trace;
static struct timespec g_t0;

static void trace(const char *fmt, ...) {
  if (!g_trace) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("sbx-fast: ", stderr);
  if (g_trace > 1) { /* SBX_FAST_TRACE=2: milliseconds since start, to see where time goes */
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    fprintf(stderr, "[%.1f ms] ", (double)(t.tv_sec - g_t0.tv_sec) * 1e3 + (double)(t.tv_nsec - g_t0.tv_nsec) / 1e6);
  }
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* sbx exec's launcher, started before the supervisor's answer (fast_exec); 0 when none. */
static pid_t g_early_launcher;

/* The Node CLI with our own argv. Never returns. */
static void node(const char *why) {
  trace("node: %s", why);
  /* An early launcher has a filter but no command yet: it must not outlive our giving up
     (its keeper then leaves without a word). */
  if (g_early_launcher > 0) {
    kill(g_early_launcher, SIGKILL);
    waitpid(g_early_launcher, NULL, 0);
    g_early_launcher = 0;
  }
  char **av = calloc((size_t)g_argc + 2, sizeof *av);
  if (!av) { fputs("sbx: out of memory\n", stderr); _exit(70); }
  av[0] = "node";
  av[1] = g_sbx;
  for (int i = 1; i < g_argc; i++) av[i + 1] = g_argv[i];
  /* The node that built sbx, by its absolute path: never a lookup on the caller's PATH, where
     a project's bin/ (direnv's PATH_add, layout node) may hold a `node` a sandbox wrote. */
  execv(SBX_NODE_PATH, av);
  fprintf(stderr, "sbx: cannot run node %s (%s): %s\nhint: reinstall sbx with the Node.js you use (npm install in %s)\n", SBX_NODE_PATH, g_sbx,
          strerror(errno), g_root);
  _exit(70);
}

static void find_root(void) {
  ssize_t n = readlink("/proc/self/exe", g_dir, sizeof g_dir - 1);
  if (n <= 0) { g_root[0] = '\0'; return; }
  g_dir[n] = '\0';
  char *s = strrchr(g_dir, '/');
  if (s) *s = '\0';
  /* build/Release (or build/Debug) → up four: native/unotify/build/<conf> */
  snprintf(g_root, sizeof g_root, "%s", g_dir);
  for (int up = 0; up < 4; up++) {
    s = strrchr(g_root, '/');
    if (!s) { g_root[0] = '\0'; return; }
    *s = '\0';
  }
  snprintf(g_sbx, sizeof g_sbx, "%s/bin/sbx", g_root);
}

/* ---- growable buffer + JSON writing ---- */

struct buf { char *p; size_t len, cap; int bad; };

static void put(struct buf *b, const char *s, size_t n) {
  if (b->bad) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (b->len + n + 1 > cap) cap *= 2;
    if (cap > MAX_REQUEST * 2) { b->bad = 1; return; }
    char *np = realloc(b->p, cap);
    if (!np) { b->bad = 1; return; }
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}
static void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }

/* Valid UTF-8 only: Node would turn anything else into U+FFFD (a different argument). */
static int utf8_ok(const unsigned char *s) {
  while (*s) {
    unsigned c = *s;
    int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0 || (n == 1 && c < 0xC2)) return 0;
    s++;
    for (int i = 0; i < n; i++, s++) if ((*s & 0xC0) != 0x80) return 0;
  }
  return 1;
}

static void put_json_str(struct buf *b, const char *s) {
  if (!utf8_ok((const unsigned char *)s)) { b->bad = 1; return; }
  put(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char esc[8];
    if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; put(b, esc, 2); }
    else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); put(b, esc, 6); }
    else put(b, (const char *)&c, 1);
  }
  put(b, "\"", 1);
}

/* ---- JSON reading: just what the replies hold (strings, string arrays, string maps) ---- */

struct json { const char *s; int err; };

static void ws(struct json *j) { while (*j->s == ' ' || *j->s == '\t' || *j->s == '\n' || *j->s == '\r') j->s++; }

static void utf8_put(struct buf *b, unsigned cp) {
  char o[4];
  size_t n;
  if (cp < 0x80) { o[0] = (char)cp; n = 1; }
  else if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
  else if (cp < 0x10000) { o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F)); n = 3; }
  else { o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F)); o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F)); n = 4; }
  put(b, o, n);
}

static int hex4(const char *s, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

/* A malloc'd string, or NULL (j->err set). A NUL inside a string is refused (no C string holds it). */
static char *jstr(struct json *j) {
  ws(j);
  if (*j->s != '"') { j->err = 1; return NULL; }
  j->s++;
  struct buf b = {0};
  put(&b, "", 0);
  while (*j->s && *j->s != '"') {
    if (*j->s != '\\') { put(&b, j->s, 1); j->s++; continue; }
    j->s++;
    char c = *j->s++;
    unsigned cp;
    switch (c) {
      case '"': case '\\': case '/': put(&b, &c, 1); break;
      case 'b': put(&b, "\b", 1); break;
      case 'f': put(&b, "\f", 1); break;
      case 'n': put(&b, "\n", 1); break;
      case 'r': put(&b, "\r", 1); break;
      case 't': put(&b, "\t", 1); break;
      case 'u':
        if (hex4(j->s, &cp) != 0) { j->err = 1; break; }
        j->s += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && j->s[0] == '\\' && j->s[1] == 'u') {
          unsigned lo;
          if (hex4(j->s + 2, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            j->s += 6;
          }
        }
        if (cp == 0) j->err = 1;
        else utf8_put(&b, cp);
        break;
      default: j->err = 1;
    }
    if (j->err) break;
  }
  if (*j->s != '"' || b.bad) j->err = 1;
  else j->s++;
  if (j->err) { free(b.p); return NULL; }
  return b.p;
}

static void jskip(struct json *j);

static void jskip_container(struct json *j, char open, char close) {
  j->s++;
  ws(j);
  if (*j->s == close) { j->s++; return; }
  for (;;) {
    if (open == '{') { free(jstr(j)); ws(j); if (*j->s != ':') { j->err = 1; return; } j->s++; }
    jskip(j);
    if (j->err) return;
    ws(j);
    if (*j->s == ',') { j->s++; continue; }
    if (*j->s == close) { j->s++; return; }
    j->err = 1;
    return;
  }
}

static void jskip(struct json *j) {
  ws(j);
  char c = *j->s;
  if (c == '"') free(jstr(j));
  else if (c == '{') jskip_container(j, '{', '}');
  else if (c == '[') jskip_container(j, '[', ']');
  else if (c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n') {
    while (*j->s && strchr("-+.eE0123456789truefalsn", *j->s)) j->s++;
  } else j->err = 1;
}

/* A NULL-terminated array: ["a","b"] → {"a","b",NULL}. */
static char **jlist(struct json *j) {
  ws(j);
  if (*j->s != '[') { j->err = 1; return NULL; }
  j->s++;
  size_t n = 0, cap = 16;
  char **v = malloc(cap * sizeof *v);
  if (!v) { j->err = 1; return NULL; }
  ws(j);
  if (*j->s == ']') j->s++;
  else for (;;) {
    char *item = jstr(j);
    if (!item) break;
    if (n + 2 > cap) { cap *= 2; char **nv = realloc(v, cap * sizeof *v); if (!nv) { j->err = 1; free(item); break; } v = nv; }
    v[n++] = item;
    ws(j);
    if (*j->s == ',') { j->s++; continue; }
    if (*j->s == ']') { j->s++; break; }
    j->err = 1;
    break;
  }
  v[n] = NULL;
  return v;
}

/* The fields of one reply object we care about (unknown keys are skipped). */
struct reply {
  char *fallback, *error, *session, *keeper, *say;
  char **env, **warnings, **argv;
  int ok, done;
};

static void free_list(char **v) {
  for (char **p = v; p && *p; p++) free(*p);
  free(v);
}

/* What parse_reply allocated: every denial line of a long `sbx exec` is one reply. */
static void free_reply(struct reply *r) {
  free(r->fallback);
  free(r->error);
  free(r->session);
  free(r->keeper);
  free(r->say);
  free_list(r->env);
  free_list(r->warnings);
  free_list(r->argv);
  memset(r, 0, sizeof *r);
}

static int parse_reply(const char *line, struct reply *r) {
  memset(r, 0, sizeof *r);
  struct json j = { line, 0 };
  ws(&j);
  if (*j.s != '{') return -1;
  j.s++;
  ws(&j);
  if (*j.s == '}') return 0;
  for (;;) {
    char *key = jstr(&j);
    if (!key) return -1;
    ws(&j);
    if (*j.s != ':') { free(key); return -1; }
    j.s++;
    ws(&j);
    if (!strcmp(key, "fallback")) r->fallback = jstr(&j);
    else if (!strcmp(key, "error")) r->error = jstr(&j);
    else if (!strcmp(key, "session")) r->session = jstr(&j);
    else if (!strcmp(key, "keeper")) r->keeper = jstr(&j);
    else if (!strcmp(key, "say")) r->say = jstr(&j);
    else if (!strcmp(key, "env")) r->env = jlist(&j);
    else if (!strcmp(key, "warnings")) r->warnings = jlist(&j);
    else if (!strcmp(key, "argv")) r->argv = jlist(&j);
    else if (!strcmp(key, "ok")) { r->ok = *j.s == 't'; jskip(&j); }
    else if (!strcmp(key, "done")) { r->done = *j.s == 't'; jskip(&j); }
    else jskip(&j);
    free(key);
    if (j.err) return -1;
    ws(&j);
    if (*j.s == ',') { j.s++; ws(&j); continue; }
    if (*j.s == '}') return 0;
    return -1;
  }
}

/* ---- the control socket ---- */

/*
 * The runtime and state dirs, by the rules of src/policy/paths.ts (runtimeDir, stateDir), which
 * the client must follow to find the socket and the hook cache before any Node runs:
 *   runtime: $XDG_RUNTIME_DIR/sbx if absolute, else /tmp/sbx-$UID;
 *   state:   $XDG_STATE_HOME/sbx if absolute, else $HOME/.local/state/sbx (HOME absolute; Node
 *            would then ask the passwd file: we leave that case to it).
 * Joined and normalized as node's path.join does ("." and ".." segments, doubled and trailing
 * slashes). test/integration/fast-paths.test.ts runs both over varied environments.
 */
static int join_normalized(char *out, size_t size, const char *base, const char *tail) {
  char in[PATH_MAX * 2];
  int n = snprintf(in, sizeof in, "%s/%s", base, tail);
  if (n <= 0 || (size_t)n >= sizeof in || size < 2) return -1;
  size_t len = 0;
  out[len++] = '/';
  for (char *seg = strtok(in, "/"); seg; seg = strtok(NULL, "/")) {
    if (!strcmp(seg, ".")) continue;
    if (!strcmp(seg, "..")) { /* drop the last segment (never above /) */
      while (len > 1 && out[len - 1] != '/') len--;
      if (len > 1) len--;
      continue;
    }
    size_t sl = strlen(seg);
    if (len + (len > 1) + sl + 1 > size) return -1;
    if (len > 1) out[len++] = '/';
    memcpy(out + len, seg, sl);
    len += sl;
  }
  out[len] = '\0';
  return 0;
}

static int runtime_dir(char *out, size_t size) {
  const char *x = getenv("XDG_RUNTIME_DIR");
  int r;
  if (x && x[0] == '/') r = join_normalized(out, size, x, "sbx");
  else {
    int n = snprintf(out, size, "/tmp/sbx-%u", (unsigned)getuid());
    r = n > 0 && (size_t)n < size ? 0 : -1;
  }
  if (r == 0) trace("runtime dir %s", out);
  return r;
}

static int state_dir(char *out, size_t size) {
  const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
  int r = x && x[0] == '/' ? join_normalized(out, size, x, "sbx")
        : home && home[0] == '/' ? join_normalized(out, size, home, ".local/state/sbx") : -1;
  if (r == 0) trace("state dir %s", out);
  return r;
}

/* Connected control socket, or -1 (nobody listens: the Node CLI starts a supervisor). */
static int control_connect(void) {
  char dir[PATH_MAX];
  if (runtime_dir(dir, sizeof dir) != 0) return -1;
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  if ((size_t)snprintf(a.sun_path, sizeof a.sun_path, "%s/control.sock", dir) >= sizeof a.sun_path) return -1;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { close(fd); return -1; }
  return fd;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Line reader over the control socket. */
struct lines { int fd; struct buf in; size_t start; int eof; };

/* 1 = a line (NUL-terminated, valid until the next call), 0 = EOF/timeout/error. */
static int next_line(struct lines *l, char **line, int timeout_ms) {
  long long deadline = now_ms() + timeout_ms;
  for (;;) {
    if (l->in.p) {
      char *nl = memchr(l->in.p + l->start, '\n', l->in.len - l->start);
      if (nl) {
        *nl = '\0';
        *line = l->in.p + l->start;
        l->start = (size_t)(nl - l->in.p) + 1;
        return 1;
      }
    }
    if (l->eof) return 0;
    if (l->start > 0) { /* compact */
      memmove(l->in.p, l->in.p + l->start, l->in.len - l->start);
      l->in.len -= l->start;
      l->start = 0;
    }
    long long left = deadline - now_ms();
    if (left < 0) left = 0; /* still look once: timeout 0 = what is there now */
    struct pollfd p = { l->fd, POLLIN, 0 };
    int r = poll(&p, 1, (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    char chunk[65536];
    ssize_t n = read(l->fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) { l->eof = 1; continue; }
    if (l->in.len + (size_t)n > MAX_REPLY) return 0;
    /* put() caps at 2*MAX_REQUEST: grow by hand for replies */
    if (l->in.len + (size_t)n + 1 > l->in.cap) {
      size_t cap = l->in.cap ? l->in.cap : 65536;
      while (l->in.len + (size_t)n + 1 > cap) cap *= 2;
      char *np = realloc(l->in.p, cap);
      if (!np) return 0;
      l->in.p = np;
      l->in.cap = cap;
    }
    memcpy(l->in.p + l->in.len, chunk, (size_t)n);
    l->in.len += (size_t)n;
    l->in.p[l->in.len] = '\0';
  }
}

/* ---- shared checks ---- */

/* True when this process already runs under a seccomp filter (inside a session or sandbox). */
static int inside_filter(void) {
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 1; /* unknown: let Node decide */
  char b[8192];
  ssize_t n = read(fd, b, sizeof b - 1);
  close(fd);
  if (n <= 0) return 1;
  b[n] = '\0';
  char *p = strstr(b, "\nSeccomp_filters:");
  if (!p) return 0;
  return atoi(p + 17) > 0;
}

static int have_natives(void) {
  char p[PATH_MAX + 32];
  snprintf(p, sizeof p, "%s/sbx-launch", g_dir);
  if (access(p, X_OK) != 0) return 0;
  snprintf(p, sizeof p, "%s/sbx-keeper", g_dir);
  return access(p, X_OK) == 0;
}

/* ---- the session's keeper, started before the supervisor is asked ---- */

/* A session id like the supervisor's (src/platform/linux/shell.ts newSessionId). */
static int new_session_id(char *out, size_t size) {
  unsigned char rnd[5];
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) return -1;
  snprintf(out, size, "s%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4]);
  return 0;
}

/*
 * Starts sbx-keeper for `session` (double fork: not our child, out of our session) and
 * returns our end of its channel, the one `sbx-launch --fd` takes. The keeper runs while the
 * supervisor builds the policy instead of after (it used to be started by the launcher, which
 * waited for its exec). It learns the session root from the kernel (SO_PASSCRED, set here
 * before anyone can send): the process that sends it the listener. If we fall back to Node
 * instead, our end closes at that exec and the keeper leaves without a word.
 */
static int start_keeper(const char *session, const char *keeper_sock, int exec, pid_t *mid_out) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return -1;
  int on = 1;
  if (setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) { close(sv[0]); close(sv[1]); return -1; }
  char keeper[PATH_MAX + 16];
  snprintf(keeper, sizeof keeper, "%s/sbx-keeper", g_dir);
  pid_t mid = fork();
  if (mid < 0) { close(sv[0]); close(sv[1]); return -1; }
  if (mid == 0) {
    if (fork() != 0) _exit(0);
    setsid();
    int kfd = fcntl(sv[1], F_DUPFD, 3); /* without CLOEXEC: the keeper inherits it */
    if (kfd < 0) _exit(1);
    char fdarg[16], sess[64];
    snprintf(fdarg, sizeof fdarg, "%d", kfd);
    snprintf(sess, sizeof sess, "SBX_SESSION=%s", session);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) { dup2(devnull, 0); dup2(devnull, 1); if (devnull > 2) close(devnull); }
    /* Our environment (a supervisor it may have to start gets the user's, as from `sbx daemon
       start`), with the session id it registers. */
    size_t ne = 0;
    while (environ[ne]) ne++;
    char **env = calloc(ne + 2, sizeof *env);
    if (!env) _exit(1);
    size_t k = 0;
    for (size_t i = 0; i < ne; i++) if (strncmp(environ[i], "SBX_SESSION=", 12) != 0) env[k++] = environ[i];
    env[k++] = sess;
    env[k] = NULL;
    char *argv[] = { "sbx-keeper", "--listener-fd", fdarg, "--session", (char *)keeper_sock,
                     "--sbx", g_sbx, "--root-pid", "peer", exec ? "--exec" : NULL, NULL };
    execve(keeper, argv, env);
    fprintf(stderr, "sbx: cannot run %s: %s\n", keeper, strerror(errno));
    _exit(126);
  }
  close(sv[1]);
  /* The intermediate child is reaped by the caller when it must be (before exec'ing the
     launcher: a shell must not inherit a child it did not start), not now: waiting here put
     two forks and an exit on the path the supervisor's reply is waiting on. */
  *mid_out = mid;
  return sv[0];
}

/* ---- sbx exec ---- */

static volatile sig_atomic_t g_child;
static int g_sigpipe[2] = { -1, -1 };

static void on_forward(int sig) { if (g_child > 0) kill((pid_t)g_child, sig); }
/* A terminal may be raw while the launcher relays a pty for the command (pty_relay.c): a
   bare \n would not return the cursor there. */
static const char *g_eol = "\n";
static void on_chld(int sig) { (void)sig; int e = errno; (void)!write(g_sigpipe[1], "c", 1); errno = e; }

/* The JSON array elements of our environment ("K=V" strings). */
static void put_environ(struct buf *req) {
  for (char **e = environ; *e; e++) { if (e != environ) puts_(req, ","); put_json_str(req, *e); }
}

/* Sends a finished request (its size checked by the caller) to the supervisor, then starts the session's keeper while it works
   on it. Returns the connection; the keeper's channel in *kfd (CLOEXEC: a fallback to Node
   closes it, and the keeper leaves). Falls back to Node when either fails. */
static int send_and_start_keeper(struct buf *req, const char *session, const char *keeper_sock, int exec, pid_t *mid,
                                 int *kfd) {
  int fd = control_connect();
  if (fd < 0) node("no supervisor answers");
  if (write_all(fd, req->p, req->len) != 0) node("the supervisor hung up");
  free(req->p);
  trace("request sent");
  *kfd = start_keeper(session, keeper_sock, exec, mid);
  if (*kfd < 0) node("cannot start the keeper");
  trace("keeper started");
  return fd;
}

/* `sbx-launch --fd KFD -- PROG...` in `launcher` and `kfdarg` (the caller's buffers, PATH_MAX
   + 16 and 16 bytes): the keeper's channel relays the listener and the ack. NULL: out of memory. */
static char **launcher_argv(char *launcher, char *kfdarg, int kfd, char **prog) {
  snprintf(launcher, PATH_MAX + 16, "%s/sbx-launch", g_dir);
  snprintf(kfdarg, 16, "%d", kfd);
  size_t n = 0;
  while (prog[n]) n++;
  char **av = calloc(n + 6, sizeof *av);
  if (!av) return NULL;
  size_t k = 0;
  av[k++] = launcher;
  av[k++] = "--close-fds"; /* a session's program starts with stdio only */
  av[k++] = "--fd";
  av[k++] = kfdarg;
  av[k++] = "--";
  for (size_t i = 0; i < n; i++) av[k++] = prog[i];
  av[k] = NULL;
  return av;
}

/* The command for `sbx-launch --cmd-fd`: each argv string NUL-terminated, an empty one, then
   each environment string NUL-terminated (launcher.c read_command). 0, or -1 when the
   launcher is gone. */
static int write_command(int fd, char **argv, char **env) {
  struct buf b = {0};
  for (char **a = argv; *a; a++) put(&b, *a, strlen(*a) + 1);
  put(&b, "", 1);
  for (char **e = env; *e; e++) put(&b, *e, strlen(*e) + 1);
  int r = b.bad ? -1 : 0;
  for (size_t off = 0; r == 0 && off < b.len;) {
    ssize_t w = write(fd, b.p + off, b.len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) r = -1;
    else off += (size_t)w;
  }
  free(b.p);
  return r;
}

static int fast_exec(int argc, char **argv) {
  /* A session's processes cannot reach the supervisor (its socket is in every policy's floor):
     Node's `sbx exec` says what happens there. */
  if (getenv("SBX_SESSION") || inside_filter()) node("inside a session or a seccomp filter");
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) node("no working directory");
  if (!have_natives()) node("launcher or keeper missing");
  char session[16], dir[PATH_MAX], keeper_sock[PATH_MAX + 16];
  if (new_session_id(session, sizeof session) != 0) node("getrandom failed");
  if (runtime_dir(dir, sizeof dir) != 0) node("runtime dir too long");
  snprintf(keeper_sock, sizeof keeper_sock, "%s/keeper.sock", dir);

  struct buf req = {0};
  puts_(&req, "{\"cmd\":\"exec-start\",\"v\":");
  char v[16];
  snprintf(v, sizeof v, "%d", EXEC_START_VERSION);
  puts_(&req, v);
  puts_(&req, ",\"session\":\"");
  puts_(&req, session);
  puts_(&req, "\",\"cwd\":");
  put_json_str(&req, cwd);
  puts_(&req, ",\"args\":[");
  for (int i = 0; i < argc; i++) { if (i) puts_(&req, ","); put_json_str(&req, argv[i]); }
  puts_(&req, "],\"env\":[");
  put_environ(&req);
  puts_(&req, "]}\n");
  if (req.bad || req.len > MAX_REQUEST) node("request too large or not UTF-8");

  /* The keeper and the launcher start while the supervisor builds the policy: the launcher
     installs the filter and hands the listener to the keeper, whose registration waits for
     the policy (--exec); the command reaches the launcher through `cmd` once answered. */
  pid_t mid;
  int kfd;
  int fd = send_and_start_keeper(&req, session, keeper_sock, 1, &mid, &kfd);
  int cmd[2];
  if (pipe2(cmd, O_CLOEXEC) != 0) node("pipe failed");
  char launcher[PATH_MAX + 16], kfdarg[16], cmdarg[16];
  snprintf(launcher, sizeof launcher, "%s/sbx-launch", g_dir);
  snprintf(kfdarg, sizeof kfdarg, "%d", kfd);
  snprintf(cmdarg, sizeof cmdarg, "%d", cmd[0]);
  char *av[] = { launcher, "--fd", kfdarg, "--cmd-fd", cmdarg, "--", NULL };
  pid_t pid = fork();
  if (pid < 0) node("fork failed");
  if (pid == 0) {
    /* Both inherited (the launcher marks them CLOEXEC itself). */
    fcntl(kfd, F_SETFD, 0);
    fcntl(cmd[0], F_SETFD, 0);
    execve(launcher, av, environ);
    fprintf(stderr, "sbx: cannot run %s: %s\n", launcher, strerror(errno));
    _exit(126);
  }
  g_early_launcher = pid;
  close(cmd[0]);
  /* Only the launcher holds the channel now: if it dies before sending, the keeper sees EOF. */
  close(kfd);
  trace("launcher started");

  struct lines l = { .fd = fd };
  char *line;
  if (!next_line(&l, &line, REPLY_TIMEOUT_MS)) node("no reply from the supervisor");
  trace("exec-start answered");
  struct reply r;
  if (parse_reply(line, &r) != 0) node("malformed reply");
  if (r.fallback) node(r.fallback);
  if (r.error) node(r.error); /* e.g. an older supervisor: unknown request 'exec-start' */
  if (!r.session || !r.env || !r.argv || !r.argv[0]) node("incomplete reply");
  if (strcmp(r.session, session) != 0) node("the supervisor answered for another session");
  trace("fast exec: session %s", r.session);
  for (char **w = r.warnings; w && *w; w++) fprintf(stderr, "sbx: warning: %s\n", *w);

  /* From here on we are committed: the launcher runs the command sandboxed or exits 126. */
  g_early_launcher = 0;
  if (pipe2(g_sigpipe, O_CLOEXEC | O_NONBLOCK) != 0) { perror("sbx: pipe"); return 70; }
  /* Like a shell: ^C and ^\ go to the command (same process group), not to us. A launcher
     gone before reading its command is seen by waitpid, not as SIGPIPE. */
  struct sigaction ign = { .sa_handler = SIG_IGN }, fwd = { .sa_handler = on_forward }, chld = { .sa_handler = on_chld, .sa_flags = SA_NOCLDSTOP };
  sigaction(SIGCHLD, &chld, NULL);
  sigaction(SIGINT, &ign, NULL);
  sigaction(SIGQUIT, &ign, NULL);
  sigaction(SIGPIPE, &ign, NULL);
  sigaction(SIGTERM, &fwd, NULL);
  sigaction(SIGHUP, &fwd, NULL);
  g_child = pid;
  if (isatty(2)) g_eol = "\r\n";
  /* The keeper's intermediate child (it forks and exits at once) is reaped before the command
     can run: as an unreaped zombie in the command's process group, neither ours nor the
     session's, it made the engine refuse the command's `kill 0` (seen under load). */
  while (waitpid(mid, NULL, 0) < 0 && errno == EINTR) {}
  if (write_command(cmd[1], r.argv, r.env) != 0) trace("the launcher did not take its command");
  close(cmd[1]);

  /* Print denial lines until the command exits, then until the supervisor says it sent the
     last of them (or the session ends). */
  int status = 0, exited = 0, done = 0;
  long long drain_until = 0;
  for (;;) {
    if (!exited) {
      pid_t w = waitpid(pid, &status, WNOHANG);
      if (w == pid) { exited = 1; drain_until = now_ms() + DRAIN_TIMEOUT_MS; trace("command exited"); }
    }
    /* Lines already buffered first. */
    while (!done && l.in.p && memchr(l.in.p + l.start, '\n', l.in.len - l.start) && next_line(&l, &line, 0)) {
      struct reply s;
      if (parse_reply(line, &s) == 0 && s.say) fprintf(stderr, "%s%s", s.say, g_eol);
      done = done || s.done;
      free_reply(&s);
    }
    if (exited && (l.eof || done || now_ms() >= drain_until)) break;
    struct pollfd p[2] = { { l.eof ? -1 : fd, POLLIN, 0 }, { g_sigpipe[0], POLLIN, 0 } };
    int timeout = exited ? (int)(drain_until - now_ms()) : -1;
    if (exited && timeout < 0) timeout = 0;
    int pr = poll(p, 2, timeout);
    if (pr < 0 && errno != EINTR) break;
    if (pr > 0 && (p[1].revents & POLLIN)) { char c[64]; while (read(g_sigpipe[0], c, sizeof c) > 0) {} }
    if (pr > 0 && p[0].revents) {
      if (next_line(&l, &line, 0)) {
        struct reply s;
        if (parse_reply(line, &s) == 0 && s.say) fprintf(stderr, "%s%s", s.say, g_eol);
        done = done || s.done;
        free_reply(&s);
      }
    }
  }
  trace(l.eof ? "session ended" : "gave up waiting for the session's end");
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 70;
}

/* ---- sbx shell ---- */

/* /proc/sys/kernel/seccomp/actions_avail names user_notif: the kernel can serve sessions. */
static int kernel_notifies(void) {
  int fd = open("/proc/sys/kernel/seccomp/actions_avail", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char b[512];
  ssize_t n = read(fd, b, sizeof b - 1);
  close(fd);
  if (n <= 0) return 0;
  b[n] = '\0';
  return strstr(b, "user_notif") != NULL;
}

static int supervisor_answers(void) {
  int fd = control_connect();
  if (fd < 0) return 0;
  const char *ping = "{\"cmd\":\"ping\"}\n";
  struct lines l = { .fd = fd };
  char *line;
  struct reply r;
  int ok = write_all(fd, ping, strlen(ping)) == 0 && next_line(&l, &line, REPLY_TIMEOUT_MS) && parse_reply(line, &r) == 0 && r.ok;
  close(fd);
  return ok;
}

/* Why a session cannot start now, or NULL when it can: what `shell --check` answers. */
static const char *why_no_session(void) {
  if (getenv("SBX_SESSION")) return "inside a session";
  if (!have_natives()) return "launcher or keeper missing";
  if (!kernel_notifies()) return "the kernel does not list user_notif";
  if (!supervisor_answers()) return "no supervisor answers";
  return NULL;
}

static void fast_check(void) {
  const char *why = why_no_session();
  if (why) node(why); /* Node says it in the user's words, with the fix */
  trace("fast shell --check");
  exit(0);
}

static void fast_shell(int argc, char **argv) {
  if (getenv("SBX_SESSION") && inside_filter()) node("already inside a session");
  int i = 0, follow = 0;
  if (i < argc && strcmp(argv[i], "--follow-cd") == 0) follow = 1, i++;
  if (i < argc && strcmp(argv[i], "--") == 0) i++;
  else if (i < argc && argv[i][0] == '-') node("an option the fast path does not know");
  /* Only the user's interactive shell follows cd: the hook's (--follow-cd) or $SHELL (no PROGRAM). */
  if (i >= argc) follow = 1;
  if (!have_natives()) node("launcher or keeper missing");

  char session[16], dir[PATH_MAX], keeper_sock[PATH_MAX + 16];
  if (new_session_id(session, sizeof session) != 0) node("getrandom failed");
  if (runtime_dir(dir, sizeof dir) != 0) node("runtime dir too long");
  snprintf(keeper_sock, sizeof keeper_sock, "%s/keeper.sock", dir);

  /* Our whole environment: the supervisor answers with the program's finished one
     (src/supervisor/launch-environment.ts), which we apply as given. */
  struct buf req = {0};
  char v[16];
  snprintf(v, sizeof v, "%d", SESSION_ENV_VERSION);
  puts_(&req, "{\"cmd\":\"session-env\",\"v\":");
  puts_(&req, v);
  puts_(&req, ",\"session\":\"");
  puts_(&req, session);
  /* Where the program starts: its policy's env rules filter the env (not a hook's shell's). */
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) node("no working directory");
  puts_(&req, "\",\"cwd\":");
  put_json_str(&req, cwd);
  puts_(&req, ",\"env\":[");
  put_environ(&req);
  puts_(&req, follow ? "],\"follows\":true}\n" : "],\"follows\":false}\n");
  if (req.bad || req.len > MAX_REQUEST) node("environment too large or not UTF-8");

  /* The keeper starts while the supervisor starts the session's proxy. */
  pid_t mid;
  int kfd;
  int fd = send_and_start_keeper(&req, session, keeper_sock, 0, &mid, &kfd);
  struct lines l = { .fd = fd };
  char *line;
  struct reply r;
  if (!next_line(&l, &line, REPLY_TIMEOUT_MS) || parse_reply(line, &r) != 0 || r.error || !r.env)
    node("session-env failed");
  close(fd);
  for (char **w = r.warnings; w && *w; w++) fprintf(stderr, "sbx: %s\n", *w);

  const char *shell = getenv("SHELL");
  char *def[2] = { (char *)(shell && *shell ? shell : "/bin/sh"), NULL };
  char launcher[PATH_MAX + 16], kfdarg[16];
  char **av = launcher_argv(launcher, kfdarg, kfd, i < argc ? &argv[i] : def); /* we become the session root */
  if (!av) node("out of memory");
  trace("fast shell: session %s", session);
  int status;
  while (waitpid(mid, &status, 0) < 0 && errno == EINTR) {}
  fcntl(kfd, F_SETFD, 0);
  execve(launcher, av, r.env);
  /* The launcher is there (checked): this is rare. The hook says NOT sandboxed when exec fails. */
  fprintf(stderr, "sbx: cannot run %s: %s\n", launcher, strerror(errno));
  _exit(126);
}

/* ---- sbx hook SHELL: the cached text (src/hook/cache.ts writes it; this reads it) ---- */

/* "<ino>:<size>:<mtime ns>" of a file, as src/hook/cache.ts stamps it. */
static int stamp(const char *path, char *out, size_t size) {
  struct stat st;
  if (stat(path, &st) != 0) return -1;
  snprintf(out, size, "%llu:%lld:%lld%09ld", (unsigned long long)st.st_ino, (long long)st.st_size,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  return 0;
}

static void fast_hook(const char *shell) {
  if (strcmp(shell, "bash") && strcmp(shell, "zsh") && strcmp(shell, "fish")) node("unknown hook shell");
  /* Functions exported to bash may stand in for the builtins the hook runs: Node checks which. */
  if (strcmp(shell, "bash") == 0)
    for (char **e = environ; *e; e++)
      if (strncmp(*e, "BASH_FUNC_", 10) == 0) node("exported bash functions");
  char state[PATH_MAX], path[PATH_MAX + 64];
  if (state_dir(state, sizeof state) != 0) node("no state dir");
  snprintf(path, sizeof path, "%s/hook-cache/%s", state, shell);
  /* Its text runs in every new terminal, outside the sandbox: only a file of ours nobody else can write. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) node("no cached hook text");
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 022) || st.st_size > 1024 * 1024)
    node("cached hook text not a private file");
  char *text = malloc((size_t)st.st_size + 1);
  if (!text) node("out of memory");
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) node("short read of the cached hook text");
    got += (size_t)n;
  }
  text[got] = '\0';
  close(fd);
  /* First line: "# sbx-hook-cache <key>\n"; the key says what the text was made from. */
  char *nl = strchr(text, '\n');
  if (strncmp(text, "# sbx-hook-cache ", 17) != 0 || !nl) node("cached hook text has no key");
  *nl = '\0';
  char bin[PATH_MAX], tmpl[PATH_MAX + 32], pkg[PATH_MAX + 32], ts[96], ps[96], key[PATH_MAX + 256];
  if (!realpath(g_sbx, bin)) node("bin/sbx has no real path");
  snprintf(tmpl, sizeof tmpl, "%s/shells/sbx.%s", g_root, shell);
  snprintf(pkg, sizeof pkg, "%s/package.json", g_root);
  if (stamp(tmpl, ts, sizeof ts) != 0 || stamp(pkg, ps, sizeof ps) != 0) node("cannot stamp the template");
  snprintf(key, sizeof key, "%s %s %s %s", shell, bin, ts, ps);
  if (strcmp(text + 17, key) != 0) node("cached hook text is stale");
  const char *body = nl + 1;
  size_t left = got - (size_t)(body - text);
  /* A shell about to enter a session would run `sbx shell --check` next (one more process, a
     few ms of every new terminal): say now that the check passed, for the shell that runs us
     (`$(sbx hook bash)`, `sbx hook fish | source`: our parent). The hook skips its own check
     only when the line names its own pid, so text saved once and sourced later (a cache such
     as zsh's evalcache) makes it check again: a session that cannot start then says why
     instead of closing the terminal. Without the line (Node printed the hook) it checks. */
  if (!why_no_session()) {
    char ready[64];
    int len = snprintf(ready, sizeof ready, strcmp(shell, "fish") == 0 ? "set -g __sbx_ready %d\n" : "__sbx_ready=%d\n", (int)getppid());
    if (write(1, ready, (size_t)len) != len) exit(1);
    trace("hook: a session can start");
  }
  while (left > 0) {
    ssize_t w = write(1, body, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) exit(1);
    body += w;
    left -= (size_t)w;
  }
  trace("fast hook %s", shell);
  exit(0);
}

int main(int argc, char **argv) {
  g_argc = argc;
  g_argv = argv;
  const char *t = getenv("SBX_FAST_TRACE");
  g_trace = t && *t && strcmp(t, "0") != 0 ? (strcmp(t, "2") == 0 ? 2 : 1) : 0;
  clock_gettime(CLOCK_MONOTONIC, &g_t0);
  find_root();
  if (!g_root[0]) {
    fputs("sbx: cannot find the sbx package root from /proc/self/exe\n", stderr);
    return 70;
  }
  const char *off = getenv("SBX_NO_FAST");
  if (off && *off && strcmp(off, "0") != 0) node("SBX_NO_FAST is set");
  if (argc >= 2 && strcmp(argv[1], "exec") == 0) return fast_exec(argc - 2, argv + 2);
  if (argc == 3 && strcmp(argv[1], "hook") == 0) fast_hook(argv[2]);
  if (argc == 3 && strcmp(argv[1], "shell") == 0 && strcmp(argv[2], "--check") == 0) fast_check();
  if (argc >= 2 && strcmp(argv[1], "shell") == 0) fast_shell(argc - 2, argv + 2);
  node("not a fast-path command");
}
