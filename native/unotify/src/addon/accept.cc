// accept/accept4, performed by the engine on its own copy of the listening socket, the new
// connection injected like an opened file (two steps, sys.cc reply_addfd).
//
// Why ours: a client outside the sandbox trusts the server its socket name leads to (tmux's
// `detach-client -E CMD` makes the client run CMD where the client runs; an editor's server
// feeds its client; an agent signs for it). A program inside that binds a name before the
// real server does would get the next client outside. So a connection to a Unix socket is
// handed to a sandboxed server only when it was made from inside — the engine performs
// every connect of a sandboxed process (net.cc), so such a connection's peer credentials
// name this very process — or when the listening socket is named in net.unix.allow. Any
// other is closed unread and reported; the server goes on waiting. Inet connections are not
// decided here (serving them was decided at bind/listen), but they are accepted by us too:
// after a check, a racing dup2 could put a Unix listener under the number a CONTINUE uses.
//
// A blocking accept waits on a helper thread (run_call). The program waits in the kernel
// meanwhile, and the listener waits killably (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV): a
// signal with a handler, or a stop, would stay pending until a client came. So the helper
// looks every kTick at the program's pending signals and gives the call back as the kernel
// would (ERESTARTSYS: restarted after a handler with SA_RESTART or a stop, EINTR otherwise).
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>

#include "engine.h"
#include "memory.h"
#include "net_registry.h"
#include "net_socket.h"

#ifndef ERESTARTSYS
#define ERESTARTSYS 512  // the kernel's "restart or EINTR, by the handler's SA_RESTART"
#endif

namespace sbx {

namespace {

constexpr int kTickMs = 100;
// Refused clients dropped in one call of a non-blocking accept before it answers EAGAIN: a
// flood from outside cannot hold a receiver thread.
constexpr int kMaxDroppedPerCall = 64;

struct AcceptCall {
  int flags = 0;            // SOCK_NONBLOCK | SOCK_CLOEXEC as asked
  uint64_t addr = 0;        // where the peer's address goes (0: nowhere)
  uint64_t addrlen = 0;     // its in/out length
  socklen_t room = 0;       // *addrlen as read
};

// Was this connection made by a sandboxed process? Their connects are ours (net.cc).
bool made_inside(int conn) {
  ucred c{};
  socklen_t l = sizeof c;
  return getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &c, &l) == 0 && c.pid == getpid();
}

// The listener's name as policies name sockets: "@abstract", or the socket file's path now
// (the engine bound it from inside its directory, so getsockname has only the last name).
std::string listener_name(Notif& n, int sock) {
  sockaddr_un un{};
  socklen_t l = sizeof un;
  if (getsockname(sock, reinterpret_cast<sockaddr*>(&un), &l) < 0) return "";
  size_t plen = l > offsetof(sockaddr_un, sun_path) ? l - offsetof(sockaddr_un, sun_path) : 0;
  if (plen == 0) return "";
  if (un.sun_path[0] == '\0') {
    std::string name = "@" + std::string(un.sun_path + 1, plen - 1);
    while (name.size() > 1 && name.back() == '\0') name.pop_back();
    return name;
  }
  UnixDiag d;
  if (unix_diag_of(sock, d) && d.has_vfs) {
    // udiag_vfs_dev is the kernel's own dev_t (a 12-bit major above a 20-bit minor).
    std::string p = n.core->served().path_of(makedev(d.vfs_dev >> 20, d.vfs_dev & 0xfffff), d.vfs_ino);
    if (!p.empty()) return p;
  }
  std::string path(un.sun_path, strnlen(un.sun_path, plen));
  return path[0] == '/' ? path : "";
}

// May a client outside reach this listener? Only one named in net.unix.allow.
bool outside_named(Notif& n, int sock, std::string& name) {
  name = listener_name(n, sock);
  return !name.empty() && decide_unix_all(n, name).kind == UnixName::kNamed;
}

// One accept on our copy. Returns the connection, -errno, or kDropped (a client outside
// was refused: closed, reported).
constexpr int kDropped = -100000;
int accept_one(Notif& n, const Sock& s, const AcceptCall& call, sockaddr_storage& peer, socklen_t& plen) {
  plen = sizeof peer;
  int c = accept4(s.fd.get(), reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_CLOEXEC | (call.flags & SOCK_NONBLOCK));
  if (c < 0) return -errno;
  if (s.domain != AF_UNIX || made_inside(c)) return c;
  std::string name;
  if (outside_named(n, s.fd.get(), name)) return c;
  ucred cred{};
  socklen_t l = sizeof cred;
  getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &l);
  close(c);
  std::string who = cred.pid > 0 ? "pid " + std::to_string(cred.pid) + " (" + program_of(cred.pid) + ")" : "a process in another namespace";
  report_refusal(n, Decision{false, -2}, "unix",
                 (name.empty() ? std::string("an unnamed socket") : name) + " (a client outside this sandbox: " + who +
                     "; a server inside serves it only when named in net.unix.allow)",
                 ECONNABORTED);
  return kDropped;
}

