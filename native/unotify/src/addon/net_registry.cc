// See net_registry.h.
#include "net_registry.h"

#include <functional>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <vector>

#include <cstdio>
#include <cstring>
#include <unordered_map>

namespace sbx {

namespace {
const size_t kMaxServed = 4096;       // cookies
const size_t kMaxServedFiles = 1024;  // pinned socket files (one fd each)
const size_t kMaxExpected = 4096;
// Connects not yet accepted (most are within microseconds; a server that never accepts leaves
// them): beyond, the oldest is refused at accept.
const size_t kMaxClients = 4096;
const size_t kMaxHeld = 64;  // connections kept for a server out of fds
}  // namespace

void ServedSockets::add_cookie(uint64_t cookie, int policy) {
  std::lock_guard<std::mutex> g(mu_);
  for (const auto& c : cookies_)
    if (c.first == cookie) return;
  if (cookies_.size() >= kMaxServed) cookies_.pop_front();
  cookies_.emplace_back(cookie, policy);
}

bool ServedSockets::has_cookie(uint64_t cookie, int* policy) {
  std::lock_guard<std::mutex> g(mu_);
  for (const auto& c : cookies_)
    if (c.first == cookie) {
      if (policy) *policy = c.second;
      return true;
    }
  return false;
}

void ServedSockets::add_file(Fd pinned, int policy) {
  struct stat st;
  if (!pinned.ok() || fstat(pinned.get(), &st) < 0 || !S_ISSOCK(st.st_mode)) return;
  std::lock_guard<std::mutex> g(mu_);
  for (auto& e : entries_)
    if (e.dev == st.st_dev && e.ino == st.st_ino) return;
  if (entries_.size() >= 64) {
    // Unlinked socket files are unreachable by name: drop them (and their fds) first.
    for (auto it = entries_.begin(); it != entries_.end();) {
      struct stat o;
      it = fstat(it->pin.get(), &o) == 0 && o.st_nlink == 0 ? entries_.erase(it) : std::next(it);
    }
  }
  if (entries_.size() >= kMaxServedFiles) entries_.pop_front();  // the oldest: refused from now on unless named
  entries_.push_back(Entry{st.st_dev, st.st_ino, std::move(pinned), policy});
}

bool ServedSockets::has_file(dev_t dev, ino_t ino, int* policy) {
  std::lock_guard<std::mutex> g(mu_);
  for (auto& e : entries_)
    if (e.dev == dev && e.ino == ino) {
      if (policy) *policy = e.policy;
      return true;
    }
  return false;
}

void ServedSockets::add_client(uint32_t ino) {
  std::lock_guard<std::mutex> g(mu_);
  if (clients_.size() >= kMaxClients) clients_.pop_front();
  clients_.push_back(ino);
}

bool ServedSockets::take_client(uint32_t ino) {
  std::lock_guard<std::mutex> g(mu_);
  for (auto it = clients_.begin(); it != clients_.end(); ++it)
    if (*it == ino) return clients_.erase(it), true;
  return false;
}

void ServedSockets::hold(unsigned long listener, Fd conn, const sockaddr_storage& peer, socklen_t plen) {
  std::lock_guard<std::mutex> g(mu_);
  if (held_.size() >= kMaxHeld) return;  // conn closed: a server this short of fds for this long
  held_.push_back(Held{listener, std::move(conn), peer, plen});
  held_count_ = static_cast<int>(held_.size());
}

bool ServedSockets::take_held(unsigned long listener, Fd& conn, sockaddr_storage& peer, socklen_t& plen) {
  std::lock_guard<std::mutex> g(mu_);
  for (auto it = held_.begin(); it != held_.end(); ++it) {
    if (it->listener != listener) continue;
    conn = std::move(it->conn);
    peer = it->peer;
    plen = it->plen;
    held_.erase(it);
    held_count_ = static_cast<int>(held_.size());
    return true;
  }
  return false;
}

std::string ServedSockets::path_of(dev_t dev, ino_t ino) {
  std::lock_guard<std::mutex> g(mu_);
  for (auto& e : entries_)
    if (e.dev == dev && e.ino == ino) return read_link("/proc/self/fd/" + std::to_string(e.pin.get()));
  return "";
}

namespace {
std::mutex g_mu;
std::unordered_map<int, int> g_ports;                // proxy port → count
struct Expected {
  int port;
  int policy;  // the connecting program's policy id: the proxy decides its requests by it
};
std::unordered_map<unsigned long, Expected> g_expected;  // socket inode → what connected it
std::deque<unsigned long> g_order;                   // insertion order, for the bound

// Hex address of /proc/net/tcp{,6} ("0100007F", or 32 hex digits: 32-bit words printed as
// native integers) → text, or "".
std::string proc_addr(const char* hex) {
  size_t n = strlen(hex);
  if (n != 8 && n != 32) return "";
  uint8_t b[16];
  for (size_t w = 0; w < n / 8; w++) {
    char word[9];
    memcpy(word, hex + 8 * w, 8);
    word[8] = 0;
    uint32_t v = static_cast<uint32_t>(strtoul(word, nullptr, 16));
    memcpy(b + 4 * w, &v, 4);  // back to the bytes the kernel had in memory
  }
  char out[INET6_ADDRSTRLEN];
  if (n == 8) return inet_ntop(AF_INET, b, out, sizeof out) ? out : "";
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (memcmp(b, mapped, 12) == 0) return inet_ntop(AF_INET, b + 12, out, sizeof out) ? out : "";
  return inet_ntop(AF_INET6, b, out, sizeof out) ? out : "";
}

// The same, asked of the kernel by the connection's addresses (a non-dump sock_diag request:
// its own lookup of the one socket): 0 not found, -1 the kernel could not be asked. One round
// trip, where reading /proc/net/tcp costs the whole table on the thread every session shares.
long diag_inode(const std::string& addr, int port, int rport) {
  const bool v6 = addr.find(':') != std::string::npos;
  InetDiagRequest req = inet_diag_request(v6 ? AF_INET6 : AF_INET, IPPROTO_TCP, ~0u, false);
  // The client's socket: its local end is the request's source, the proxy its destination.
  if (inet_pton(v6 ? AF_INET6 : AF_INET, addr.c_str(), req.r.id.idiag_src) != 1) return 0;
  inet_pton(v6 ? AF_INET6 : AF_INET, v6 ? "::ffff:127.0.0.1" : "127.0.0.1", req.r.id.idiag_dst);
  req.r.id.idiag_sport = htons(static_cast<uint16_t>(port));
  req.r.id.idiag_dport = htons(static_cast<uint16_t>(rport));
  unsigned long ino = 0;
  if (sock_diag(&req, sizeof req, false, [&](const nlmsghdr* h) {
        ino = reinterpret_cast<const inet_diag_msg*>(NLMSG_DATA(h))->idiag_inode;
        return true;
      }))
    return static_cast<long>(ino);
  return errno == ENOENT ? 0 : -1;
}

// Inode of the socket whose local end is addr:port and remote end is 127.0.0.1:rport.
unsigned long find_inode(const std::string& addr, int port, int rport) {
  const long asked = diag_inode(addr, port, rport);
  if (asked >= 0) return static_cast<unsigned long>(asked);
  for (const char* file : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::string text;
    if (!read_file(file, text, 64 << 20)) continue;
    size_t pos = text.find('\n');
    while (pos != std::string::npos && pos + 1 < text.size()) {
      size_t end = text.find('\n', pos + 1);
      std::string line = text.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
      pos = end;
      char local[64], remote[64];
      unsigned lport, remport, st;
      unsigned long ino;
      int slot;
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      if (sscanf(line.c_str(), " %d: %63[0-9A-Fa-f]:%x %63[0-9A-Fa-f]:%x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &slot,
                 local, &lport, remote, &remport, &st, &ino) != 7)
        continue;
      if (static_cast<int>(lport) != port || static_cast<int>(remport) != rport) continue;
      if (proc_addr(remote) != "127.0.0.1" || proc_addr(local) != addr) continue;
      return ino;
    }
  }
  return 0;
}
}  // namespace

void proxy_port_open(int port) {
  std::lock_guard<std::mutex> g(g_mu);
  g_ports[port]++;
}

void proxy_port_close(int port) {
  std::lock_guard<std::mutex> g(g_mu);
  auto it = g_ports.find(port);
  if (it != g_ports.end() && --it->second <= 0) g_ports.erase(it);
}

bool is_proxy_port(int port) {
  std::lock_guard<std::mutex> g(g_mu);
  return g_ports.count(port) > 0;
}

void proxy_expect(unsigned long ino, int port, int policy) {
  std::lock_guard<std::mutex> g(g_mu);
  if (g_expected.emplace(ino, Expected{port, policy}).second) g_order.push_back(ino);
  else g_expected[ino] = Expected{port, policy};
  while (g_order.size() > kMaxExpected) {
    g_expected.erase(g_order.front());
    g_order.pop_front();
  }
}

int proxy_admits(int port, const std::string& client_addr, int client_port) {
  std::string a = client_addr;
  if (a.compare(0, 7, "::ffff:") == 0) a = a.substr(7);
  unsigned long ino = find_inode(a, client_port, port);
  if (ino == 0) return -1;
  std::lock_guard<std::mutex> g(g_mu);
  auto it = g_expected.find(ino);
  if (it == g_expected.end() || it->second.port != port) return -1;
  const int policy = it->second.policy;
  g_expected.erase(it);  // one admission per connection (g_order keeps a stale number: harmless)
  return policy;
}

InetDiagRequest inet_diag_request(int family, int protocol, uint32_t states, bool dump) {
  InetDiagRequest req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.h.nlmsg_flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0);
  req.r.sdiag_family = static_cast<uint8_t>(family);
  req.r.sdiag_protocol = static_cast<uint8_t>(protocol);
  req.r.idiag_states = states;
  req.r.id.idiag_cookie[0] = req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  return req;
}

