// connect/bind/listen/sendto/sendmsg/sendmmsg: copy the address (and, for datagrams, the
// payload and control data) out of the tracee, decide on that copy, then perform the call
// ourselves on our own copy of the socket (pidfd_getfd), so a racing thread cannot change
// what is sent where. A call that may block runs on a detached helper thread.
//
// Decided by the socket, not by the caller's sockaddr: the domain and type come from
// SO_DOMAIN/SO_TYPE of our copy. On an AF_INET socket an AF_UNSPEC address is IPv4 (the
// kernel's udp/raw/ping sendmsg and inet bind read it as such): it is decided, and sent,
// as AF_INET; a connect with AF_UNSPEC disconnects. On AF_INET6, AF_UNSPEC means "no
// address" for a send. A destination 0.0.0.0 / :: is the local host: decided as 127.0.0.1
// / ::1 (::ffff:127.0.0.1 on a v4-mapped socket) and rewritten so, in what we send.
// Families sbx does not decide (packet, …) are refused while the network is restricted.
//
// Serving (bind/listen) is decided when the network is restricted (net.default deny): the
// local address must be allowed by a rule (`localhost:3000` allows 127.0.0.1:3000; the
// wildcard 0.0.0.0 / :: only a rule for every address, `*:3000`). Port 0 (an ephemeral
// port, what every UDP client gets implicitly) is allowed whenever some destination is;
// listen() then decides on the port the socket really has. A pathname unix bind is a write
// of the socket file (write policy), done by us from inside the resolved parent directory.
//
// Unix sockets and confused deputies: a socket the policy names (net.unix allow rule) is
// reachable whoever serves it; any other only when its server belongs to this session,
// i.e. one of the session's processes bound it — the engine performs every bind, so it
// records what it bound (ServedSockets): the socket file (pinned: its inode is never
// reused) for a pathname, the socket cookie (never reused) for an abstract name, found
// again at connect/send through sock_diag. Peer credentials cannot tell: the engine
// performs listen() and connect() too, so SO_PEERCRED names the supervisor; an outside
// server's pid is only looked up for the message.
//
// Stream sockets (TCP, MPTCP, AF_UNIX stream/seqpacket) ignore a destination address
// unless MSG_FASTOPEN is set (flags are a register, not memory): their sendto/sendmsg
// CONTINUE; their destination was decided at connect.
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <thread>

#include "engine.h"
#include "fs_check.h"
#include "memory.h"
#include "net_registry.h"
#include "net_boundary.h"
#include "port_squat.h"
#include "net_socket.h"
#include "shm_files.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

namespace sbx {

namespace {

const size_t kMaxPayload = 4 << 20;

// How long a call of ours on a helper thread waits in the kernel before it looks whether its
// caller is still there, or was sent a signal; and how long a receiver thread's connect of a
// socket that looked non-blocking may take (another thread of the program may have made it
// blocking since) before the rest of the wait moves to a helper.
constexpr long kTickNs = 100 * 1000 * 1000;
constexpr long kGuardNs = 20 * 1000 * 1000;

// The send flags the engine passes on: an allow-list. Never MSG_ZEROCOPY: on a socket with
// SO_ZEROCOPY the kernel would pin our copy of the payload, which is freed and reused before
// the data leaves (the peer got supervisor memory). Without it the send is copied, as the
// kernel does on a socket without SO_ZEROCOPY (the filter refuses SO_ZEROCOPY inside; a socket
// that got it outside gets no completion notifications from our sends). A flag a later kernel
// adds, which might keep a reference to our buffer too, is not passed either.
constexpr int kMsgProbe = 0x10;  // MSG_PROBE (glibc calls it MSG_PROXY): probe the path, send nothing
constexpr int kSendFlags = MSG_OOB | MSG_DONTROUTE | kMsgProbe | MSG_DONTWAIT | MSG_EOR | MSG_CONFIRM | MSG_NOSIGNAL |
                           MSG_MORE | MSG_BATCH | MSG_FASTOPEN;
static_assert((kSendFlags & MSG_ZEROCOPY) == 0, "the engine never sends zerocopy");

enum class Op { kConnect, kSend, kBind };

}  // namespace

std::string unix_name_of(const sockaddr_un& un, socklen_t len) {
  size_t plen = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
  if (plen == 0) return "";
  if (un.sun_path[0] == '\0') {
    // Trailing NULs dropped: libuv (Node) pads abstract names to the full sun_path.
    std::string name = "@" + std::string(un.sun_path + 1, plen - 1);
    while (name.size() > 1 && name.back() == '\0') name.pop_back();
    return name;
  }
  return std::string(un.sun_path, strnlen(un.sun_path, plen));
}

unsigned long inode_of(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? static_cast<unsigned long>(st.st_ino) : 0;
}

// Under a nested policy, every enclosing one counts: the network is restricted if any of
// them restricts it, and an ephemeral port may be bound only if each of them reaches something.
bool restricted(const Notif& n) {
  return chain_any(const_cast<Notif&>(n), [](const Policy& p) { return p.net.defDeny; });
}

int get_socket(Notif& n, int tfd, Sock& s) {
  if (int e = copy_caller_fd(n, tfd, s.fd)) return e;
  socklen_t l = sizeof(int);
  if (getsockopt(s.fd.get(), SOL_SOCKET, SO_TYPE, &s.type, &l) < 0) return -ENOTSOCK;
  l = sizeof(int);
  getsockopt(s.fd.get(), SOL_SOCKET, SO_PROTOCOL, &s.proto, &l);
  l = sizeof(int);
  if (getsockopt(s.fd.get(), SOL_SOCKET, SO_DOMAIN, &s.domain, &l) < 0) return -ENOTSOCK;
  s.blocking = !(fcntl(s.fd.get(), F_GETFL) & O_NONBLOCK);
  return 0;
}

namespace {

bool address_ignored(const Sock& s, uint64_t flags) {
  if (flags & MSG_FASTOPEN) return false;
  if (s.domain == AF_UNIX) return s.type == SOCK_STREAM || s.type == SOCK_SEQPACKET;
  return s.type == SOCK_STREAM && (s.proto == IPPROTO_TCP || s.proto == IPPROTO_MPTCP);
}

// The built-in rule for the policy's own filtering proxy (127.0.0.1:proxyPort, TCP): a
// supervisor adds it to every policy of a session, --deny-net ones too, since a later
// policy of the session may use the proxy.
bool own_proxy_rule(const NetSection& net, const NetRule& r) {
  return net.proxyPort != 0 && r.portLo == net.proxyPort && r.portHi == net.proxyPort;
}

// Some destination is allowed (a rule, or the default) by every policy in the chain. The own
// proxy does not count: it is reached by TCP connect, which needs no port bound first, so it
// must not open an ephemeral port for datagrams from anywhere (as it did under a supervisor).
bool reaches_something(const Notif& n) {
  return !chain_any(const_cast<Notif&>(n), [](const Policy& p) {
    if (!p.net.defDeny) return false;
    for (const auto& r : p.net.rules)
      if (!r.deny && !own_proxy_rule(p.net, r)) return false;
    return true;  // reaches nothing
  });
}

struct Addr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  bool present = true;  // false: send without an address (AF_UNSPEC on an AF_INET6 socket)
  Fd keep;              // a resolved unix socket path, referenced as /proc/self/fd/N
  // inet connect to this policy's own proxy
  bool to_own_proxy = false;
  int proxy_port = 0;
  // A destination on this machine decided while an override is involved: checked again
  // against the override boundary at each packet, under hold_servers (checked_at_boundary).
  bool boundary = false;
  Ip ip;
};

Decision decide_ip(const Notif& n, const Ip& ip) {
  return decide_all(const_cast<Notif&>(n), [&](const Policy& p) { return decide_net(p.net, ip.fam, ip.b, ip.port); });
}

}  // namespace

