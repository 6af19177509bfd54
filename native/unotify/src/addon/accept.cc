// accept/accept4, performed by the engine on its own copy of the listening socket, the new
// connection injected like an opened file (two steps, sys.cc reply_addfd).
//
// Why ours: a client trusts the server its socket name leads to (tmux's `detach-client -E
// CMD` makes the client run CMD where the client runs; an editor's server feeds its client;
// an agent signs for it). A program inside that binds a name before the real server does —
// or links a name to its own socket — would get the next client outside, or a client in a
// session with other rights. So a sandboxed Unix-socket server is handed only connections
// its own session made: the engine performs every connect of a sandboxed process (net.cc),
// recording the connecting socket first (ServedSockets::add_client), and the accepted
// connection's peer must be one of those (sock_diag) with credentials naming this process.
// Any other is closed unread and reported; the server goes on waiting. No policy lifts this:
// a name in net.unix.allow would be reached through any link to it as well. Inet connections
// are not decided here (serving them was decided at bind/listen), but they are accepted by us
// too: after a check, a racing dup2 could put a Unix listener under the number a CONTINUE uses.
//
// A blocking accept waits on a helper thread (run_call). The program waits in the kernel
// meanwhile, and the listener waits killably (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV): a
// signal with a handler, or a stop, would stay pending until a client came. So the helper
// looks every kTick at the program's pending signals and gives the call back as the kernel
// would (ERESTARTSYS: restarted after a handler with SA_RESTART or a stop, EINTR otherwise).
// No accept of ours ever blocks for longer than a tick: another acceptor of the same
// listener may take the client we were woken for.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/socket.h>
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
// Longest a receiver thread's accept may wait (a client it saw may be taken by another acceptor).
constexpr long kGuardNs = 20 * 1000 * 1000;
// Refused clients dropped in one call of a non-blocking accept before it answers EAGAIN: a
// flood from outside cannot hold a receiver thread.
constexpr int kMaxDroppedPerCall = 64;

struct AcceptCall {
  int flags = 0;            // SOCK_NONBLOCK | SOCK_CLOEXEC as asked
  uint64_t addr = 0;        // where the peer's address goes (0: nowhere)
  uint64_t addrlen = 0;     // its in/out length
  socklen_t room = 0;       // *addrlen as read
  int listener = -1;        // our copy of the listening socket
};

// Was this connection made by a process of this session? Their connects are ours (net.cc).
// A client of ours already gone (it sent, then closed) cannot be given orders any more: its
// last words are the server's whichever sandbox sent them (that one chose to connect).
bool made_by_session(Notif& n, int conn, ucred& cred) {
  socklen_t l = sizeof cred;
  if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &l) != 0 || cred.pid != getpid()) return false;
  const int64_t peer = unix_peer_ino(conn);  // -1: cannot tell, refused
  return peer == 0 || (peer > 0 && n.core->served().take_client(static_cast<uint32_t>(peer)));
}

// The listener's name for a person: "@abstract", or the socket file's path now (the engine
// bound it from inside its directory, so getsockname has only the last name).
std::string listener_name(Notif& n, int sock) {
  sockaddr_un un{};
  socklen_t l = sizeof un;
  if (getsockname(sock, reinterpret_cast<sockaddr*>(&un), &l) < 0) return "";
  std::string name = unix_name_of(un, l);
  if (name.empty() || name[0] == '@') return name;
  UnixDiag d;
  if (unix_diag_of(sock, d) && d.has_vfs) {
    // udiag_vfs_dev is the kernel's own dev_t (a 12-bit major above a 20-bit minor).
    std::string p = n.core->served().path_of(makedev(d.vfs_dev >> 20, d.vfs_dev & 0xfffff), d.vfs_ino);
    if (!p.empty()) return p;
  }
  return name;
}

// A connection just accepted on our copy: itself, or kDropped (a client from outside the
// session was refused: closed, reported).
constexpr int kDropped = -100000;
int screened(Notif& n, const Sock& s, int c) {
  ucred cred{};
  if (s.domain != AF_UNIX || made_by_session(n, c, cred)) return c;
  close(c);
  std::string name = listener_name(n, s.fd.get());
  // Another session's client may come through this supervisor or through an engine of its
  // own (an `sbx exec` run by Node): either way it is not this session's.
  std::string who = cred.pid == getpid() ? std::string("a client from another sandbox session")
                    : cred.pid > 0       ? "a client from outside this session: pid " + std::to_string(cred.pid) + " (" + program_of(cred.pid) + ")"
                                         : std::string("a client from outside this session, in another namespace");
  report_refusal(n, Decision{false, -2}, "unix",
                 (name.empty() ? std::string("an unnamed socket") : name) + " (" + who +
                     "; a server inside serves its own session only)",
                 ECONNABORTED);
  return kDropped;
}