bool sock_diag(const void* req, size_t len, bool dump, const std::function<bool(const nlmsghdr*)>& each) {
  Fd nl(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!nl.ok()) return false;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(nl.get(), req, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) return false;
  std::vector<char> buf(32768);
  for (;;) {
    pollfd p{nl.get(), POLLIN, 0};
    const int ready = poll(&p, 1, 2000);
    if (ready != 1) {
      if (ready == 0) errno = ETIMEDOUT;
      return false;
    }
    ssize_t got = recv(nl.get(), buf.data(), buf.size(), 0);
    if (got <= 0) {
      if (got == 0) errno = EIO;
      return false;
    }
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, static_cast<unsigned>(got));
         h = NLMSG_NEXT(h, got)) {
      if (h->nlmsg_type == NLMSG_DONE) return true;
      // An error ends the answer; only an acknowledgement (error 0) means the kernel answered.
      if (h->nlmsg_type == NLMSG_ERROR) {
        const int error = reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
        if (error) errno = -error;
        return error == 0;
      }
      if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && each(h)) return true;
    }
    if (!dump) return true;
  }
}

namespace {

uint64_t cookie_of(const unix_diag_msg* m) {
  return static_cast<uint64_t>(m->udiag_cookie[0]) | (static_cast<uint64_t>(m->udiag_cookie[1]) << 32);
}

// One sock_diag request for AF_UNIX; calls `each` per answer until it returns true or the
// answers end. False when the kernel could not be asked.
template <typename F>
bool unix_diag(unsigned ino, unsigned show, bool dump, F each) {
  struct {
    nlmsghdr h;
    unix_diag_req r;
  } req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.h.nlmsg_flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0);
  req.r.sdiag_family = AF_UNIX;
  req.r.udiag_states = ~0u;
  req.r.udiag_ino = ino;
  req.r.udiag_show = show;
  req.r.udiag_cookie[0] = req.r.udiag_cookie[1] = ~0u;  // INET_DIAG_NOCOOKIE
  return sock_diag(&req, sizeof req, dump, [&](const nlmsghdr* h) {
    auto* m = reinterpret_cast<const unix_diag_msg*>(NLMSG_DATA(h));
    int len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
    return each(m, reinterpret_cast<const rtattr*>(m + 1), len);
  });
}

}  // namespace

