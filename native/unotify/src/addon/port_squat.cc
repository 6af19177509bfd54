// See port_squat.h.
#include "port_squat.h"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <functional>
#include <mutex>
#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "net_registry.h"
#include "net_socket.h"

namespace sbx {

namespace {

constexpr uint32_t kListen = 1u << 10;  // TCPF_LISTEN (TCP_LISTEN = 10)
// The first 12 bytes of an IPv4-mapped IPv6 address (::ffff:a.b.c.d).
constexpr uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

struct Holder {
  uint64_t cookie;
  std::string addr;  // "127.0.0.1:5432", "[::1]:5173"
  int family;        // AF_INET or AF_INET6
  uint8_t local[16];  // the address it is bound to (4 bytes for AF_INET)
};

std::string addr_text(int family, const uint32_t* a, int port) {
  char buf[INET6_ADDRSTRLEN] = "?";
  inet_ntop(family, a, buf, sizeof buf);
  return family == AF_INET ? std::string(buf) + ":" + std::to_string(port)
                           : "[" + std::string(buf) + "]:" + std::to_string(port);
}

// One sock_diag dump of the `family`/`protocol` sockets in `states`, each handed to `each`.
// False when the kernel could not be asked.
bool inet_dump(int family, int protocol, uint32_t states, const std::function<void(const inet_diag_msg&)>& each) {
  const InetDiagRequest req = inet_diag_request(family, protocol, states, true);
  return sock_diag(&req, sizeof req, true, [&](const nlmsghdr* h) {
    each(*reinterpret_cast<const inet_diag_msg*>(NLMSG_DATA(h)));
    return false;
  });
}

uint64_t cookie_of(const inet_diag_msg& m) {
  return static_cast<uint64_t>(m.id.idiag_cookie[0]) | (static_cast<uint64_t>(m.id.idiag_cookie[1]) << 32);
}

// Sockets of `family`/`protocol` on local port `port` that serve: TCP listeners, UDP sockets
// with no peer. One sock_diag dump (the kernel has no port filter without bytecode, and a
// bind is rare). False when the kernel could not be asked.
bool servers_on(int family, int protocol, int port, std::vector<Holder>& out) {
  return inet_dump(family, protocol, protocol == IPPROTO_TCP ? kListen : ~0u, [&](const inet_diag_msg& m) {
    if (ntohs(m.id.idiag_sport) != port) return;
    if (protocol != IPPROTO_TCP && m.id.idiag_dport != 0) return;  // a connected client's port
    Holder held{cookie_of(m), addr_text(family, m.id.idiag_src, port), family, {}};
    memcpy(held.local, m.id.idiag_src, family == AF_INET ? 4 : 16);
    out.push_back(held);
  });
}

// The transport `s` serves on: TCP for stream sockets (MPTCP listens through a TCP subflow),
// UDP or UDP-Lite for datagram ones; 0 for anything else (ping sockets' "port" is an id).
int transport_of(const Sock& s) {
  if (s.type == SOCK_STREAM) return IPPROTO_TCP;
  if (s.type == SOCK_DGRAM && (s.proto == 0 || s.proto == IPPROTO_UDP)) return IPPROTO_UDP;
  if (s.type == SOCK_DGRAM && s.proto == IPPROTO_UDPLITE) return IPPROTO_UDPLITE;
  return 0;
}

// How closely a server bound to `h` matches a destination, as the kernel picks the one that
// gets it: its exact address 3, the wildcard of the destination's family 2, the IPv6 wildcard
// for an IPv4 destination 1 (a dual-stack socket), 0 it does not get it.
int match_score(const Holder& h, int family, const uint8_t* dest) {
  static const uint8_t zero[16] = {0};
  if (h.family == family && memcmp(h.local, dest, family == AF_INET ? 4 : 16) == 0) return 3;
  if (family == AF_INET && h.family == AF_INET6 && memcmp(h.local, kV4Mapped, 12) == 0 && memcmp(h.local + 12, dest, 4) == 0) return 3;
  if (h.family == family && memcmp(h.local, zero, family == AF_INET ? 4 : 16) == 0) return 2;
  if (family == AF_INET && h.family == AF_INET6 && memcmp(h.local, zero, 16) == 0) return 1;
  return 0;
}

constexpr int kLoopbackIfindex = 1;  // the kernel's LOOPBACK_IFINDEX

// Is `dest` a loopback address (127.0.0.0/8, ::1, or ::ffff:127.x)? A packet to one arrives
// on lo. One to an interface's own address does not always: IPv6 delivers it as arriving on
// that interface, so a socket bound to it (a scoped link-local bind binds the device too) gets
// it while a lookup "on lo" finds nothing (helper-96 #01).
bool loopback_destination(int family, const uint8_t* dest) {
  static const uint8_t one6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (family == AF_INET) return dest[0] == 127;
  return memcmp(dest, one6, 16) == 0 || (memcmp(dest, kV4Mapped, 12) == 0 && dest[12] == 127);
}

// The socket the kernel itself would hand a packet to loopback address `dest` (`family`) port
// `port` from nowhere in particular (no source: a connected socket's peer matches nothing),
// arriving on lo: a non-dump sock_diag request, which runs the kernel's own lookup (best bound
// address, dual-stack sockets for IPv4, device binding). One round trip, whatever the number of
// sockets on the machine. 1 found (in *out), 0 none, -1 the kernel could not be asked (the
// caller falls back to a dump).
int kernel_pick(int proto, int family, const uint8_t* dest, int port, Holder* out) {
  if (family == AF_INET6 && memcmp(dest, kV4Mapped, 12) == 0) return kernel_pick(proto, AF_INET, dest + 12, port, out);
  InetDiagRequest req = inet_diag_request(family, proto, ~0u, false);
  req.r.id.idiag_if = kLoopbackIfindex;
  const size_t n = family == AF_INET ? 4 : 16;
  // TCP looks the listener up by the request's source; UDP (and UDP-Lite) by its destination
  // ("swapped for historical reasons", udp_diag.c).
  if (proto == IPPROTO_TCP) {
    memcpy(req.r.id.idiag_src, dest, n);
    req.r.id.idiag_sport = htons(static_cast<uint16_t>(port));
  } else {
    memcpy(req.r.id.idiag_dst, dest, n);
    req.r.id.idiag_dport = htons(static_cast<uint16_t>(port));
  }
  bool found = false;
  const bool asked = sock_diag(&req, sizeof req, false, [&](const nlmsghdr* h) {
    const auto& m = *reinterpret_cast<const inet_diag_msg*>(NLMSG_DATA(h));
    *out = Holder{cookie_of(m), addr_text(m.idiag_family, m.id.idiag_src, port), m.idiag_family, {}};
    memcpy(out->local, m.id.idiag_src, m.idiag_family == AF_INET ? 4 : 16);
    found = true;
    return true;
  });
  if (asked) return found ? 1 : 0;
  return errno == ENOENT ? 0 : -1;
}

// The `proto` servers on this machine a packet to `dest` (`family`) port `port` reaches: the
// one the kernel picks (kernel_pick); with `every` (a broadcast or multicast destination) each
// one on the port.
std::vector<Holder> servers_reached_by(int proto, int family, const uint8_t* dest, int port, bool every) {
  std::vector<Holder> held;
  // Other local destinations (an interface's address) are found by the dump below.
  if (!every && loopback_destination(family, dest)) {
    Holder h;
    const int picked = kernel_pick(proto, family, dest, port, &h);
    if (picked == 1) held.push_back(h);
    if (picked >= 0) return held;
  }
  // A dump of both families, with the kernel's choice among them redone here.
  for (int f : {AF_INET, AF_INET6}) servers_on(f, proto, port, held);
  if (every) return held;
  int best = 0;
  for (const auto& h : held) best = std::max(best, match_score(h, family, dest));
  std::vector<Holder> out;
  for (const auto& h : held)
    if (best > 0 && match_score(h, family, dest) == best) out.push_back(h);
  return out;
}

// The record (port_squat.h): cookie -> who bound it. Cookies are never reused in a boot, so
// an entry can only go stale (its socket closed), never point at another socket.
struct Entry {
  uint64_t session;  // Core::serial()
  int policy;
  bool override_;
};
std::mutex record_mu;
std::unordered_map<uint64_t, Entry> record;
std::atomic<bool> overrides_exist{false};
constexpr size_t kMaxRecorded = 32768;

// Forgets the recorded sockets that are closed: the cookies of every inet socket open now
// (TCP in any state, UDP, UDP-Lite; both families) are kept, the rest dropped. Under record_mu.
void forget_closed() {
  std::unordered_set<uint64_t> open;
  for (int family : {AF_INET, AF_INET6})
    for (int protocol : {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE})
      if (!inet_dump(family, protocol, ~0u, [&](const inet_diag_msg& m) { open.insert(cookie_of(m)); })) return;
  for (auto it = record.begin(); it != record.end();) it = open.count(it->first) ? std::next(it) : record.erase(it);
}

// The record's entry for `cookie`, as session `n` sees it.
bool recorded(Notif* n, uint64_t cookie, Binder& who) {
  std::lock_guard<std::mutex> g(record_mu);
  auto it = record.find(cookie);
  if (it == record.end()) return false;
  who = Binder{n && it->second.session == n->core->serial(), it->second.policy, it->second.override_};
  return true;
}

}  // namespace

std::unique_lock<std::mutex> hold_servers() {
  static std::mutex servers_mu;
  return std::unique_lock<std::mutex>(servers_mu);
}

bool record_full(Notif& n, const std::string& what) {
  {
    std::lock_guard<std::mutex> g(record_mu);
    if (record.size() < kMaxRecorded) return false;
    forget_closed();
    if (record.size() < kMaxRecorded) return false;
  }
  return refuse(n, Decision{false, -2}, "net",
                what + " (sbx records every socket its sessions bind, and " + std::to_string(kMaxRecorded) +
                    " are bound and open: one it did not record would pass for a server outside the sandbox)",
                ENOBUFS);
}

void record_session_socket(Notif& n, const Sock& s) {
  uint64_t cookie = 0;
  socklen_t l = sizeof cookie;
  const bool override_ = n.core->override_base(n.pol->id) != nullptr;
  if (getsockopt(s.fd.get(), SOL_SOCKET, SO_COOKIE, &cookie, &l) < 0 || !cookie) return;
  std::lock_guard<std::mutex> g(record_mu);
  record[cookie] = Entry{n.core->serial(), n.pol->id, override_};
}

void note_overrides_configured() { overrides_exist.store(true); }
bool overrides_configured() { return overrides_exist.load(); }

std::vector<SessionPeer> session_peers_of(Notif& n, int port) {
  std::vector<SessionPeer> out;
  for (int family : {AF_INET, AF_INET6}) {
    inet_dump(family, IPPROTO_UDP, ~0u, [&](const inet_diag_msg& m) {
      if (m.id.idiag_dport == 0 || ntohs(m.id.idiag_dport) != port) return;
      SessionPeer p{{}, family, {}};
      if (!recorded(&n, cookie_of(m), p.who)) return;
      if (family == AF_INET6 && memcmp(m.id.idiag_dst, kV4Mapped, 12) == 0) {
        p.family = AF_INET;
        memcpy(p.addr, reinterpret_cast<const uint8_t*>(m.id.idiag_dst) + 12, 4);
      } else {
        memcpy(p.addr, m.id.idiag_dst, family == AF_INET ? 4 : 16);
      }
      out.push_back(p);
    });
  }
  return out;
}

bool override_server_at(const std::string& address, int port) {
  uint8_t dest[16] = {0};
  int family = AF_INET;
  if (inet_pton(AF_INET, address.c_str(), dest) != 1) {
    if (inet_pton(AF_INET6, address.c_str(), dest) != 1) return false;
    family = AF_INET6;
  }
  Binder who{};
  for (const auto& h : servers_reached_by(IPPROTO_TCP, family, dest, port, false))
    if (recorded(nullptr, h.cookie, who) && who.override_) return true;
  return false;
}

int connect_unless_override(const std::string& address, int port, int timeout_ms) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* in = reinterpret_cast<sockaddr_in*>(&ss);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, address.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *in;
  } else if (inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *in6;
  } else {
    return -EINVAL;
  }
  auto held = hold_servers();
  if (override_server_at(address, port)) return -EACCES;
  Fd sock(socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!sock.ok()) return -errno;
  if (connect(sock.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0 && errno != EINPROGRESS) return -errno;
  // Which listener gets the SYN is settled when the handshake is: waited for under the lock.
  pollfd p{sock.get(), POLLOUT, 0};
  if (poll(&p, 1, timeout_ms) != 1) return -ETIMEDOUT;
  int err = 0;
  socklen_t l = sizeof err;
  if (getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &err, &l) < 0) return -errno;
  if (err) return -err;
  return sock.release();
}