// One accept on our copy, never waiting longer than `ns`: a thread-directed timer sends the
// engine's wake signal (no SA_RESTART), which breaks a blocked accept with EINTR; it is off
// again before the connection is screened (a signal there would break sock_diag's reads).
// Returns the connection, -errno, kDropped, or kWait: nothing was taken (or the listener's
// own receive timeout ran out: SO_RCVTIMEO), look again.
constexpr int kWait = -100001;
int accept_one(Notif& n, const Sock& s, const AcceptCall& call, sockaddr_storage& peer, socklen_t& plen, long ns) {
  if (!arm_wake_timer(ns)) return kWait;
  plen = sizeof peer;
  int c = accept4(s.fd.get(), reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_CLOEXEC | (call.flags & SOCK_NONBLOCK));
  const int err = errno;
  disarm_wake_timer();
  if (c < 0) return err == EINTR || err == EAGAIN ? kWait : -err;
  return screened(n, s, c);
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
  // The kernel fails an accept at EMFILE before it takes the client off the queue; ours is
  // taken already: kept for the server's next accept, not lost.
  Fd keep(fcntl(conn, F_DUPFD_CLOEXEC, 0));
  if (reply_fd(n.listener(), n.req.id, conn, call.flags & SOCK_CLOEXEC) == -EMFILE && keep.ok())
    n.core->served().hold(inode_of(call.listener), std::move(keep), peer, plen);
}

// Each thread's timer for arm_wake_timer, made at its first use.
struct ThreadTimer {
  timer_t id{};
  bool made = false;
  ~ThreadTimer() {
    if (made) timer_delete(id);
  }
};
thread_local ThreadTimer wake_timer;
}  // namespace

bool arm_wake_timer(long ns) {
  sigset_t mask;
  if (pthread_sigmask(SIG_BLOCK, nullptr, &mask) != 0 || sigismember(&mask, engine_wake_signal())) return false;
  if (!wake_timer.made) {
    sigevent ev{};
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = engine_wake_signal();
    ev._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
    if (timer_create(CLOCK_MONOTONIC, &ev, &wake_timer.id) != 0) return false;
    wake_timer.made = true;
  }
  itimerspec arm{};
  arm.it_value.tv_sec = ns / 1000000000L;
  arm.it_value.tv_nsec = ns % 1000000000L;
  return timer_settime(wake_timer.id, 0, &arm, nullptr) == 0;
}

void disarm_wake_timer() {
  itimerspec off{};
  if (wake_timer.made) timer_settime(wake_timer.id, 0, &off, nullptr);
}

void unblock_wake_signal() {
  sigset_t wake;
  sigemptyset(&wake);
  sigaddset(&wake, engine_wake_signal());
  pthread_sigmask(SIG_UNBLOCK, &wake, nullptr);
}

namespace {

// "Name: hex" of a /proc status text.
uint64_t status_mask(const std::string& st, const char* key) {
  size_t at = st.find(key);
  return at == std::string::npos ? 0 : strtoull(st.c_str() + at + strlen(key), nullptr, 16);
}

// The caller thread's /proc status text.
bool read_task_status(const Notif& n, std::string& out) {
  return read_file("/proc/" + std::to_string(n.caller.tgid) + "/task/" + std::to_string(n.caller.tid) + "/status", out, 8192);
}

long tracer_in(const std::string& status) {
  size_t at = status.find("TracerPid:");
  return at == std::string::npos ? 0 : atol(status.c_str() + at + 10);
}

}  // namespace

long caller_tracer(const Notif& n) {
  std::string st;
  return read_task_status(n, st) ? tracer_in(st) : 0;
}