UnixName decide_unix_all(Notif& n, const std::string& name) {
  UnixName u = decide_unix_name(n.pol->unix_, name);
  // As decide_all: a refusal the caller's audit mode would lift still asks the outer policies.
  if (u.kind == UnixName::kDenied && !(n.pol->audit && u.own)) return u;
  int w = n.pol->within;
  for (int depth = 0; w >= 0; depth++) {
    std::shared_ptr<const Policy> outer = depth < 8 ? n.core->policy(w) : nullptr;
    if (!outer) return UnixName{UnixName::kDenied, -2};
    UnixName o = decide_unix_name(outer->unix_, name);
    if (o.kind == UnixName::kDenied) return UnixName{UnixName::kDenied, kOuterRule};
    if (o.kind == UnixName::kIfMember && u.kind == UnixName::kNamed) u = o;
    w = outer->within;
  }
  return u;
}

namespace {

const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
const uint8_t kLoop4[4] = {127, 0, 0, 1};

bool is_any(const uint8_t* b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (b[i]) return false;
  return true;
}

// The IPv4 address an AF_INET6 socket is bound to is v4-mapped (then :: means 127.0.0.1).
bool bound_v4_mapped(int sock) {
  sockaddr_in6 me{};
  socklen_t l = sizeof me;
  if (getsockname(sock, reinterpret_cast<sockaddr*>(&me), &l) < 0 || me.sin6_family != AF_INET6) return false;
  return memcmp(me.sin6_addr.s6_addr, kMapped, 12) == 0;
}

// Reads an inet destination/local address as the kernel will use it on socket `s`, after
// rewriting `ad` where the decision needs it (AF_UNSPEC → AF_INET, any → loopback). Returns
// 0 with `ip` filled, 1 when nothing is to be decided (disconnect, or no address), or a
// positive errno the kernel would give.
int inet_addr(const Sock& s, Addr& ad, Op op, Ip& ip) {
  int fam = ad.ss.ss_family;
  if (fam == AF_UNSPEC) {
    if (op == Op::kConnect) return 1;  // disconnect
    if (s.domain == AF_INET6) {
      if (op == Op::kBind) return EAFNOSUPPORT;
      ad.present = false;  // the kernel drops the address: the connected peer, decided at connect
      return 1;
    }
    // What the kernel reads it as (inet bind only with the any address): decide and send it as that.
    if (op == Op::kBind && (ad.len < sizeof(sockaddr_in) || reinterpret_cast<sockaddr_in*>(&ad.ss)->sin_addr.s_addr))
      return EAFNOSUPPORT;
    ad.ss.ss_family = fam = AF_INET;
  }
  if (fam == AF_INET) {
    if (s.domain == AF_INET6 && op == Op::kBind) return EAFNOSUPPORT;
    if (ad.len < sizeof(sockaddr_in)) return EINVAL;
    auto* in = reinterpret_cast<sockaddr_in*>(&ad.ss);
    if (op != Op::kBind && in->sin_addr.s_addr == htonl(INADDR_ANY)) in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ip.fam = 4;
    memcpy(ip.b, &in->sin_addr, 4);
    ip.port = ntohs(in->sin_port);
    return 0;
  }
  if (fam == AF_INET6 && s.domain == AF_INET6) {
    if (ad.len < sizeof(sockaddr_in6)) return EINVAL;
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ad.ss);
    uint8_t* b = in6->sin6_addr.s6_addr;
    ip.port = ntohs(in6->sin6_port);
    if (op != Op::kBind && is_any(b, 16)) {
      if (bound_v4_mapped(s.fd.get())) {
        memcpy(b, kMapped, 12);
        memcpy(b + 12, kLoop4, 4);
      } else {
        b[15] = 1;  // ::1
      }
    }
    if (memcmp(b, kMapped, 12) == 0) {
      if (op != Op::kBind && is_any(b + 12, 4)) memcpy(b + 12, kLoop4, 4);
      ip.fam = 4;
      memcpy(ip.b, b + 12, 4);
      return 0;
    }
    ip.fam = 6;
    memcpy(ip.b, b, 16);
    return 0;
  }
  return s.domain == AF_UNIX ? EINVAL : EAFNOSUPPORT;
}

bool is_loopback(const Ip& ip) {
  if (ip.fam == 4) return ip.b[0] == 127;
  static const uint8_t one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return memcmp(ip.b, one, 16) == 0;
}

// Was the socket set, before the sandbox had it (the filter refuses each inside), to send
// otherwise than the route to the decided address: along a routing header or IPv4 source
// route (to those hops first), by an interface of its own (a loopback packet onto the LAN),
// or from an address the machine may not have (IP_FREEBIND: replies to another host)? A
// sticky IPv6 packet-info interface, which the kernel does not read back, is cleared instead.
bool sends_otherwise(const Sock& s) {
  unsigned char buf[64];
  socklen_t len = sizeof buf;
  const int fd = s.fd.get();
  auto int_opt = [fd](int level, int opt) {
    int v = 0;
    socklen_t l = sizeof v;
    return getsockopt(fd, level, opt, &v, &l) == 0 ? v : 0;
  };
  if (int_opt(SOL_SOCKET, SO_BINDTOIFINDEX) != 0) return true;
  // an IPv6 socket takes the IPv4 options for its v4-mapped peers
  if (getsockopt(fd, IPPROTO_IP, IP_OPTIONS, buf, &len) == 0 && len > 0) return true;
  if (int_opt(IPPROTO_IP, IP_UNICAST_IF) != 0 || int_opt(IPPROTO_IP, IP_FREEBIND) != 0) return true;
  if (s.domain != AF_INET6) return false;
  len = sizeof buf;
  if (getsockopt(fd, IPPROTO_IPV6, IPV6_RTHDR, buf, &len) == 0 && len > 0) return true;
  if (int_opt(IPPROTO_IPV6, IPV6_UNICAST_IF) != 0 || int_opt(IPPROTO_IPV6, IPV6_FREEBIND) != 0) return true;
  if (s.type == SOCK_DGRAM) {
    const in6_pktinfo none{};
    setsockopt(fd, IPPROTO_IPV6, IPV6_PKTINFO, &none, sizeof none);
  }
  return false;
}