// The peer's address as the kernel writes it (at most *addrlen bytes, the full length back),
// then the connection injected. Answers the notification.
void deliver(Notif& n, const AcceptCall& call, int conn, const sockaddr_storage& peer, socklen_t plen) {
  if (call.addr) {
    size_t copy = plen < call.room ? plen : call.room;
    if ((copy && write_mem(n.caller.tid, call.addr, &peer, copy) < 0) ||
        write_mem(n.caller.tid, call.addrlen, &plen, sizeof plen) < 0) {
      close(conn);
      return void(reply_error(n.listener(), n.req.id, EFAULT));
    }
  }
  reply_fd(n.listener(), n.req.id, conn, call.flags & SOCK_CLOEXEC);
}

// "Name: hex" of a /proc status text.
uint64_t status_mask(const std::string& st, const char* key) {
  size_t at = st.find(key);
  return at == std::string::npos ? 0 : strtoull(st.c_str() + at + strlen(key), nullptr, 16);
}

// Would the kernel have ended this wait for a signal? 0 no, else the errno to answer.
// A thread's own pending signal, or a process-wide one in a single-threaded process, has
// woken this very thread (TIF_SIGPENDING is set): ERESTARTSYS, the kernel's own answer. A
// process-wide one in a threaded process may be another thread's to take: only when it
// is still pending a tick later is the call given back, with EINTR (ERESTARTSYS is only
// safe when this thread is sure to take a signal on its way out). A stop of the whole
// group (Ctrl-Z) wakes every thread: seen as a sibling already stopped.
int signal_ends_wait(const Notif& n, bool& shared_seen) {
  std::string st, base = "/proc/" + std::to_string(n.caller.tgid) + "/task/";
  if (!read_file(base + std::to_string(n.caller.tid) + "/status", st, 8192)) return 0;
  uint64_t blocked = status_mask(st, "SigBlk:");
  uint64_t own = status_mask(st, "SigPnd:") & ~blocked, shared = status_mask(st, "ShdPnd:") & ~blocked;
  if (own) return ERESTARTSYS;
  size_t t = st.find("Threads:");
  bool single = t != std::string::npos && atoi(st.c_str() + t + 8) == 1;
  if (shared && single) return ERESTARTSYS;
  if (shared) {
    if (shared_seen) return EINTR;
    shared_seen = true;
  } else {
    shared_seen = false;
  }
  if (single) return 0;
  std::string stat;
  if (n.caller.tid != n.caller.tgid && read_file(base + std::to_string(n.caller.tgid) + "/stat", stat, 1024)) {
    size_t p = stat.rfind(')');
    if (p != std::string::npos && p + 2 < stat.size() && stat[p + 2] == 'T') return ERESTARTSYS;
  }
  return 0;
}

// A receiver thread must never wait on a program's peer. On a blocking listener with a client
// already waiting (servers that poll first, like Python's socketserver), the accept is done
// here all the same, under a guard: should another acceptor take that client first, the
// engine's wake signal (no SA_RESTART), sent to this thread by a timer, breaks the accept
// after kGuardNs and the call moves to a helper. kWait: nothing was taken, wait.
constexpr int kWait = -100001;
constexpr long kGuardNs = 20 * 1000 * 1000;
int guarded_accept(Notif& n, const Sock& s, const AcceptCall& call, sockaddr_storage& peer, socklen_t& plen) {
  pollfd p{s.fd.get(), POLLIN, 0};
  if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN)) return kWait;
  sigset_t mask;
  if (pthread_sigmask(SIG_BLOCK, nullptr, &mask) != 0 || sigismember(&mask, engine_wake_signal())) return kWait;
  thread_local timer_t timer;
  thread_local bool have_timer = false;
  if (!have_timer) {
    sigevent ev{};
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = engine_wake_signal();
    ev._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
    if (timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0) return kWait;
    have_timer = true;
  }
  itimerspec arm{}, off{};
  arm.it_value.tv_nsec = kGuardNs;
  if (timer_settime(timer, 0, &arm, nullptr) != 0) return kWait;
  int c = accept_one(n, s, call, peer, plen);
  timer_settime(timer, 0, &off, nullptr);
  return c == -EINTR || c == -EAGAIN ? kWait : c;
}

