// What the socket handlers share (net.cc: connect/bind/listen/sends; accept.cc: accept).
#pragma once
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>
#include <functional>
#include <string>

#include "engine.h"
#include "sys.h"

namespace sbx {

// Our copy of a tracee's socket (pidfd_getfd) and what the kernel says it is.
struct Sock {
  Fd fd;
  int type = 0, proto = 0, domain = 0;
  bool blocking = true;
};
// 0, or -errno (-ESRCH: the caller is gone; -EBADF, -ENOTSOCK as the kernel would say).
int get_socket(Notif& n, int tfd, Sock& s);

// An IP endpoint as decided: family 4 or 6, network-order bytes.
struct Ip {
  int fam = 4;
  uint8_t b[16] = {0};
  int port = 0;
};

// Does the caller's network policy (or one it is narrowed within) deny by default?
bool restricted(const Notif& n);

// The setsockopt calls the filter traps (net_sockopt.cc): decided, done on our copy or refused.
void do_setsockopt(Notif& n);

// The name of a unix address as policies and people name it: "@abstract" (padding NULs
// dropped) or the path as written; "" for an unnamed one.
std::string unix_name_of(const sockaddr_un& un, socklen_t len);

// A file's inode number (a socket's sockfs inode), 0 when fstat fails.
unsigned long inode_of(int fd);

// Runs `act` now, or, when it may block, on a detached helper thread that answers the
// notification itself (at most Core::kMaxBlockedCalls per session: beyond, EAGAIN at once).
void run_call(Notif& n, bool may_block, std::function<void()> act);

// A thread-directed timer (one per thread) that sends this thread the engine's wake signal
// (no SA_RESTART) after `ns`: a blocking call made while it is armed returns EINTR then.
// false: not armed (the signal is blocked here, or no timer could be made). Disarm before
// anything a signal must not break (sock_diag reads).
bool arm_wake_timer(long ns);
void disarm_wake_timer();
// Lets the wake signal (and so the timer) reach this thread: helper threads call it first.
void unblock_wake_signal();

// Would the kernel have ended the caller's wait in a call of ours for a signal (or a stop, or
// a debugger attaching)? 0 no, else the errno to answer (ERESTARTSYS or EINTR). Called once
// per tick of the wait (accept.cc); `tracer` starts as caller_tracer(n).
int signal_ends_wait(const Notif& n, int tick, bool& shared_seen, long& tracer);
long caller_tracer(const Notif& n);

// decide_all for a unix socket name: denied by any policy of the chain; named (reachable
// whoever serves it) only if named by all.
UnixName decide_unix_all(Notif& n, const std::string& name);

}  // namespace sbx