std::vector<Binder> servers_reached(Notif& n, const Sock& s, int family, const uint8_t* dest, int port, bool every) {
  std::vector<Binder> binders;
  const int proto = transport_of(s);
  if (port == 0 || proto == 0) return binders;
  for (const auto& h : servers_reached_by(proto, family, dest, port, every)) {
    Binder who{};
    if (recorded(&n, h.cookie, who)) binders.push_back(who);
  }
  return binders;
}

std::string outside_server_reason(Notif& n, const Sock& s, int family, int port) {
  const int proto = transport_of(s);
  if (port == 0 || proto == 0) return "";
  const int otherFamily = family == 4 ? AF_INET6 : AF_INET;  // where a server we would sit next to is
  const std::string what = std::string("serve ") + (proto == IPPROTO_TCP ? "TCP" : "UDP") + " port " + std::to_string(port);
  std::vector<Holder> held;
  if (!servers_on(otherFamily, proto, port, held))
    return what + ": cannot tell whether a server outside the sandbox holds it in the other IP family (sock_diag: " + strerror(errno) + ")";
  for (const auto& h : held) {
    Binder who{};
    if (recorded(&n, h.cookie, who) && who.here) continue;  // the session's own server
    return what + ": a server outside the sandbox serves " + h.addr + " (clients of `localhost` would reach the sandbox)";
  }
  return "";
}

bool takes_outside_clients(Notif& n, const Sock& s, int family, int port) {
  const std::string why = outside_server_reason(n, s, family, port);
  return !why.empty() && refuse(n, Decision{false, -2}, "net", why, EADDRINUSE);
}

}  // namespace sbx
