// connect/sendto/sendmsg/sendmmsg: copy the address (and, for datagrams, the payload and
// control data) out of the tracee, decide on that copy, then perform the call ourselves
// on our own copy of the socket (pidfd_getfd), so a racing thread cannot change what
// is sent where. A call that may block runs on a detached helper thread.
//
// Stream sockets (TCP, MPTCP, AF_UNIX stream/seqpacket) ignore a destination address
// unless MSG_FASTOPEN is set (flags are a register, not memory): their sendto/sendmsg
// CONTINUE; their destination was decided at connect.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <thread>

#include "engine.h"
#include "fs_check.h"
#include "memory.h"

namespace sbx {

namespace {

const size_t kMaxPayload = 4 << 20;

struct Sock {
  Fd fd;
  int type = 0, proto = 0, domain = 0;
  bool blocking = true;
};

// Our copy of the tracee's socket fd; -errno when it is not a socket.
int get_socket(Notif& n, int tfd, Sock& s) {
  Fd pidfd(sys_pidfd_open(n.caller.tgid, 0));
  if (!pidfd.ok() || !n.valid()) return -ESRCH;
  s.fd.reset(sys_pidfd_getfd(pidfd.get(), tfd, 0));
  if (!s.fd.ok()) return -EBADF;
  socklen_t l = sizeof(int);
  if (getsockopt(s.fd.get(), SOL_SOCKET, SO_TYPE, &s.type, &l) < 0) return -ENOTSOCK;
  l = sizeof(int);
  getsockopt(s.fd.get(), SOL_SOCKET, SO_PROTOCOL, &s.proto, &l);
  l = sizeof(int);
  getsockopt(s.fd.get(), SOL_SOCKET, SO_DOMAIN, &s.domain, &l);
  s.blocking = !(fcntl(s.fd.get(), F_GETFL) & O_NONBLOCK);
  return 0;
}

bool address_ignored(const Sock& s, uint64_t flags) {
  if (flags & MSG_FASTOPEN) return false;
  if (s.domain == AF_UNIX) return s.type == SOCK_STREAM || s.type == SOCK_SEQPACKET;
  return s.type == SOCK_STREAM && (s.proto == IPPROTO_TCP || s.proto == IPPROTO_MPTCP);
}

struct Addr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  Fd keep;  // a resolved unix socket path, referenced as /proc/self/fd/N
};

// Decides on a destination and rewrites a unix pathname to the inode we resolved.
// Returns true when answered (refused or error).
bool decide_addr(Notif& n, Addr& ad) {
  if (ad.len < sizeof(sa_family_t)) return reply_error(n.listener(), n.req.id, EINVAL), true;
  const int fam = ad.ss.ss_family;
  char buf[INET6_ADDRSTRLEN];
  if (fam == AF_INET) {
    if (ad.len < sizeof(sockaddr_in)) return reply_error(n.listener(), n.req.id, EINVAL), true;
    auto* in = reinterpret_cast<sockaddr_in*>(&ad.ss);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    int port = ntohs(in->sin_port);
    return refuse(n, decide_net(n.pol->net, 4, reinterpret_cast<uint8_t*>(&in->sin_addr), port), "net",
                  std::string(buf) + ":" + std::to_string(port), EACCES);
  }
  if (fam == AF_INET6) {
    if (ad.len < sizeof(sockaddr_in6)) return reply_error(n.listener(), n.req.id, EINVAL), true;
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ad.ss);
    const uint8_t* b = in6->sin6_addr.s6_addr;
    int port = ntohs(in6->sin6_port);
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(b, mapped, 12) == 0) {
      inet_ntop(AF_INET, b + 12, buf, sizeof buf);
      return refuse(n, decide_net(n.pol->net, 4, b + 12, port), "net", std::string(buf) + ":" + std::to_string(port),
                    EACCES);
    }
    inet_ntop(AF_INET6, b, buf, sizeof buf);
    return refuse(n, decide_net(n.pol->net, 6, b, port), "net", "[" + std::string(buf) + "]:" + std::to_string(port),
                  EACCES);
  }
  if (fam == AF_UNIX) {
    if (ad.len > sizeof(sockaddr_un)) return reply_error(n.listener(), n.req.id, EINVAL), true;
    auto* un = reinterpret_cast<sockaddr_un*>(&ad.ss);
    size_t plen = ad.len - offsetof(sockaddr_un, sun_path);
    if (plen == 0) return false;  // unnamed: the kernel answers
    if (un->sun_path[0] == '\0') {
      // Trailing NULs dropped: libuv (Node) pads abstract names to the full sun_path.
      std::string name = "@" + std::string(un->sun_path + 1, plen - 1);
      while (name.size() > 1 && name.back() == '\0') name.pop_back();
      return refuse(n, decide_path(n.pol->unix_, name), "unix", name, EACCES);
    }
    std::string path(un->sun_path, strnlen(un->sun_path, plen));
    Fd base;
    int e = 0;
    if (path[0] != '/' && (e = open_base(n.caller, AT_FDCWD, base)) < 0)
      return reply_error(n.listener(), n.req.id, -e), true;
    Resolved r;
    if (resolve_failed(n, resolve(n.caller, base.get(), path, true, 0, false, r), r)) return true;
    std::string real = resolved_path(r);
    if (refuse(n, decide_path(n.pol->unix_, real), "unix", real, EACCES)) return true;
    std::string via = "/proc/self/fd/" + std::to_string(r.fd.get());
    memset(un->sun_path, 0, sizeof un->sun_path);
    memcpy(un->sun_path, via.c_str(), via.size());
    ad.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + via.size() + 1);
    ad.keep = std::move(r.fd);
    return false;
  }
  return false;  // other families (netlink, packet, ...): not decided by this engine
}