bool unix_diag_of(int sock, UnixDiag& out) {
  struct stat st;
  if (fstat(sock, &st) < 0) return false;
  bool found = false;
  unix_diag(static_cast<unsigned>(st.st_ino), UDIAG_SHOW_VFS, false, [&](const unix_diag_msg* m, const rtattr* at, int len) {
    if (m->udiag_ino != st.st_ino) return false;
    found = true;
    out.cookie = cookie_of(m);
    for (; RTA_OK(at, len); at = RTA_NEXT(at, len)) {
      if (at->rta_type != UNIX_DIAG_VFS || RTA_PAYLOAD(at) < sizeof(unix_diag_vfs)) continue;
      auto* v = reinterpret_cast<const unix_diag_vfs*>(RTA_DATA(at));
      out.has_vfs = true;
      out.vfs_dev = v->udiag_vfs_dev;
      out.vfs_ino = v->udiag_vfs_ino;
    }
    return true;
  });
  return found;
}

int64_t unix_peer_ino(int sock) {
  struct stat st;
  if (fstat(sock, &st) < 0) return -1;
  uint32_t peer = 0;
  bool found = false;
  unix_diag(static_cast<unsigned>(st.st_ino), UDIAG_SHOW_PEER, false, [&](const unix_diag_msg* m, const rtattr* at, int len) {
    if (m->udiag_ino != st.st_ino) return false;
    found = true;
    for (; RTA_OK(at, len); at = RTA_NEXT(at, len))
      if (at->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(at) >= sizeof(uint32_t)) memcpy(&peer, RTA_DATA(at), sizeof peer);
    return true;
  });
  return found ? peer : -1;
}