// Destination of a connect/send on an inet socket. Returns true when answered.
bool decide_inet_dest(Notif& n, const Sock& s, Addr& ad, Op op) {
  Ip ip;
  int e = inet_addr(s, ad, op, ip);
  if (e == 1) return false;
  if (e > 0) return reply_error(n.listener(), n.req.id, e), true;
  if (sends_otherwise(s))
    return refuse(n, Decision{false, -2}, "net",
                  ip_text(ip) + " (the socket was set outside to send along a route, by an interface or from an address of its own: its packets would not go as decided)",
                  EACCES);
  if (op == Op::kConnect && is_loopback(ip) && ip.fam == 4 && ip.port > 0) {
    // sbx's filtering proxies: only the sandbox a proxy serves may use it.
    if (ip.port == n.pol->net.proxyPort) {
      ad.to_own_proxy = true;
      ad.proxy_port = ip.port;
    } else if (is_proxy_port(ip.port)) {
      return refuse(n, Decision{false, -2}, "net", ip_text(ip) + " (another sandbox's sbx proxy)", EACCES);
    }
  }
  if (refuse(n, decide_ip(n, ip), "net", ip_text(ip), EACCES)) return true;
  mark_boundary(n, ip, ad.boundary);
  ad.ip = ip;
  return bind_ephemeral(n, s, ip);
}

// A local address to serve on (bind, listen). `dual`: an AF_INET6 socket that also takes
// IPv4 (not V6ONLY), so :: is 0.0.0.0 too. Returns true when answered.
bool decide_serve(Notif& n, const Ip& ip, bool dual, bool ephemeral_ok) {
  if (!restricted(n)) return false;
  if (ip.port == 0 && ephemeral_ok) {
    if (reaches_something(n)) return false;
    return refuse(n, Decision{false, -1}, "net", "bind " + ip_text(ip), EACCES);
  }
  if (refuse(n, decide_ip(n, ip), "net", "serve " + ip_text(ip), EACCES)) return true;
  if (dual && ip.fam == 6 && is_any(ip.b, 16)) {
    Ip v4;
    v4.fam = 4;
    v4.port = ip.port;
    return refuse(n, decide_ip(n, v4), "net", "serve " + ip_text(v4), EACCES);
  }
  return false;
}

bool v6only(int sock) {
  int v = 0;
  socklen_t l = sizeof v;
  getsockopt(sock, IPPROTO_IPV6, IPV6_V6ONLY, &v, &l);
  return v != 0;
}

// Unix name of an address ("@abstract" or the path as written); "" for an unnamed one.
std::string unix_name(const Addr& ad) { return unix_name_of(*reinterpret_cast<const sockaddr_un*>(&ad.ss), ad.len); }

// Between a narrowed program (a nested `sbx exec`) and the rest of its session, a unix
// connection only joins processes of the same policy, both ways: a server under a wider
// policy (a tmux the shell started) would run for a narrowed client what its policy refuses,
// and a narrowed server could order a wider client (tmux's `detach-client -E CMD` makes the
// client run CMD), say one it planted where the shell's tmux listened. A `commands:`
// override's programs likewise: a server one runs (the agent its tool starts: gpg-agent, an
// ssh ControlMaster) would do for any other program what only they may, and a server the
// rest of the session runs would be handed what they read (a psql override sends the
// password from ~/.pgpass to whatever serves /tmp/.s.PGSQL.5432). Other programs reach every
// server of the session (a tmux started in one project, attached from another). Returns the
// reason a connection is refused, else nullptr.
const char* session_server_refused(Notif& n, int binder) {
  if (binder == n.pol->id) return nullptr;
  if (const char* why = override_boundary(n, binder)) return why;
  std::shared_ptr<const Policy> b = n.core->policy(binder);
  const bool binder_nested = !b || b->within >= 0;
  if (n.pol->within < 0 && !binder_nested) return nullptr;
  return " (a server of this session under another policy: a nested sbx exec and the rest of its session do not meet)";
}

// Nobody outside is contacted to find out more (`sbx check net NAME` does, for a person).
const char* kOutside = " (a server outside this sandbox; `sbx check net NAME` shows which; name it in net.unix.allow)";

// Destination of a connect/send on a unix socket. Resolves a pathname to the inode (the
// address is rewritten to /proc/self/fd/N of our O_PATH fd: the server cannot change
// under us), decides by name, and by who bound it when the name alone does not allow it.
// Returns true when answered.
bool decide_unix_dest(Notif& n, Addr& ad, Op op) {
  if (ad.ss.ss_family == AF_UNSPEC && op == Op::kConnect) return false;  // dgram disconnect
  if (ad.ss.ss_family != AF_UNIX || ad.len > sizeof(sockaddr_un))
    return reply_error(n.listener(), n.req.id, EINVAL), true;
  std::string name = unix_name(ad);
  if (name.empty()) return false;  // unnamed: the kernel answers (EINVAL)
  struct stat st {};
  bool path = name[0] != '@';
  if (path) {
    Fd base;
    int e = 0;
    if (name[0] != '/' && (e = open_base(n.caller, AT_FDCWD, base)) < 0)
      return reply_error(n.listener(), n.req.id, -e), true;
    Resolved r;
    if (resolve_failed(n, resolve(n.caller, base.get(), name, true, 0, false, r), r)) return true;
    name = resolved_path(r);
    fstat(r.fd.get(), &st);
    ad.len = unix_addr_of_fd(r.fd.get(), *reinterpret_cast<sockaddr_un*>(&ad.ss));
    ad.keep = std::move(r.fd);
  }
  UnixName u = decide_unix_all(n, name);
  if (u.kind == UnixName::kDenied) {
    if (refuse(n, Decision{false, u.rule, u.own}, "unix", name, EACCES)) return true;
    // Audit mode lifted the policy's own refusal (reported): the name is then as if no rule
    // named it, a server of this session only. A server outside stays refused (built in).
    u.kind = UnixName::kIfMember;
  }
  if (u.kind == UnixName::kNamed) return false;
  int binder = -1;
  bool ours = false;
  if (path) {
    ours = S_ISSOCK(st.st_mode) && n.core->served().has_file(st.st_dev, st.st_ino, &binder);  // bound in this session
  } else {
    uint64_t cookie = 0;
    auto* un = reinterpret_cast<const sockaddr_un*>(&ad.ss);
    std::string raw(un->sun_path, ad.len - offsetof(sockaddr_un, sun_path));  // exact: padding NULs count
    ours = unix_cookie_by_name(raw, cookie) && n.core->served().has_cookie(cookie, &binder);
  }
  if (!ours) return refuse(n, Decision{false, u.rule}, "unix", name + kOutside, EACCES);
  if (const char* why = session_server_refused(n, binder)) return refuse(n, Decision{false, -2}, "unix", name + why, EACCES);
  return false;
}