int read_addr(Notif& n, uint64_t p, uint64_t len, Addr& ad) {
  if (len > sizeof ad.ss) return -EINVAL;
  ad.len = static_cast<socklen_t>(len);
  return read_mem(n.caller.tid, p, &ad.ss, len) < 0 ? -EFAULT : 0;
}

// Runs `act` now, or on a detached thread when it may block.
void run(Notif& n, bool may_block, std::function<void()> act) {
  if (!may_block) return act();
  n.deferred = true;
  std::thread([core = n.core, act = std::move(act), slot = n.slot] {
    act();
    core->journal_release(slot);
  }).detach();
}

// One datagram message copied out of the tracee, fds in SCM_RIGHTS translated to ours.
struct Msg {
  Addr addr;
  bool has_addr = false;
  std::string data, control;
  std::vector<Fd> fds;
  int flags = 0;
};

int read_msg(Notif& n, uint64_t p, Msg& m) {
  msghdr h;
  if (read_mem(n.caller.tid, p, &h, sizeof h) < 0) return -EFAULT;
  if (h.msg_name && h.msg_namelen) {
    if (int e = read_addr(n, reinterpret_cast<uint64_t>(h.msg_name), h.msg_namelen, m.addr)) return e;
    m.has_addr = true;
  }
  if (h.msg_iovlen > 1024) return -EMSGSIZE;
  std::vector<iovec> iov(h.msg_iovlen);
  if (h.msg_iovlen &&
      read_mem(n.caller.tid, reinterpret_cast<uint64_t>(h.msg_iov), iov.data(), iov.size() * sizeof(iovec)) < 0)
    return -EFAULT;
  for (auto& v : iov) {
    if (m.data.size() + v.iov_len > kMaxPayload) return -EMSGSIZE;
    size_t off = m.data.size();
    m.data.resize(off + v.iov_len);
    if (v.iov_len && read_mem(n.caller.tid, reinterpret_cast<uint64_t>(v.iov_base), &m.data[off], v.iov_len) < 0)
      return -EFAULT;
  }
  if (h.msg_control && h.msg_controllen) {
    if (h.msg_controllen > 65536) return -ENOBUFS;
    m.control.resize(h.msg_controllen);
    if (read_mem(n.caller.tid, reinterpret_cast<uint64_t>(h.msg_control), &m.control[0], m.control.size()) < 0)
      return -EFAULT;
  }
  return 0;
}

