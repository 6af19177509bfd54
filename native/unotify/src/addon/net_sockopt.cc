// setsockopt calls the filter traps (filter.h SBX_CHECK_setsockopt): what would share a port
// with a server outside, pin a socket to an interface, join a multicast group, or is off the
// IP/IPv6 lists (routing headers, source routes, foreign source addresses) or of an unknown
// level. The engine decides each, and does the allowed ones itself on its copy of the socket
// (a racing dup2 could put another socket under the number).
#include <linux/in6.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine.h"
#include "memory.h"
#include "net_socket.h"

#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif

namespace sbx {

namespace {

// The caller's option value, at most 64 KiB (the largest the kernel takes is a multicast
// source filter, far smaller). False: answered (EFAULT, EINVAL) or the caller is gone.
bool read_optval(Notif& n, std::vector<char>& val) {
  const uint64_t len = static_cast<uint32_t>(n.req.data.args[4]);
  if (len > 65536) return reply_error(n.listener(), n.req.id, EINVAL), false;
  val.resize(len);
  if (len && read_mem(n.caller.tid, n.req.data.args[3], val.data(), len) < 0)
    return reply_error(n.listener(), n.req.id, EFAULT), false;
  return n.valid();
}

// Sets the option on our copy of the caller's socket, as asked; answers.
void set_on_copy(Notif& n, const std::vector<char>& val) {
  const auto& a = n.req.data.args;
  Sock s;
  if (int e = get_socket(n, static_cast<int>(a[0]), s); e < 0) {
    if (e != -ESRCH) reply_error(n.listener(), n.req.id, -e);
    return;
  }
  const int r = setsockopt(s.fd.get(), static_cast<int>(a[1]), static_cast<int>(a[2]), val.empty() ? nullptr : val.data(),
                           static_cast<socklen_t>(val.size()));
  reply_value(n.listener(), n.req.id, r < 0 ? -errno : 0);
}

// SO_REUSEPORT | SO_REUSEADDR: either lets a bind share a port with a socket that asked for
// it too — one outside the sandbox: SO_REUSEPORT joins an outside TCP or UDP server's
// reuseport group (the kernel spreads its clients over the group: nginx `reuseport`, envoy,
// Node's reusePort, many Go and Rust servers), SO_REUSEADDR on a UDP socket takes the unicast
// datagrams of a port an outside socket with it serves (the kernel gives them to the last one
// bound). Allowing it only when no socket outside is bound there would not hold: the outside
// server may bind (or rebind, on a restart) after the sandbox's socket. So both are refused on
// inet sockets, whatever the network policy (SO_REUSEADDR on datagram sockets only: on TCP it
// lets a server bind a port with connections in TIME_WAIT, never one a listener holds, and
// servers set it routinely). Turning either off, and other families, are done as asked.
void set_reuse(Notif& n, int opt) {
  const auto& a = n.req.data.args;
  if (static_cast<uint32_t>(a[4]) < sizeof(int)) return void(reply_error(n.listener(), n.req.id, EINVAL));
  std::vector<char> val;
  if (!read_optval(n, val)) return;
  int on = 0;
  memcpy(&on, val.data(), sizeof on);
  Sock s;
  if (int e = get_socket(n, static_cast<int>(a[0]), s); e < 0) {
    if (e != -ESRCH) reply_error(n.listener(), n.req.id, -e);
    return;
  }
  const bool inet = s.domain == AF_INET || s.domain == AF_INET6;
  if (on != 0 && inet && (opt == SO_REUSEPORT || s.type == SOCK_DGRAM)) {
    const std::string kind = s.type == SOCK_STREAM ? "TCP" : s.type == SOCK_DGRAM ? "UDP" : "inet";
    const std::string what =
        opt == SO_REUSEPORT
            ? "SO_REUSEPORT on a " + kind + " socket (it would share a port with a server outside the sandbox; servers inside cannot use SO_REUSEPORT)"
            : "SO_REUSEADDR on a UDP socket (it would take the datagrams of a port a program outside serves)";
    return void(refuse(n, Decision{false, -2}, "net", what, EPERM));
  }
  const int r = setsockopt(s.fd.get(), SOL_SOCKET, opt, &on, sizeof on);
  reply_value(n.listener(), n.req.id, r < 0 ? -errno : 0);
}

// SO_BINDTODEVICE | SO_BINDTOIFINDEX: packets for a decided address would leave by the
// interface named, whatever the route says (127.0.0.1 sent out on the LAN to whoever
// listens there). Unbinding (an empty name, index 0) is done as asked.
void set_device(Notif& n, int opt) {
  std::vector<char> val;
  if (!read_optval(n, val)) return;
  bool unbind = val.empty() || val[0] == '\0';
  if (opt == SO_BINDTOIFINDEX) {
    int index = -1;
    if (val.size() >= sizeof index) memcpy(&index, val.data(), sizeof index);
    unbind = index == 0;
  }
  if (!unbind)
    return void(refuse(n, Decision{false, -2}, "net",
                       std::string("setsockopt ") + (opt == SO_BINDTODEVICE ? "SO_BINDTODEVICE" : "SO_BINDTOIFINDEX") +
                           " (an interface of the program's choosing: packets for a decided address would leave by it, a loopback one onto the LAN)",
                       EPERM));
  set_on_copy(n, val);
}

// Multicast and anycast joins: the kernel reports each to the network (IGMP, MLD) with the
// group and the sources given, data of the caller's choosing sent with no send decided. Done
// where the network is not restricted (anything may be sent there anyway), refused where it is.
bool membership_option(int level, int opt) {
  if (level == IPPROTO_IP) return opt >= IP_ADD_MEMBERSHIP && opt <= MCAST_MSFILTER;  // 35 … 48
  if (level == IPPROTO_IPV6)
    return opt == IPV6_ADD_MEMBERSHIP || opt == IPV6_DROP_MEMBERSHIP || opt == IPV6_JOIN_ANYCAST ||
           opt == IPV6_LEAVE_ANYCAST || (opt >= MCAST_JOIN_GROUP && opt <= MCAST_MSFILTER);
  return false;
}

void set_membership(Notif& n, int level) {
  const std::string what = level == IPPROTO_IP ? "IP multicast membership" : "IPv6 multicast membership";
  if (restricted(n))
    return void(refuse(n, Decision{false, -2}, "net",
                       "setsockopt " + what + " (the kernel reports a join to the network with the addresses given; refused where the network policy denies by default)",
                       EPERM));
  std::vector<char> val;
  if (read_optval(n, val)) set_on_copy(n, val);
}

// The IP and IPv6 options the filter traps and the engine never sets, named for the denial
// line with why each class is refused.
std::string refused_sockopt(int level, int opt) {
  struct Named {
    int level, opt;
    const char* name;
    const char* why;
  };
  static const char* const kRoute = "a routing header or source route: packets would go to other hosts than the address decided";
  static const char* const kSource = "a source address this machine may not have: replies would go to another host";
  static const char* const kIface = "an interface of the program's choosing: packets for a decided address would leave by it";
  static const char* const kHeaders = "extension headers the sandbox does not send";
  static const Named known[] = {
      {IPPROTO_IPV6, IPV6_RTHDR, "IPV6_RTHDR", kRoute},
      {IPPROTO_IPV6, IPV6_2292RTHDR, "IPV6_2292RTHDR", kRoute},
      {IPPROTO_IPV6, IPV6_2292PKTOPTIONS, "IPV6_2292PKTOPTIONS", kRoute},
      {IPPROTO_IPV6, IPV6_FLOWLABEL_MGR, "IPV6_FLOWLABEL_MGR", "a flow label can carry a routing header"},
      {IPPROTO_IPV6, IPV6_FLOWINFO_SEND, "IPV6_FLOWINFO_SEND", "a flow label can carry a routing header"},
      {IPPROTO_IP, IP_OPTIONS, "IP_OPTIONS", kRoute},
      {IPPROTO_IP, IP_FREEBIND, "IP_FREEBIND", kSource},
      {IPPROTO_IPV6, IPV6_FREEBIND, "IPV6_FREEBIND", kSource},
      {IPPROTO_IPV6, IPV6_PKTINFO, "IPV6_PKTINFO", kSource},
      {IPPROTO_IP, IP_UNICAST_IF, "IP_UNICAST_IF", kIface},
      {IPPROTO_IPV6, IPV6_UNICAST_IF, "IPV6_UNICAST_IF", kIface},
      {IPPROTO_IPV6, IPV6_HOPOPTS, "IPV6_HOPOPTS", kHeaders},
      {IPPROTO_IPV6, IPV6_DSTOPTS, "IPV6_DSTOPTS", kHeaders},
      {IPPROTO_IPV6, IPV6_RTHDRDSTOPTS, "IPV6_RTHDRDSTOPTS", kHeaders},
      {IPPROTO_IPV6, IPV6_2292HOPOPTS, "IPV6_2292HOPOPTS", kHeaders},
      {IPPROTO_IPV6, IPV6_2292DSTOPTS, "IPV6_2292DSTOPTS", kHeaders},
      {IPPROTO_IP, IP_TRANSPARENT, "IP_TRANSPARENT", "a transparent proxy's option"},
      {IPPROTO_IPV6, IPV6_TRANSPARENT, "IPV6_TRANSPARENT", "a transparent proxy's option"},
  };
  if (level != IPPROTO_IP && level != IPPROTO_IPV6) return "setsockopt level " + std::to_string(level) + " (not one the sandbox may set)";
  for (const Named& k : known)
    if (k.level == level && k.opt == opt) return std::string("setsockopt ") + k.name + " (" + k.why + ")";
  return std::string("setsockopt ") + (level == IPPROTO_IP ? "IP" : "IPv6") + " option " + std::to_string(opt) + " (not one the sandbox may set)";
}

}  // namespace

void do_setsockopt(Notif& n) {
  const int level = static_cast<int>(n.req.data.args[1]);
  const int opt = static_cast<int>(n.req.data.args[2]);
  if (level == SOL_SOCKET && (opt == SO_REUSEPORT || opt == SO_REUSEADDR)) return set_reuse(n, opt);
  if (level == SOL_SOCKET && (opt == SO_BINDTODEVICE || opt == SO_BINDTOIFINDEX)) return set_device(n, opt);
  if (level == SOL_SOCKET)  // not what the filter traps
    return void(report_error(n, "net", "setsockopt " + std::to_string(opt), EPERM));
  if (membership_option(level, opt)) return set_membership(n, level);
  refuse(n, Decision{false, -2}, "net", refused_sockopt(level, opt), EPERM);
}

}  // namespace sbx