// Destination of a connect or send, by the socket's own domain. Returns true when answered.
bool decide_dest(Notif& n, const Sock& s, Addr& ad, Op op) {
  if (ad.len < sizeof(sa_family_t)) return reply_error(n.listener(), n.req.id, EINVAL), true;
  switch (s.domain) {
    case AF_INET:
    case AF_INET6:
      return decide_inet_dest(n, s, ad, op);
    case AF_UNIX:
      return decide_unix_dest(n, ad, op);
    case AF_NETLINK:
      return false;  // NETLINK_ROUTE only (the filter): the kernel, no other process
    default:
      if (!restricted(n)) return false;
      return refuse(n, Decision{false, -1}, "net", "socket family " + std::to_string(s.domain), EACCES);
  }
}

int read_addr(Notif& n, uint64_t p, uint64_t len, Addr& ad) {
  if (len > sizeof ad.ss) return -EINVAL;
  ad.len = static_cast<socklen_t>(len);
  return read_mem(n.caller.tid, p, &ad.ss, len) < 0 ? -EFAULT : 0;
}

}  // namespace

void run_call(Notif& n, bool may_block, std::function<void()> act) {
  if (!may_block) return act();
  // Core::kMaxBlockedCalls, per session only: a limit shared by all would let one session's
  // pile (which can outlive it) refuse everyone else's.
  if (n.core->blockedCalls.fetch_add(1) >= Core::kMaxBlockedCalls) {
    n.core->blockedCalls--;
    return void(reply_error(n.listener(), n.req.id, EAGAIN));
  }
  n.deferred = true;
  std::thread([core = n.core, act = std::move(act), slot = n.slot]() mutable {
    act();
    act = nullptr;  // what it held (a Msg counts into core's heldFds) goes while core lives
    core->blockedCalls--;
    core->journal_release(slot);
  }).detach();
}

namespace {

// Our copies of passed fds one session holds at once. A send that blocks (a full peer queue)
// holds its copies on a helper thread for as long as it waits: a sandbox could pile them up
// until the supervisor has no fd left, and every check that needs one would then fail for
// everyone. Beyond the budget a send fails with ENOBUFS. Per session, so one session's pile
// (which may outlive it: a pair whose peer rides in its own blocked message) costs only it.
constexpr int kMaxHeldFds = 2048;

// One datagram message copied out of the tracee, fds in SCM_RIGHTS translated to ours.
struct Msg {
  Addr addr;
  bool has_addr = false;
  std::string data, control;
  std::vector<Fd> fds;  // counted in *held while held (a moved-from vector is empty)
  std::atomic<int>* held = nullptr;  // the session's count (Core::heldFds)
  int flags = 0;
  Msg() = default;
  Msg(Msg&&) = default;
  Msg& operator=(Msg&&) = delete;
  ~Msg() {
    if (held) *held -= static_cast<int>(fds.size());
  }
};

// stream: take what fits of a larger payload (a short count); else refuse it.
int read_msg(Notif& n, uint64_t p, Msg& m, bool stream) {
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
    if (m.data.size() + v.iov_len > kMaxPayload) {
      if (!stream) return -EMSGSIZE;
      v.iov_len = kMaxPayload - m.data.size();
    }
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

// A packet-info control message that names neither a source address nor an interface (as
// the setsockopt lists, filter.h: a source the machine may not have sends replies to another
// host, an interface takes a loopback packet onto the LAN).
bool plain_pktinfo(const cmsghdr& c) {
  if (c.cmsg_level == SOL_IP) {
    if (c.cmsg_len < CMSG_LEN(sizeof(in_pktinfo))) return false;
    in_pktinfo p;
    memcpy(&p, CMSG_DATA(&c), sizeof p);
    return p.ipi_ifindex == 0 && p.ipi_spec_dst.s_addr == 0;
  }
  if (c.cmsg_len < CMSG_LEN(sizeof(in6_pktinfo))) return false;
  in6_pktinfo p;
  memcpy(&p, CMSG_DATA(&c), sizeof p);
  static const in6_addr any = IN6ADDR_ANY_INIT;
  return p.ipi6_ifindex == 0 && memcmp(&p.ipi6_addr, &any, sizeof any) == 0;
}

// Control messages the kernel takes from a sender without checking its capabilities (a
// root supervisor has them all, a root sandbox not: SO_MARK would route around policy
// routing, IP options need CAP_NET_RAW): the rest are refused. SCM_RIGHTS are translated
// below; SCM_CREDENTIALS would carry our identity.
bool harmless_cmsg(const cmsghdr& c) {
  switch (c.cmsg_level) {
    case SOL_SOCKET: return c.cmsg_type == SCM_RIGHTS || c.cmsg_type == SO_TIMESTAMPING || c.cmsg_type == SO_TXTIME;
    case SOL_IP: return c.cmsg_type == IP_TOS || c.cmsg_type == IP_TTL || (c.cmsg_type == IP_PKTINFO && plain_pktinfo(c));
    case SOL_IPV6:
      return c.cmsg_type == IPV6_TCLASS || c.cmsg_type == IPV6_HOPLIMIT || (c.cmsg_type == IPV6_PKTINFO && plain_pktinfo(c)) ||
             c.cmsg_type == IPV6_DONTFRAG;
    case IPPROTO_UDP: return c.cmsg_type == UDP_SEGMENT;  // SOL_UDP: GSO (QUIC stacks send with it)
    default: return false;
  }
}

// SCM_RIGHTS carry the tracee's fd numbers: swap in our copies. Anything but the harmless
// control messages is refused (sent by us it would carry our authority).
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
    if (!harmless_cmsg(*c)) return -EPERM;
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type != SCM_RIGHTS) continue;
    if (!pidfd.ok()) pidfd.reset(sys_pidfd_open(n.caller.tgid, 0));
    int* fds = reinterpret_cast<int*>(CMSG_DATA(c));
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    m.held = &n.core->heldFds;
    for (size_t i = 0; i < count; i++) {
      if (m.held->fetch_add(1) >= kMaxHeldFds) {
        (*m.held)--;
        return -ENOBUFS;
      }
      Fd ours(sys_pidfd_getfd(pidfd.get(), fds[i], 0));
      if (!ours.ok()) {
        (*m.held)--;
        return -EBADF;
      }
      fds[i] = ours.get();
      m.fds.push_back(std::move(ours));
    }
  }
  return 0;
}

// Sends m's data from `off` on (its control messages only with the first byte).
ssize_t send_one(int sock, Msg& m, int flags, size_t off = 0) {
  msghdr h{};
  iovec v{m.data.size() <= off ? nullptr : &m.data[off], m.data.size() - std::min(off, m.data.size())};
  h.msg_iov = &v;
  h.msg_iovlen = 1;
  if (m.has_addr && m.addr.present) h.msg_name = &m.addr.ss, h.msg_namelen = m.addr.len;
  if (!m.control.empty() && off == 0) h.msg_control = &m.control[0], h.msg_controllen = m.control.size();
  ssize_t r = sendmsg(sock, &h, (flags & kSendFlags) | MSG_NOSIGNAL);
  return r < 0 ? -errno : r;
}