// A blocking accept, on a helper thread: waits for a client of its own, the notification's
// end (the program killed) or a signal that would have ended it.
// A receive timeout on the listener (SO_RCVTIMEO) bounds the wait, as it bounds the kernel's:
// then EAGAIN.
void wait_and_accept(Notif& n, const Sock& s, const AcceptCall& call) {
  bool shared_seen = false;
  timeval tv{};
  socklen_t tl = sizeof tv;
  const bool timed = getsockopt(s.fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, &tl) == 0 && (tv.tv_sec || tv.tv_usec);
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const int64_t deadline_ms = now.tv_sec * 1000LL + now.tv_nsec / 1000000 + tv.tv_sec * 1000LL + tv.tv_usec / 1000;
  for (;;) {
    int wait_ms = kTickMs;
    if (timed) {
      clock_gettime(CLOCK_MONOTONIC, &now);
      int64_t left = deadline_ms - (now.tv_sec * 1000LL + now.tv_nsec / 1000000);
      if (left <= 0) return void(reply_error(n.listener(), n.req.id, EAGAIN));
      if (left < wait_ms) wait_ms = static_cast<int>(left);
    }
    pollfd p{s.fd.get(), POLLIN, 0};
    int r = poll(&p, 1, wait_ms);
    if (r > 0) {
      sockaddr_storage peer;
      socklen_t plen;
      // Another acceptor may take the client first (several processes on one listener):
      // then this accept waits for the next one, as the program's own would.
      int c = accept_one(n, s, call, peer, plen);
      if (c >= 0) return deliver(n, call, c, peer, plen);
      if (c != kDropped && c != -EAGAIN && c != -EINTR) return void(reply_error(n.listener(), n.req.id, -c));
    }
    if (!n.valid()) return;
    if (int e = signal_ends_wait(n, shared_seen)) return void(reply_error(n.listener(), n.req.id, e));
  }
}

}  // namespace

void handle_accept(Notif& n) {
  const auto& a = n.req.data.args;
  AcceptCall call;
  call.flags = n.req.data.nr == SYS_accept4 ? static_cast<int>(a[3]) : 0;
  if (call.flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return void(reply_error(n.listener(), n.req.id, EINVAL));
  call.addr = a[1];
  call.addrlen = a[2];
  if (call.addr) {
    int room = 0;
    if (read_mem(n.caller.tid, call.addrlen, &room, sizeof room) < 0) return void(reply_error(n.listener(), n.req.id, EFAULT));
    if (room < 0) return void(reply_error(n.listener(), n.req.id, EINVAL));
    call.room = static_cast<socklen_t>(room);
  }
  auto s = std::make_shared<Sock>();
  if (int e = get_socket(n, static_cast<int>(a[0]), *s); e < 0) {
    if (e != -ESRCH) reply_error(n.listener(), n.req.id, -e);
    return;
  }
  if (!s->blocking) {
    for (int dropped = 0; dropped < kMaxDroppedPerCall; dropped++) {
      sockaddr_storage peer;
      socklen_t plen;
      int c = accept_one(n, *s, call, peer, plen);
      if (c >= 0) return deliver(n, call, c, peer, plen);
      if (c != kDropped) return void(reply_error(n.listener(), n.req.id, -c));
    }
    return void(reply_error(n.listener(), n.req.id, EAGAIN));
  }
  sockaddr_storage peer;
  socklen_t plen;
  int c = guarded_accept(n, *s, call, peer, plen);
  if (c >= 0) return deliver(n, call, c, peer, plen);
  if (c != kWait && c != kDropped) return void(reply_error(n.listener(), n.req.id, -c));
  auto self = std::make_shared<Notif>(n);
  run_call(n, true, [self, s, call] { wait_and_accept(*self, *s, call); });
}

}  // namespace sbx