// SCM_RIGHTS carry the tracee's fd numbers: swap in our copies. SCM_CREDENTIALS sent by
// us would carry our authority, so they are refused.
int translate_control(Notif& n, Msg& m) {
  if (m.control.empty()) return 0;
  msghdr h{};
  h.msg_control = &m.control[0];
  h.msg_controllen = m.control.size();
  Fd pidfd;
  const char* end = m.control.data() + m.control.size();
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
    // The tracee wrote these lengths: never trust them past our copy.
    if (c->cmsg_len < CMSG_LEN(0) || c->cmsg_len > static_cast<size_t>(end - reinterpret_cast<char*>(c)))
      return -EINVAL;
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_CREDENTIALS) return -EPERM;
    if (c->cmsg_type != SCM_RIGHTS) continue;
    if (!pidfd.ok()) pidfd.reset(sys_pidfd_open(n.caller.tgid, 0));
    int* fds = reinterpret_cast<int*>(CMSG_DATA(c));
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      Fd ours(sys_pidfd_getfd(pidfd.get(), fds[i], 0));
      if (!ours.ok()) return -EBADF;
      fds[i] = ours.get();
      m.fds.push_back(std::move(ours));
    }
  }
  return 0;
}

ssize_t send_one(int sock, Msg& m, int flags) {
  msghdr h{};
  iovec v{m.data.empty() ? nullptr : &m.data[0], m.data.size()};
  h.msg_iov = &v;
  h.msg_iovlen = 1;
  if (m.has_addr) h.msg_name = &m.addr.ss, h.msg_namelen = m.addr.len;
  if (!m.control.empty()) h.msg_control = &m.control[0], h.msg_controllen = m.control.size();
  ssize_t r = sendmsg(sock, &h, flags | MSG_NOSIGNAL);
  return r < 0 ? -errno : r;
}

void do_connect(Notif& n) {
  const auto& a = n.req.data.args;
  auto ad = std::make_shared<Addr>();
  int e = read_addr(n, a[1], a[2], *ad);
  if (e < 0) return void(reply_error(n.listener(), n.req.id, -e));
  if (!n.valid()) return;
  auto s = std::make_shared<Sock>();
  if ((e = get_socket(n, static_cast<int>(a[0]), *s)) < 0) {
    if (e != -ESRCH) reply_error(n.listener(), n.req.id, -e);
    return;
  }
  if (decide_addr(n, *ad)) return;
  const uint64_t id = n.req.id;
  const int lis = n.listener();
  run(n, s->blocking, [s, ad, id, lis] {
    int r = connect(s->fd.get(), reinterpret_cast<sockaddr*>(&ad->ss), ad->len);
    reply_value(lis, id, r < 0 ? -errno : 0);
  });
}

void do_sendto(Notif& n, const Sock& probe, std::shared_ptr<Sock> s) {
  const auto& a = n.req.data.args;
  (void)probe;
  auto m = std::make_shared<Msg>();
  m->flags = static_cast<int>(a[3]);
  if (a[2] > kMaxPayload) return void(reply_error(n.listener(), n.req.id, EMSGSIZE));
  int e = read_addr(n, a[4], a[5], m->addr);
  if (e < 0) return void(reply_error(n.listener(), n.req.id, -e));
  m->has_addr = true;
  m->data.resize(a[2]);
  if (a[2] && read_mem(n.caller.tid, a[1], &m->data[0], a[2]) < 0)
    return void(reply_error(n.listener(), n.req.id, EFAULT));
  if (!n.valid()) return;
  if (decide_addr(n, m->addr)) return;
  const uint64_t id = n.req.id;
  const int lis = n.listener();
  run(n, s->blocking && !(m->flags & MSG_DONTWAIT), [s, m, id, lis] {
    reply_value(lis, id, send_one(s->fd.get(), *m, m->flags));
  });
}