// The socket's send timeout (SO_SNDTIMEO) as a deadline on CLOCK_MONOTONIC in ms, 0 for none.
int64_t now_ms_mono() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}
int64_t send_deadline(int sock) {
  timeval tv{};
  socklen_t tl = sizeof tv;
  if (getsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, &tl) != 0 || (!tv.tv_sec && !tv.tv_usec)) return 0;
  return now_ms_mono() + tv.tv_sec * 1000LL + tv.tv_usec / 1000;
}

// One tick of a helper's wait is over (the kernel's call was broken by our timer, or could not
// wait): 0 to go on, or what to answer — the caller is gone (-ESRCH: nobody reads the answer),
// a signal would have ended the kernel's wait, or the socket's send timeout ran out.
int wait_over(Notif& n, int& tick, bool& shared_seen, long& tracer, int64_t deadline, int timeout_err) {
  if (!n.valid()) return -ESRCH;
  if (int e = signal_ends_wait(n, ++tick, shared_seen, tracer)) return -e;
  if (deadline && now_ms_mono() >= deadline) return -timeout_err;
  return 0;
}

// A send whose caller waits, on a helper thread (run_call). The kernel's own wait, a tick at a
// time (a thread timer breaks it with EINTR), never longer: it ends when the caller is gone —
// then nothing holds our copies of the socket and of the fds the message carries any more
// (a program that parks a socket's peer in a send that never completes cannot make us keep
// it) —, when a signal would have ended the kernel's wait (as accept's), or when the socket's
// send timeout runs out. A stream send goes on where an interrupted one stopped (the kernel's
// sends all of it); the count sent is the answer once something was. A fast-open send first
// connects without waiting (its SYN may carry data), then sends the rest on the connection.
ssize_t send_waiting(Notif& n, Sock& s, Msg& m) {
  unblock_wake_signal();
  int flags = m.flags & ~MSG_DONTWAIT;
  const bool stream = s.type == SOCK_STREAM;
  size_t off = 0;
  if (flags & MSG_FASTOPEN) {
    ssize_t r = send_one(s.fd.get(), m, flags | MSG_DONTWAIT);
    if (r < 0 && r != -EINPROGRESS) return r;
    if (r > 0) off = static_cast<size_t>(r);
    if (off >= m.data.size()) return static_cast<ssize_t>(off);
    flags &= ~MSG_FASTOPEN;
    m.has_addr = false;  // connecting: the destination is decided and set
  }
  bool shared_seen = false;
  int tick = 0;
  long tracer = caller_tracer(n);
  const int64_t deadline = send_deadline(s.fd.get());
  for (;;) {
    const bool armed = arm_wake_timer(kTickNs);
    ssize_t r = checked_at_boundary(n, s, m.addr.boundary, m.addr.ip, [&] { return send_one(s.fd.get(), m, armed ? flags : flags | MSG_DONTWAIT, off); });
    disarm_wake_timer();
    if (r >= 0) {
      off += static_cast<size_t>(r);
      if (!stream || off >= m.data.size()) return stream ? static_cast<ssize_t>(off) : r;
      continue;  // the rest, waiting again if it must
    }
    // EAGAIN from a call that could wait: the file is non-blocking now, or the socket's own
    // send timeout (shorter than a tick) ran out: the kernel's answer.
    if (r != -EINTR && !(r == -EAGAIN && !armed)) return off ? static_cast<ssize_t>(off) : r;
    if (!armed) {
      pollfd p{s.fd.get(), POLLOUT, 0};
      if (poll(&p, 1, static_cast<int>(kTickNs / 1000000)) == 1) usleep(1000);  // ready: or a unix datagram's peer still full
    }
    if (int e = wait_over(n, tick, shared_seen, tracer, deadline, EAGAIN)) return off ? static_cast<ssize_t>(off) : e;
  }
}

// connect on our copy, with a thread timer armed for `ns` (it returns EINTR if it waited that
// long): 0, or -1 with errno as connect left it; -2: no timer could be armed (nothing tried).
int connect_timed(int sock, const Addr& ad, long ns) {
  if (!arm_wake_timer(ns)) return -2;
  int r = connect(sock, reinterpret_cast<const sockaddr*>(&ad.ss), ad.len);
  const int err = errno;
  disarm_wake_timer();
  errno = err;
  return r;
}

// connect_timed for `n`'s program, checked again at the override boundary and connected as
// one step (checked_at_boundary): 0, or -1 with errno (EACCES refused there), or -2 (no timer).
int connect_checked(Notif& n, const Sock& s, const Addr& ad, long ns) {
  int r = -1, err = 0;
  const long refused = checked_at_boundary(n, s, ad.boundary, ad.ip, [&]() -> long {
    r = connect_timed(s.fd.get(), ad, ns);
    err = errno;
    // Which listener gets the SYN is settled with the handshake, which may finish in a softirq
    // after connect returned: waited for (briefly) before the lock goes.
    if (ad.boundary && r == -1 && err == EINPROGRESS && s.type == SOCK_STREAM) {
      pollfd p{s.fd.get(), POLLOUT, 0};
      poll(&p, 1, static_cast<int>(kGuardNs / 1000000));
    }
    return 0;
  });
  if (refused) return errno = EACCES, -1;
  errno = err;
  return r;
}

// A connect whose caller waits, on a helper thread: the kernel's wait a tick at a time, as
// send_waiting's. Called again after our timer broke it, a TCP connect in progress goes on
// waiting (and answers 0 or the connection's error); a unix one tries again. The send timeout
// (SO_SNDTIMEO) bounds it as it bounds the kernel's (EINPROGRESS).
int connect_waiting(Notif& n, Sock& s, const Addr& ad) {
  unblock_wake_signal();
  bool shared_seen = false;
  int tick = 0;
  long tracer = caller_tracer(n);
  const int64_t deadline = send_deadline(s.fd.get());
  for (;;) {
    int r = connect_checked(n, s, ad, kTickNs);
    if (r == -2) {
      if (ad.boundary) return -EAGAIN;  // no timer, and no blocking connect under hold_servers
      r = connect(s.fd.get(), reinterpret_cast<const sockaddr*>(&ad.ss), ad.len);  // no timer: as before
    }
    if (r == 0) return 0;
    if (errno != EINTR) return -errno;
    if (int e = wait_over(n, tick, shared_seen, tracer, deadline, EINPROGRESS)) return e;
  }
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
  if (decide_dest(n, *s, *ad, Op::kConnect)) return;
  if (ad->to_own_proxy) proxy_expect(inode_of(s->fd.get()), ad->proxy_port, n.pol->id);
  // A unix stream/seqpacket client is recorded before the connect: its server may accept
  // before the connect returns (accept.cc asks whether a connection is this session's).
  const uint32_t client = s->domain == AF_UNIX && s->type != SOCK_DGRAM ? static_cast<uint32_t>(inode_of(s->fd.get())) : 0;
  if (client) n.core->served().add_client(client);
  const uint64_t id = n.req.id;
  const int lis = n.listener();
  auto core = n.core;
  auto answer = [id, lis, client, core](int r) {
    // A connect that failed connected nothing: its record would only crowd out live ones.
    if (r < 0 && client && r != -EINPROGRESS && r != -EALREADY) core->served().take_client(client);
    reply_value(lis, id, r);
  };
  // A receiver thread never waits on a program's peer: a socket that looked non-blocking is
  // connected here under a timer (another thread of the program may make the file blocking
  // meanwhile: then the connect waited, and the rest of its wait is a helper's).
  if (!s->blocking) {
    int r = connect_checked(n, *s, *ad, kGuardNs);
    if (r == 0 || (r == -1 && errno != EINTR)) return answer(r < 0 ? -errno : 0);
  }
  auto self = std::make_shared<Notif>(n);
  run_call(n, true, [self, s, ad, answer] { answer(connect_waiting(*self, *s, *ad)); });
}

