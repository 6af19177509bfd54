// See net_boundary.h.
#include "net_boundary.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "local_route.h"
#include "net_registry.h"

namespace sbx {

std::string ip_text(const Ip& ip) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(ip.fam == 4 ? AF_INET : AF_INET6, ip.b, buf, sizeof buf);
  return ip.fam == 4 ? std::string(buf) + ":" + std::to_string(ip.port)
                     : "[" + std::string(buf) + "]:" + std::to_string(ip.port);
}

// A server bound under policy `binder` and a client under policy `client`, of this session
// (override_boundary: the caller's): refused when either is a `commands:` override's and the
// other not the same one (session_server_refused for unix sockets). Returns the reason, else
// nullptr.
const char* override_boundary_between(Notif& n, int client, int binder) {
  if (binder == client) return nullptr;
  if (n.core->override_base(binder)) return " (a server a commands: override runs: it serves that override's programs only)";
  if (n.core->override_base(client))
    return " (a server of this session outside this commands: override: an override's programs meet only their own servers, "
           "those outside the sandbox and, for unix sockets, those net.unix.allow names)";
  return nullptr;
}
const char* override_boundary(Notif& n, int binder) { return override_boundary_between(n, n.pol->id, binder); }

namespace {

// The same for a client and a server on this machine's addresses, either of which may be in
// another session of this supervisor (port_squat.h's record): across sessions an override's
// server serves nobody, and an override's program reaches no sandboxed server (sessions do
// not share their overrides; unix sockets are kept to their session already).
const char* inet_boundary(Notif& n, const Binder& client, const Binder& server) {
  if (client.here && server.here) return override_boundary_between(n, client.policy, server.policy);
  if (server.override_) return " (a server a commands: override of another sbx session runs: it serves that override's programs in its session only)";
  if (client.override_)
    return " (a server of another sbx session: an override's programs meet only their own servers and those outside the sandbox)";
  return nullptr;
}

// The program asking, as the record names a party.
Binder me(Notif& n) { return Binder{true, n.pol->id, n.core->override_base(n.pol->id) != nullptr}; }

// Could an override be involved in anything a program could reach on this machine: does any
// policy of this process have `commands:` (port_squat.h)? Only then the engine looks up who
// serves a port (a sock_diag lookup).
bool override_involved(Notif&) { return overrides_configured(); }

}  // namespace

bool multicast_address(const Ip& ip) { return ip.fam == 4 ? (ip.b[0] & 0xf0) == 0xe0 : ip.b[0] == 0xff; }

namespace {

// What a destination is to this machine's own sockets: nothing, one local address (one socket
// on the port gets a packet), or a broadcast or multicast one (every socket on the port). At
// most one route query: loopback and the unspecified address are known without one (lo's local
// table: 127.0.0.0/8 local, 127.255.255.255 broadcast).
enum class Reach { kNone, kOne, kEvery };
Reach reach_of(const Ip& ip) {
  static const uint8_t any[16] = {0}, one6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, all4[4] = {255, 255, 255, 255};
  if (multicast_address(ip) || (ip.fam == 4 && memcmp(ip.b, all4, 4) == 0)) return Reach::kEvery;
  if (ip.fam == 4 && ip.b[0] == 127) return ip.b[1] == 255 && ip.b[2] == 255 && ip.b[3] == 255 ? Reach::kEvery : Reach::kOne;
  if (memcmp(ip.b, any, ip.fam == 4 ? 4 : 16) == 0 || (ip.fam == 6 && memcmp(ip.b, one6, 16) == 0)) return Reach::kOne;
  switch (route_kind(ip.fam == 4 ? AF_INET : AF_INET6, ip.b)) {
    case RouteKind::kLocal:
    case RouteKind::kUnknown: return Reach::kOne;  // cannot tell: as if local (only sbx's servers are looked up)
    case RouteKind::kBroadcast:
    case RouteKind::kMulticast: return Reach::kEvery;
    default: return Reach::kNone;
  }
}

}  // namespace

// Is `ip` this machine's: loopback, unspecified (the kernel connects it to a local address), an
// address the kernel routes locally (an interface's, an AnyIP range's), or a broadcast one?
bool local_address(const Ip& ip) { return !multicast_address(ip) && reach_of(ip) != Reach::kNone; }

// Does a datagram to `ip` reach this machine's own sockets too: a local address, or a
// multicast or broadcast one (the kernel delivers those to local sockets bound to the port:
// 255.255.255.255, a subnet's, 127.255.255.255)?
bool reaches_this_machine(const Ip& ip) { return reach_of(ip) != Reach::kNone; }

// A connect or send to a server of an sbx session on this machine (a database's port on
// loopback) across a `commands:` override's boundary (inet_boundary).
const char* override_server_reason(Notif& n, const Sock& s, const Ip& ip) {
  const Reach r = reach_of(ip);
  if (r == Reach::kNone) return nullptr;
  for (const Binder& server : servers_reached(n, s, ip.fam == 4 ? AF_INET : AF_INET6, ip.b, ip.port, r == Reach::kEvery))
    if (const char* why = inet_boundary(n, me(n), server)) return why;
  return nullptr;
}

void mark_boundary(Notif& n, const Ip& ip, bool& boundary) {
  if (override_involved(n) && reaches_this_machine(ip)) boundary = true;
}