int unix_file_in_use(ino_t ino) {
  bool found = false;
  const bool asked = unix_diag(0, UDIAG_SHOW_VFS, true, [&](const unix_diag_msg*, const rtattr* at, int len) {
    for (; RTA_OK(at, len); at = RTA_NEXT(at, len)) {
      if (at->rta_type != UNIX_DIAG_VFS || RTA_PAYLOAD(at) < sizeof(unix_diag_vfs)) continue;
      auto* v = reinterpret_cast<const unix_diag_vfs*>(RTA_DATA(at));
      // Only the inode's low 32 bits are reported, and the device is the filesystem's own,
      // which stat does not give on btrfs subvolumes or overlayfs: the number alone decides.
      // A rare false match only keeps a stale file.
      if (v->udiag_vfs_ino == static_cast<uint32_t>(ino)) return found = true;
    }
    return false;
  });
  return found ? 1 : asked ? 0 : -1;
}

bool unix_cookie_by_name(const std::string& sun_path, uint64_t& cookie) {
  bool found = false;
  unix_diag(0, UDIAG_SHOW_NAME, true, [&](const unix_diag_msg* m, const rtattr* at, int len) {
    for (; RTA_OK(at, len); at = RTA_NEXT(at, len)) {
      if (at->rta_type != UNIX_DIAG_NAME) continue;
      if (RTA_PAYLOAD(at) == sun_path.size() && memcmp(RTA_DATA(at), sun_path.data(), sun_path.size()) == 0) {
        cookie = cookie_of(m);
        found = true;
        return true;
      }
    }
    return false;
  });
  return found;
}

namespace {
// Pid of the server behind a connected unix socket: SO_PEERPIDFD (0 when it has exited), else
// SO_PEERCRED.
int peer_pid(int sock) {
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
  int pfd = -1;
  socklen_t l = sizeof pfd;
  if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &pfd, &l) == 0 && pfd >= 0) {
    Fd pidfd(pfd);
    std::string info;
    if (!read_file("/proc/self/fdinfo/" + std::to_string(pfd), info, 4096)) return 0;
    size_t at = info.find("\nPid:");
    return at == std::string::npos ? 0 : std::max(0, atoi(info.c_str() + at + 5));
  }
  ucred cr{};
  l = sizeof cr;
  return getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0 ? cr.pid : 0;
}
}  // namespace

int unix_server_at(const sockaddr* addr, socklen_t len, int& pid, int& uid) {
  int err = 0;
  for (int type : {SOCK_STREAM, SOCK_SEQPACKET}) {
    Fd p(socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!p.ok()) return -errno;
    if (connect(p.get(), addr, len) < 0) {
      err = errno;
      if (err == EPROTOTYPE) continue;  // not this type: try the next
      return -err;
    }
    pid = peer_pid(p.get());
    ucred cr{};
    socklen_t l = sizeof cr;
    uid = getsockopt(p.get(), SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0 ? static_cast<int>(cr.uid) : -1;
    return 0;
  }
  return -err;
}

socklen_t unix_addr_of_fd(int fd, sockaddr_un& un) {
  un = sockaddr_un{};
  un.sun_family = AF_UNIX;
  const int n = snprintf(un.sun_path, sizeof un.sun_path, "/proc/self/fd/%d", fd);
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n + 1);
}

int unix_file_answers(int fd) {
  sockaddr_un un;
  const socklen_t len = unix_addr_of_fd(fd, un);
  int pid = 0, uid = 0;
  const int r = unix_server_at(reinterpret_cast<sockaddr*>(&un), len, pid, uid);
  if (r == 0 || r == -EAGAIN) return 1;  // a listener (EAGAIN: its backlog is full)
  if (r == -ECONNREFUSED) return 0;
  if (r != -EPROTOTYPE) return -1;
  Fd d(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));  // a datagram receiver?
  if (!d.ok()) return -1;
  if (connect(d.get(), reinterpret_cast<sockaddr*>(&un), len) == 0) return 1;
  return errno == ECONNREFUSED ? 0 : -1;
}

int unix_server_of(const std::string& name, int& pid, int& uid) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  if (name.empty() || name.size() > sizeof un.sun_path) return -ENAMETOOLONG;
  memcpy(un.sun_path, name.data(), name.size());
  if (name[0] == '@') un.sun_path[0] = '\0';
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + (name[0] == '@' ? 0 : 1));
  if (len > sizeof un) return -ENAMETOOLONG;
  return unix_server_at(reinterpret_cast<sockaddr*>(&un), len, pid, uid);
}

}  // namespace sbx