// sendto's buffer and address. A stream takes what fits (a short count, as the kernel may
// give); a datagram larger than we carry is refused.
int read_sendto(Notif& n, Msg& m, bool stream) {
  const auto& a = n.req.data.args;
  m.flags = static_cast<int>(a[3]);
  uint64_t len = a[2];
  if (len > kMaxPayload) {
    if (!stream) return -EMSGSIZE;
    len = kMaxPayload;
  }
  if (int e = read_addr(n, a[4], a[5], m.addr)) return e;
  m.has_addr = true;
  m.data.resize(len);
  if (len && read_mem(n.caller.tid, a[1], &m.data[0], len) < 0) return -EFAULT;
  return 0;
}

// Sends m on our copy of the socket and answers. A caller that would wait is tried without
// waiting first: most sends go at once, and only one that must wait takes a thread (not a
// fast-open send: it connects, and without waiting would say EINPROGRESS).
//
// A receiver thread never waits on a program's peer: what it sends it sends with MSG_DONTWAIT,
// whatever the file's flags said when get_socket looked (another thread of the program may
// have cleared O_NONBLOCK since). Only a caller that asked to wait gets a helper thread.
void send_answer(Notif& n, const std::shared_ptr<Sock>& s, const std::shared_ptr<Msg>& m) {
  const bool may_block = s->blocking && !(m->flags & MSG_DONTWAIT);
  if (!may_block || !(m->flags & MSG_FASTOPEN)) {
    ssize_t r = checked_at_boundary(n, *s, m->addr.boundary, m->addr.ip, [&] { return send_one(s->fd.get(), *m, m->flags | MSG_DONTWAIT); });
    if (!may_block || r != -EAGAIN) return void(reply_value(n.listener(), n.req.id, r));
  }
  auto self = std::make_shared<Notif>(n);
  run_call(n, true, [self, s, m] { reply_value(self->listener(), self->req.id, send_waiting(*self, *s, *m)); });
}

// One sendto's or sendmsg's message (flags, address, data, control), copied once.
int read_send(Notif& n, Msg& m, bool stream) {
  if (n.req.data.nr == SYS_sendto) return read_sendto(n, m, stream);
  m.flags = static_cast<int>(n.req.data.args[2]);
  return read_msg(n, n.req.data.args[1], m, stream);
}

// sendto and sendmsg. decide: the address counts (false: the socket ignores it, TCP and unix
// stream/seqpacket, or refuses it; the kernel still says which, on our copy).
void do_send(Notif& n, std::shared_ptr<Sock> s, bool decide) {
  auto m = std::make_shared<Msg>();
  int e = read_send(n, *m, !decide);
  if (e < 0) return void(reply_error(n.listener(), n.req.id, -e));
  if (!n.valid()) return;
  if ((e = translate_control(n, *m)) < 0) return void(reply_error(n.listener(), n.req.id, -e));
  // A TCP fast-open send connects: decided (and proxy-checked) like connect.
  bool fastopen = s->domain != AF_UNIX && s->type == SOCK_STREAM && (m->flags & MSG_FASTOPEN);
  if (decide && m->has_addr && decide_dest(n, *s, m->addr, fastopen ? Op::kConnect : Op::kSend)) return;
  if (m->addr.to_own_proxy) proxy_expect(inode_of(s->fd.get()), m->addr.proxy_port, n.pol->id);
  send_answer(n, s, m);
}