// A UDP server about to bind `ip` (a port of this machine) that a socket of the session
// across a `commands:` override's boundary is already connected to: that socket would send
// to it from now on with no decision (its destination was decided at its connect, when
// nothing served there). Refused, as a connect to it would be.
std::string connected_across_reason(Notif& n, const Sock& s, const Ip& ip) {
  if (s.type != SOCK_DGRAM || ip.port == 0) return "";
  if (!override_involved(n)) return "";
  static const uint8_t any[16] = {0};
  const bool wildcard = memcmp(ip.b, any, ip.fam == 4 ? 4 : 16) == 0;
  for (const SessionPeer& p : session_peers_of(n, ip.port)) {
    Ip to;
    to.fam = p.family == AF_INET ? 4 : 6;
    memcpy(to.b, p.addr, to.fam == 4 ? 4 : 16);
    to.port = ip.port;
    const bool reaches = wildcard ? local_address(to) : (to.fam == ip.fam && memcmp(to.b, ip.b, to.fam == 4 ? 4 : 16) == 0);
    if (!reaches) continue;
    // The connected socket's program is the client, this one the server.
    if (inet_boundary(n, p.who, me(n)))
      return "bind " + ip_text(ip) + " (a socket of an sbx session across a commands: override's boundary is connected to it: it would send here undecided)";
  }
  return "";
}

bool connected_across_override(Notif& n, const Sock& s, const Ip& ip) {
  const std::string why = connected_across_reason(n, s, ip);
  return !why.empty() && refuse(n, Decision{false, -2}, "net", why, EADDRINUSE);
}

socklen_t sockaddr_for(int domain, const Ip& ip, sockaddr_storage& ss) {
  ss = sockaddr_storage{};
  if (domain == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(ip.port));
    if (ip.fam == 6) {
      memcpy(&in6->sin6_addr, ip.b, 16);
    } else if (memcmp(ip.b, "\0\0\0\0", 4) != 0) {  // an IPv4 address, v4-mapped (the wildcard stays ::)
      in6->sin6_addr.s6_addr[10] = in6->sin6_addr.s6_addr[11] = 0xff;
      memcpy(&in6->sin6_addr.s6_addr[12], ip.b, 4);
    }
    return sizeof *in6;
  }
  auto* in = reinterpret_cast<sockaddr_in*>(&ss);
  in->sin_family = AF_INET;
  in->sin_port = htons(static_cast<uint16_t>(ip.port));
  memcpy(&in->sin_addr, ip.b, 4);
  return sizeof *in;
}

namespace {
void set_port(sockaddr_storage& ss, int port) {
  if (ss.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(static_cast<uint16_t>(port));
  else reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(static_cast<uint16_t>(port));
}
}  // namespace

bool pick_port(Notif& n, const Sock& s, Ip& ip, sockaddr_storage& addr, socklen_t len) {
  std::string why;
  for (int attempt = 0; attempt < 32; attempt++) {
    Fd probe(socket(s.domain, s.type | SOCK_CLOEXEC, s.proto));
    if (!probe.ok()) return refuse(n, Decision{false, -2}, "net", "bind " + ip_text(ip) + ": no port to offer (" + strerror(errno) + ")", errno);
    if (s.domain == AF_INET6) {
      int v6only = 0;
      socklen_t l = sizeof v6only;
      getsockopt(s.fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &l);
      setsockopt(probe.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    }
    sockaddr_storage got = addr;
    set_port(got, 0);
    socklen_t glen = len;
    if (bind(probe.get(), reinterpret_cast<sockaddr*>(&got), len) < 0 || getsockname(probe.get(), reinterpret_cast<sockaddr*>(&got), &glen) < 0)
      return refuse(n, Decision{false, -2}, "net", "bind " + ip_text(ip) + ": no port to offer (" + strerror(errno) + ")", errno);
    Ip at = ip;
    at.port = ntohs(got.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&got)->sin6_port : reinterpret_cast<sockaddr_in*>(&got)->sin_port);
    why = outside_server_reason(n, s, at.fam, at.port);
    if (why.empty()) why = connected_across_reason(n, s, at);
    if (why.empty()) {
      ip.port = at.port;
      set_port(addr, at.port);
      return false;
    }
  }
  return refuse(n, Decision{false, -2}, "net", why + " (and 31 other ports the kernel offered)", EADDRINUSE);
}

// A UDP socket with no port yet gets one from the kernel at its first send or connect, bound
// to the wildcard: a server from then on that sbx never saw bound (an override's client sends
// to its default port; a base program made sockets until one landed there). Bound here the
// same way first, so the session knows it as its own. Returns true when answered (refused).
bool bind_ephemeral(Notif& n, const Sock& s, const Ip& ip) {
  if (s.type != SOCK_DGRAM || (s.proto != 0 && s.proto != IPPROTO_UDP && s.proto != IPPROTO_UDPLITE)) return false;
  sockaddr_storage mine{};
  socklen_t l = sizeof mine;
  if (getsockname(s.fd.get(), reinterpret_cast<sockaddr*>(&mine), &l) < 0) return false;
  const int port = mine.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&mine)->sin_port : reinterpret_cast<sockaddr_in6*>(&mine)->sin6_port;
  if (port != 0) return false;
  if (record_full(n, ip_text(ip) + " from a new port")) return true;
  auto held = hold_servers();  // bound and recorded as one step (checked_at_boundary)
  Ip any;  // the wildcard of the socket's family, as the kernel's own autobind
  any.fam = mine.ss_family == AF_INET ? 4 : 6;
  sockaddr_storage ss;
  const socklen_t len = sockaddr_for(s.domain, any, ss);
  if (pick_port(n, s, any, ss, len)) return true;
  if (bind(s.fd.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0) record_session_socket(n, s);
  return false;
}

}  // namespace sbx