// Would the kernel have ended this wait for a signal? 0 no, else the errno to answer.
// ERESTARTSYS (the kernel's own answer: restarted after a handler with SA_RESTART or a stop,
// EINTR otherwise) only when this thread is sure to take a signal on its way out, else the
// number 512 reaches the program:
//  - a signal sent to this thread, or to a single-threaded process;
//  - a stop of the whole group (Ctrl-Z: a sibling already stopped; a group stop wakes all);
//  - a signal sent to the process that no sibling can be holding: each that does not block it
//    sleeps interruptibly ('S'; the thread a signal is aimed at is woken, and stays runnable
//    until it has taken it), and it is still pending once they were looked at.
// Otherwise a sibling may hold it — one waiting in a call of ours is not woken (SIGCHLD is
// aimed at the thread that forked) — and the call ends with EINTR when it is still pending a
// tick later (even under SA_RESTART). Siblings are looked at only while a signal is pending,
// or every kGroupStopTicks: thousands of threads must not make each tick a /proc scan.
constexpr int kGroupStopTicks = 10;
int signal_ends_wait(const Notif& n, int tick, bool& shared_seen, long& tracer) {
  std::string st, base = "/proc/" + std::to_string(n.caller.tgid) + "/task/";
  if (!read_task_status(n, st)) return 0;
  // A debugger attaching (strace -p: PTRACE_SEIZE + PTRACE_INTERRUPT, no signal) waits for
  // this thread to stop: the call ends with EINTR (ERESTARTSYS is safe only after an
  // interrupt, which the status does not show).
  const long now_tracer = tracer_in(st);
  if (now_tracer != tracer && now_tracer != 0) return EINTR;
  tracer = now_tracer;
  uint64_t blocked = status_mask(st, "SigBlk:");
  uint64_t own = status_mask(st, "SigPnd:") & ~blocked, shared = status_mask(st, "ShdPnd:") & ~blocked;
  if (own) return ERESTARTSYS;
  size_t t = st.find("Threads:");
  const bool single = t != std::string::npos && atoi(st.c_str() + t + 8) == 1;
  if (single) return shared ? ERESTARTSYS : 0;
  if (!shared) shared_seen = false;
  if (!shared && tick % kGroupStopTicks != 0) return 0;
  bool maybe_holding = false, group_stopping = false;
  if (DIR* d = opendir(base.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.' || atoi(e->d_name) == n.caller.tid) continue;
      std::string other;
      if (!read_file(base + e->d_name + "/status", other, 8192)) continue;
      size_t at = other.find("State:");
      const char state = at != std::string::npos && at + 7 < other.size() ? other[at + 7] : '?';
      if (state == 'T') group_stopping = true;
      if ((shared & ~status_mask(other, "SigBlk:")) && state != 'S' && state != 'Z' && state != 'X') maybe_holding = true;
    }
    closedir(d);
  }
  if (group_stopping) return ERESTARTSYS;
  if (!shared) return 0;
  if (!read_task_status(n, st) || !(status_mask(st, "ShdPnd:") & shared)) return 0;  // taken meanwhile
  if (!maybe_holding) return ERESTARTSYS;
  if (shared_seen) return EINTR;
  shared_seen = true;
  return 0;
}

namespace {

// A receiver thread must never wait on a program's peer. On a blocking listener with a client
// already waiting (servers that poll first, like Python's socketserver), the accept is done
// here all the same, for at most kGuardNs (another acceptor may take that client first); then
// the call moves to a helper.
int guarded_accept(Notif& n, const Sock& s, const AcceptCall& call, sockaddr_storage& peer, socklen_t& plen) {
  pollfd p{s.fd.get(), POLLIN, 0};
  if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN)) return kWait;
  return accept_one(n, s, call, peer, plen, kGuardNs);
}

// A receive timeout on the listener (SO_RCVTIMEO) bounds the wait, as it bounds the kernel's:
// then EAGAIN.
void wait_and_accept(Notif& n, const Sock& s, const AcceptCall& call) {
  unblock_wake_signal();  // accept_one's timer must reach us
  bool shared_seen = false;
  int tick = 0;
  long tracer = caller_tracer(n);
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
      int c = accept_one(n, s, call, peer, plen, kTickMs * 1000000L);
      if (c >= 0) return deliver(n, call, c, peer, plen);
      if (c != kDropped && c != kWait) return void(reply_error(n.listener(), n.req.id, -c));
    }
    if (!n.valid()) return;
    if (int e = signal_ends_wait(n, ++tick, shared_seen, tracer)) return void(reply_error(n.listener(), n.req.id, e));
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
  call.listener = s->fd.get();  // lives as long as s, which every path below holds
  if (n.core->served().any_held()) {
    // A connection an earlier call could not hand over (the server was out of fds) comes first.
    Fd held;
    sockaddr_storage peer;
    socklen_t plen;
    if (n.core->served().take_held(inode_of(s->fd.get()), held, peer, plen)) {
      int fl = fcntl(held.get(), F_GETFL);
      fcntl(held.get(), F_SETFL, (call.flags & SOCK_NONBLOCK) ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
      return deliver(n, call, held.release(), peer, plen);
    }
  }
  int listening = 0;
  socklen_t ll = sizeof listening;
  // Not a listener (a datagram socket, a connected one): the kernel answers at once (EINVAL,
  // EOPNOTSUPP), never waits.
  const bool answers_at_once = getsockopt(s->fd.get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) != 0 || !listening;
  if (!s->blocking || answers_at_once) {
    for (int dropped = 0; dropped < kMaxDroppedPerCall; dropped++) {
      sockaddr_storage peer;
      socklen_t plen;
      // Guarded all the same: another thread of the program may make the file blocking, or
      // the socket a listener, meanwhile.
      int c = accept_one(n, *s, call, peer, plen, kGuardNs);
      if (c >= 0) return deliver(n, call, c, peer, plen);
      if (c == kWait) break;
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