void do_sendmmsg(Notif& n, std::shared_ptr<Sock> s, bool decide) {
  const auto& a = n.req.data.args;
  const uint64_t vec = a[1];
  const unsigned vlen = static_cast<unsigned>(std::min<uint64_t>(a[2], 1024));
  const int flags = static_cast<int>(a[3]);
  auto msgs = std::make_shared<std::vector<Msg>>(vlen);
  size_t total = 0;
  for (unsigned i = 0; i < vlen; i++) {
    int e = read_msg(n, vec + i * sizeof(mmsghdr), (*msgs)[i], false);
    if (e == 0) e = translate_control(n, (*msgs)[i]);
    total += (*msgs)[i].data.size() + (*msgs)[i].control.size();
    if (e == 0 && total > kMaxPayload) e = -EMSGSIZE;  // bound what one call can make us hold
    if (e < 0) return void(reply_error(n.listener(), n.req.id, -e));
  }
  if (!n.valid()) return;
  bool fastopen = s->domain != AF_UNIX && s->type == SOCK_STREAM && (flags & MSG_FASTOPEN);
  for (auto& m : *msgs) {
    if (decide && m.has_addr && decide_dest(n, *s, m.addr, fastopen ? Op::kConnect : Op::kSend)) return;
    if (m.addr.to_own_proxy) proxy_expect(inode_of(s->fd.get()), m.addr.proxy_port, n.pol->id);
  }
  const int tid = n.caller.tid;
  // As send_answer: without waiting on a receiver thread; each message waits on a helper.
  const bool may_block = s->blocking && !(flags & MSG_DONTWAIT);
  auto self = std::make_shared<Notif>(n);
  run_call(n, may_block, [self, s, msgs, tid, vec, flags, may_block] {
    const uint64_t id = self->req.id;
    const int lis = self->listener();
    long sent = 0;
    for (auto& m : *msgs) {
      m.flags = flags;
      ssize_t r = may_block ? send_waiting(*self, *s, m)
                            : checked_at_boundary(*self, *s, m.addr.boundary, m.addr.ip, [&] { return send_one(s->fd.get(), m, flags | MSG_DONTWAIT); });
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

// Routing netlink (the only netlink the filter lets a sandbox open) talks to the kernel. Sent
// on our copy WITHOUT an address: with one the kernel checks only the sender's capabilities
// (NETLINK_SKB_DST), which would be ours (a root supervisor would lend a sandbox its own);
// without, the socket opener's (the caller's) as well. So only the kernel is a destination.
// What a refused netlink send was addressed to, for the denial line.
std::string netlink_target(const sockaddr_nl& a) {
  return "netlink send to " + (a.nl_groups ? "multicast groups " + std::to_string(a.nl_groups) : "port " + std::to_string(a.nl_pid)) +
         " (only requests to the kernel are sent)";
}

void do_netlink_send(Notif& n, std::shared_ptr<Sock> s) {
  if (n.req.data.nr == SYS_sendmmsg) return void(reply_error(n.listener(), n.req.id, EOPNOTSUPP));
  auto m = std::make_shared<Msg>();
  int e = read_send(n, *m, false);
  if (e < 0) return void(reply_error(n.listener(), n.req.id, -e));
  if (!n.valid()) return;
  if ((e = translate_control(n, *m)) < 0) return void(reply_error(n.listener(), n.req.id, -e));
  auto to_kernel = [](const sockaddr_nl& a) { return a.nl_pid == 0 && a.nl_groups == 0; };
  if (m->has_addr) {
    if (m->addr.len < sizeof(sockaddr_nl) || m->addr.ss.ss_family != AF_NETLINK)
      return void(reply_error(n.listener(), n.req.id, EINVAL));
    const auto& to = *reinterpret_cast<const sockaddr_nl*>(&m->addr.ss);
    if (!to_kernel(to)) return void(refuse(n, Decision{false, -2}, "net", netlink_target(to), EPERM));
  }
  sockaddr_nl peer{};
  socklen_t pl = sizeof peer;
  if (getpeername(s->fd.get(), reinterpret_cast<sockaddr*>(&peer), &pl) == 0 && !to_kernel(peer))
    return void(refuse(n, Decision{false, -2}, "net", netlink_target(peer), EPERM));
  m->has_addr = false;
  // The kernel answers a request to itself at once (netlink_unicast_kernel): no waiting.
  reply_value(n.listener(), n.req.id, send_one(s->fd.get(), *m, m->flags | MSG_DONTWAIT));
}

// Remembers what socket `sock` was just bound to as this session's: its cookie (abstract
// names, autobind), and for a pathname (parent/name) the file — only when the file at that
// name is the one the socket is bound to (a racing rename/link could have put another
// socket file there).
void remember_served(Notif& n, int sock, int parent, const std::string& name) {
  UnixDiag d;
  if (!unix_diag_of(sock, d)) return;
  n.core->served().add_cookie(d.cookie, n.pol->id);
  if (parent < 0 || !d.has_vfs) return;
  Fd pin(openat(parent, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  struct stat st;
  if (!pin.ok() || fstat(pin.get(), &st) < 0 || st.st_ino != d.vfs_ino) return;
  // udiag_vfs_dev is the kernel's own dev_t (MKDEV: 12-bit major above a 20-bit minor).
  unsigned maj = d.vfs_dev >> 20, min = d.vfs_dev & 0xfffff;
  if (major(st.st_dev) != maj || minor(st.st_dev) != min) return;
  n.core->served().add_file(std::move(pin), n.pol->id);
}

// bind on a unix socket. Returns when answered.
void bind_unix(Notif& n, const Sock& s, Addr& ad) {
  if (ad.ss.ss_family != AF_UNIX || ad.len > sizeof(sockaddr_un)) return void(reply_error(n.listener(), n.req.id, EINVAL));
  std::string name = unix_name(ad);
  if (name.empty()) {  // autobind: a fresh abstract name nobody chose
    int r = bind(s.fd.get(), reinterpret_cast<sockaddr*>(&ad.ss), ad.len);
    int err = errno;
    if (r == 0) remember_served(n, s.fd.get(), -1, "");
    return void(reply_value(n.listener(), n.req.id, r < 0 ? -err : 0));
  }
  if (name[0] == '@') {
    // Serving on an abstract name: anyone in the network namespace can connect.
    UnixName u = decide_unix_all(n, name);
    if (u.kind == UnixName::kDenied && refuse(n, Decision{false, u.rule, u.own}, "unix", "bind " + name, EACCES)) return;
    if (restricted(n) && u.kind != UnixName::kNamed &&
        refuse(n, Decision{false, u.rule}, "unix", "bind " + name + " (serving on an abstract name needs net.unix.allow)",
               EACCES))
      return;
    int r = bind(s.fd.get(), reinterpret_cast<sockaddr*>(&ad.ss), ad.len);
    int err = errno;
    if (r == 0) remember_served(n, s.fd.get(), -1, "");
    return void(reply_value(n.listener(), n.req.id, r < 0 ? -err : 0));
  }
  // A pathname: a new file in its directory (the write policy), created by us relative
  // to the directory we resolved (never by re-reading the tracee's path).
  Fd base;
  int e = 0;
  if (name[0] != '/' && (e = open_base(n.caller, AT_FDCWD, base)) < 0) return void(reply_error(n.listener(), n.req.id, -e));
  Resolved rp;
  if (resolve_failed(n, resolve_parent(n.caller, base.get(), name, rp), rp)) return;
  Fd parent = std::move(rp.parent);
  const std::string last = rp.name, dir = rp.path;
  if (check_access(n, false, true, join_path(dir, last))) return;
  if (dev_name_refused(n, join_path(dir, last))) return;  // as root, a server at /dev/log
  // A socket file in /dev/shm is a name like any other there (shm_files.h).
  struct stat dir_st;
  if (fstat(parent.get(), &dir_st) == 0 && shm_create_refused(n, parent.get(), dir_st, join_path(dir, last))) return;
  // Bound as "name" from inside the directory: the socket's address (getsockname) is then
  // that name, not a path of ours. This receiver thread has its own fs struct (engine.cc
  // unshares CLONE_FS, as use_caller_umask needs): its cwd is ours to move.
  sockaddr_un rel{};
  rel.sun_family = AF_UNIX;
  if (last.size() >= sizeof rel.sun_path) return void(reply_error(n.listener(), n.req.id, ENAMETOOLONG));
  memcpy(rel.sun_path, last.c_str(), last.size());
  use_caller_umask(n);
  Fd here(open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!here.ok() || fchdir(parent.get()) < 0) return void(reply_error(n.listener(), n.req.id, EIO));
  int r = bind(s.fd.get(), reinterpret_cast<sockaddr*>(&rel), static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + last.size() + 1));
  int err = errno;
  if (fchdir(here.get()) < 0 && chdir("/") < 0) { /* nothing relies on a receiver's cwd */ }
  if (r == 0 && !shm_record(n, join_path(dir, last), -1, parent.get(), last.c_str())) {
    unlinkat(parent.get(), last.c_str(), 0);
    return void(reply_error(n.listener(), n.req.id, ENOSPC));
  }
  if (r == 0) remember_served(n, s.fd.get(), parent.get(), last);
  reply_value(n.listener(), n.req.id, r < 0 ? -err : 0);
}

// A socket that got SO_REUSEPORT (or, a datagram one, SO_REUSEADDR) before the sandbox had
// it — inherited, or passed in by a process outside — would share its port with a server
// outside all the same (do_setsockopt refuses setting them inside): its bind is refused.
// Returns true when answered.
bool shares_port(Notif& n, const Sock& s) {
  int port = 0, addr = 0;
  socklen_t l = sizeof port;
  getsockopt(s.fd.get(), SOL_SOCKET, SO_REUSEPORT, &port, &l);
  l = sizeof addr;
  getsockopt(s.fd.get(), SOL_SOCKET, SO_REUSEADDR, &addr, &l);
  if (!port && !(addr && s.type == SOCK_DGRAM)) return false;
  return refuse(n, Decision{false, -2}, "net",
                std::string("bind of a socket with ") + (port ? "SO_REUSEPORT" : "SO_REUSEADDR") +
                    " set before the sandbox had it (it would share a port with a server outside the sandbox)",
                EPERM);
}

void do_bind(Notif& n) {
  const auto& a = n.req.data.args;
  Addr ad;
  int e = read_addr(n, a[1], a[2], ad);
  if (e < 0) return void(reply_error(n.listener(), n.req.id, -e));
  if (!n.valid()) return;
  Sock s;
  if ((e = get_socket(n, static_cast<int>(a[0]), s)) < 0) {
    if (e != -ESRCH) reply_error(n.listener(), n.req.id, -e);
    return;
  }
  if (ad.len < sizeof(sa_family_t)) return void(reply_error(n.listener(), n.req.id, EINVAL));
  switch (s.domain) {
    case AF_UNIX:
      return bind_unix(n, s, ad);
    case AF_INET:
    case AF_INET6: {
      Ip ip;
      e = inet_addr(s, ad, Op::kBind, ip);
      if (e > 0) return void(reply_error(n.listener(), n.req.id, e));
      if (decide_serve(n, ip, s.domain == AF_INET6 && !v6only(s.fd.get()), true)) return;
      // A multicast group is an address to receive on; any other must be this machine's
      // (the kernel takes others with ip_nonlocal_bind set): packets sent from it would
      // claim another host's address, and that host would get the replies.
      if (!multicast_address(ip) && !local_address(ip))
        return void(refuse(n, Decision{false, -2}, "net", "bind " + ip_text(ip) + " (an address this machine does not have: replies would go to another host)", EADDRNOTAVAIL));
      if (shares_port(n, s)) return;
      auto held = hold_servers();  // checked, bound and recorded as one step (checked_at_boundary)
      if (takes_outside_clients(n, s, ip.fam, ip.port)) return;
      if (connected_across_override(n, s, ip)) return;
      if (record_full(n, "bind " + ip_text(ip))) return;
      // Port 0: a port sbx checked, not the kernel's unchecked pick (pick_port).
      if (ip.port == 0 && (s.type == SOCK_STREAM || s.type == SOCK_DGRAM) && pick_port(n, s, ip, ad.ss, ad.len)) return;
      const int r = bind(s.fd.get(), reinterpret_cast<sockaddr*>(&ad.ss), ad.len);
      if (r == 0) record_session_socket(n, s);
      return void(reply_value(n.listener(), n.req.id, r < 0 ? -errno : 0));
    }
    case AF_NETLINK:
      break;  // NETLINK_ROUTE multicast groups: routing news, nobody to serve
    default:
      if (restricted(n) && refuse(n, Decision{false, -1}, "net", "bind socket family " + std::to_string(s.domain), EACCES))
        return;
  }
  int r = bind(s.fd.get(), reinterpret_cast<sockaddr*>(&ad.ss), ad.len);
  reply_value(n.listener(), n.req.id, r < 0 ? -errno : 0);
}

void do_listen(Notif& n) {
  Sock s;
  int e = get_socket(n, static_cast<int>(n.req.data.args[0]), s);
  if (e < 0) {
    if (e != -ESRCH) reply_error(n.listener(), n.req.id, -e);
    return;
  }
  std::unique_lock<std::mutex> held;
  if (s.domain == AF_INET || s.domain == AF_INET6) {
    // Decided on the address the socket really has (an unbound one gets a wildcard
    // ephemeral port from listen: decided as the wildcard, port 0).
    sockaddr_storage me{};
    socklen_t l = sizeof me;
    if (getsockname(s.fd.get(), reinterpret_cast<sockaddr*>(&me), &l) < 0) return void(reply_error(n.listener(), n.req.id, errno));
    Ip ip;
    if (me.ss_family == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(&me);
      memcpy(ip.b, &in->sin_addr, 4);
      ip.port = ntohs(in->sin_port);
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&me);
      ip.port = ntohs(in6->sin6_port);
      if (memcmp(in6->sin6_addr.s6_addr, kMapped, 12) == 0) {
        memcpy(ip.b, in6->sin6_addr.s6_addr + 12, 4);
      } else {
        ip.fam = 6;
        memcpy(ip.b, in6->sin6_addr.s6_addr, 16);
      }
    }
    if (decide_serve(n, ip, s.domain == AF_INET6 && !v6only(s.fd.get()), false)) return;
    if (record_full(n, "listen " + ip_text(ip))) return;
    // Checked, (bound,) listening and recorded as one step (checked_at_boundary).
    held = hold_servers();
    if (takes_outside_clients(n, s, ip.fam, ip.port)) return;
    // Never bound: listen would take a port the kernel picks, unchecked. A checked one first.
    if (ip.port == 0 && s.type == SOCK_STREAM) {
      if (pick_port(n, s, ip, me, l)) return;
      if (bind(s.fd.get(), reinterpret_cast<sockaddr*>(&me), l) < 0) return void(reply_error(n.listener(), n.req.id, errno));
    }
  } else if (s.domain != AF_UNIX && restricted(n) &&
             refuse(n, Decision{false, -1}, "net", "listen socket family " + std::to_string(s.domain), EACCES)) {
    return;
  }
  // Ours, not CONTINUE: a racing dup2 could put another socket under the same number.
  int r = listen(s.fd.get(), static_cast<int>(n.req.data.args[1]));
  // One that was never bound got its port here: the session's server from now on.
  if (r == 0 && (s.domain == AF_INET || s.domain == AF_INET6)) record_session_socket(n, s);
  reply_value(n.listener(), n.req.id, r < 0 ? -errno : 0);
}

}  // namespace

void handle_net(Notif& n) {
  const int nr = n.req.data.nr;
  if (nr == SYS_setsockopt) return do_setsockopt(n);
  if (nr == SYS_connect) return do_connect(n);
  if (nr == SYS_bind) return do_bind(n);
  if (nr == SYS_listen) return do_listen(n);
  auto s = std::make_shared<Sock>();
  int e = get_socket(n, static_cast<int>(n.req.data.args[0]), *s);
  if (e < 0) {
    if (e != -ESRCH) reply_error(n.listener(), n.req.id, -e);
    return;
  }
  // Every send is ours, on our copy: a CONTINUE would have the kernel look the fd number up
  // again (a racing dup2 puts a UDP socket where we saw a TCP one) and read the msghdr again.
  if (s->domain == AF_NETLINK) return do_netlink_send(n, s);
  const uint64_t flags = nr == SYS_sendmsg ? n.req.data.args[2] : n.req.data.args[3];
  const bool decide = !address_ignored(*s, flags);
  if (nr == SYS_sendmmsg) return do_sendmmsg(n, s, decide);
  do_send(n, s, decide);
}

}  // namespace sbx