void do_sendmsg(Notif& n, std::shared_ptr<Sock> s) {
  const auto& a = n.req.data.args;
  auto m = std::make_shared<Msg>();
  m->flags = static_cast<int>(a[2]);
  int e = read_msg(n, a[1], *m);
  if (e < 0) return void(reply_error(n.listener(), n.req.id, -e));
  if (!n.valid()) return;
  if ((e = translate_control(n, *m)) < 0) return void(reply_error(n.listener(), n.req.id, -e));
  if (m->has_addr && decide_addr(n, m->addr)) return;
  const uint64_t id = n.req.id;
  const int lis = n.listener();
  run(n, s->blocking && !(m->flags & MSG_DONTWAIT), [s, m, id, lis] {
    reply_value(lis, id, send_one(s->fd.get(), *m, m->flags));
  });
}

void do_sendmmsg(Notif& n, std::shared_ptr<Sock> s) {
  const auto& a = n.req.data.args;
  const uint64_t vec = a[1];
  const unsigned vlen = static_cast<unsigned>(std::min<uint64_t>(a[2], 1024));
  const int flags = static_cast<int>(a[3]);
  auto msgs = std::make_shared<std::vector<Msg>>(vlen);
  size_t total = 0;
  for (unsigned i = 0; i < vlen; i++) {
    int e = read_msg(n, vec + i * sizeof(mmsghdr), (*msgs)[i]);
    if (e == 0) e = translate_control(n, (*msgs)[i]);
    total += (*msgs)[i].data.size() + (*msgs)[i].control.size();
    if (e == 0 && total > kMaxPayload) e = -EMSGSIZE;  // bound what one call can make us hold
    if (e < 0) return void(reply_error(n.listener(), n.req.id, -e));
  }
  if (!n.valid()) return;
  for (auto& m : *msgs)
    if (m.has_addr && decide_addr(n, m.addr)) return;
  const uint64_t id = n.req.id;
  const int lis = n.listener();
  const int tid = n.caller.tid;
  run(n, s->blocking && !(flags & MSG_DONTWAIT), [s, msgs, id, lis, tid, vec, flags] {
    long sent = 0;
    for (auto& m : *msgs) {
      ssize_t r = send_one(s->fd.get(), m, flags);
      if (r < 0) {
        if (sent == 0) sent = r;
        break;
      }
      unsigned len = static_cast<unsigned>(r);
      write_mem(tid, vec + sent * sizeof(mmsghdr) + offsetof(mmsghdr, msg_len), &len, sizeof len);
      sent++;
    }
    reply_value(lis, id, sent);
  });
}

}  // namespace

void handle_net(Notif& n) {
  const int nr = n.req.data.nr;
  if (nr == SYS_connect) return do_connect(n);
  // bind/listen: trapped by the table; their decision (serving is refused under a
  // restricted network) lands with the socket-based network rules.
  if (nr == SYS_bind || nr == SYS_listen) return void(reply_continue(n.listener(), n.req.id));
  auto s = std::make_shared<Sock>();
  int e = get_socket(n, static_cast<int>(n.req.data.args[0]), *s);
  if (e < 0) {
    if (e != -ESRCH) reply_error(n.listener(), n.req.id, -e);
    return;
  }
  const uint64_t flags = nr == SYS_sendmsg ? n.req.data.args[2] : n.req.data.args[3];
  if (address_ignored(*s, flags)) return void(reply_continue(n.listener(), n.req.id));
  // Routing netlink (the only netlink the filter lets a sandbox open) talks to the kernel,
  // which checks the SENDER's capabilities: sent by us it would carry the supervisor's
  // (a root sandbox reconfigured the host network that way). The caller sends it itself.
  if (s->domain == AF_NETLINK) return void(reply_continue(n.listener(), n.req.id));
  if (nr == SYS_sendto) return do_sendto(n, *s, s);
  if (nr == SYS_sendmsg) return do_sendmsg(n, s);
  do_sendmmsg(n, s);
}

}  // namespace sbx
