// What the network handlers remember between calls (net.cc):
//  - ServedSockets (one per engine = per session): the socket files this session's
//    processes bound (the engine performs their bind), each pinned by an O_PATH fd so its
//    inode cannot be freed and reused by a socket file someone else creates. A connect to
//    one of them reaches a server of this session, whoever is running it now.
//  - the sbx filtering proxies of this process and the connections our engines made to
//    their own proxy (process-wide: the proxy, in JavaScript, does not know which engine):
//    a proxy serves only connections its own sandbox's engine made (proxy_admits).
#pragma once
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>

#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "sys.h"

namespace sbx {

class ServedSockets {
 public:
  // Takes an O_PATH fd of a socket file just bound by the session, by a process under
  // policy id `policy`.
  void add_file(Fd pinned, int policy);
  // Bound by the session? *policy (when given): the policy id of the process that bound it.
  bool has_file(dev_t dev, ino_t ino, int* policy = nullptr);
  // Where that socket file is now (its pin's /proc/self/fd link); "" when not one of ours.
  std::string path_of(dev_t dev, ino_t ino);
  // The sock_diag cookie of a unix socket the session bound (unique for the boot), and the
  // policy id of the process that bound it. (Inet sockets: port_squat.h's record.)
  void add_cookie(uint64_t cookie, int policy);
  bool has_cookie(uint64_t cookie, int* policy = nullptr);
  // Unix stream/seqpacket sockets this session is connecting (their sockfs inode numbers),
  // recorded before the engine's connect: a server of the session is handed a connection
  // only if its peer is one of them (accept.cc), taken out then. The oldest go beyond a bound.
  void add_client(uint32_t ino);
  bool take_client(uint32_t ino);
  // Connections the engine accepted for a server that had no fd free to take them (EMFILE
  // at injection), kept for its next accept on the same listener (sockfs inode), as the
  // kernel would have left them queued. At most kMaxHeld per session; beyond, closed.
  void hold(unsigned long listener, Fd conn, const sockaddr_storage& peer, socklen_t plen);
  bool take_held(unsigned long listener, Fd& conn, sockaddr_storage& peer, socklen_t& plen);
  bool any_held() const { return held_count_.load(std::memory_order_relaxed) > 0; }

 private:
  struct Entry {
    dev_t dev;
    ino_t ino;
    Fd pin;
    int policy;
  };
  std::mutex mu_;
  std::deque<Entry> entries_;
  std::deque<std::pair<uint64_t, int>> cookies_;  // cookie, policy
  std::deque<uint32_t> clients_;
  struct Held {
    unsigned long listener;
    Fd conn;
    sockaddr_storage peer;
    socklen_t plen;
  };
  std::deque<Held> held_;
  std::atomic<int> held_count_{0};
};

// One sock_diag request (`req`: its nlmsghdr and body, filled in): calls `each` with every
// SOCK_DIAG_BY_FAMILY answer until it returns true or the answers end. False when the kernel
// could not be asked or answered with an error (errno: that error, e.g. ENOENT for no such
// socket).
bool sock_diag(const void* req, size_t len, bool dump, const std::function<bool(const nlmsghdr*)>& each);

// A sock_diag request for the inet sockets of `family`/`protocol` in `states` (a dump when
// `dump`, else one socket the caller names in r.id), no cookie to match.
struct InetDiagRequest {
  nlmsghdr h;
  inet_diag_req_v2 r;
};
InetDiagRequest inet_diag_request(int family, int protocol, uint32_t states, bool dump);

// sock_diag of one of our unix sockets.
struct UnixDiag {
  uint64_t cookie = 0;
  bool has_vfs = false;
  unsigned vfs_dev = 0, vfs_ino = 0;  // the socket file it is bound to (kernel dev_t: major << 20 | minor)
};
bool unix_diag_of(int sock, UnixDiag& out);
// The sockfs inode number of a connected unix socket's peer (sock_diag): 0 when the peer is
// gone (closed), -1 when sock_diag could not tell.
int64_t unix_peer_ino(int sock);
// The cookie of the unix socket bound to this exact sun_path (abstract: leading NUL).
bool unix_cookie_by_name(const std::string& sun_path, uint64_t& cookie);
// The server of a unix stream/seqpacket address, found by a connection of our own:
// 0 with its pid (SO_PEERPIDFD, 0 = gone) and uid, or -errno.
int unix_server_at(const sockaddr* addr, socklen_t len, int& pid, int& uid);

// Proxy ports of this process (a port may serve several policies: counted).
void proxy_port_open(int port);
void proxy_port_close(int port);
bool is_proxy_port(int port);
// An engine is about to connect socket `ino` (sockfs inode of the tracee's socket) to its
// own proxy on `port`, for a program under policy id `policy`.
void proxy_expect(unsigned long ino, int port, int policy);
// The policy id given to proxy_expect (once) when the TCP connection from
// client_addr:client_port to 127.0.0.1:port was announced (found through /proc/net/tcp{,6}:
// its inode); -1 when it was not. The proxy decides that connection's requests by that
// policy: the shell's would let a narrower program (a nested `sbx exec`, a command
// override) through it.
int proxy_admits(int port, const std::string& client_addr, int client_port);

// The address of the socket file an O_PATH fd of ours holds: /proc/self/fd/N, so a
// connect reaches that very file, whatever its name is now. Returns the address length.
socklen_t unix_addr_of_fd(int fd, sockaddr_un& un);

// unix_server_at for "/path" or "@abstract" (for `sbx check`).
int unix_server_of(const std::string& name, int& pid, int& uid);

// Is a socket bound to the socket file with inode `ino` right now (a listener, a datagram
// receiver, or a connection it accepted), as sock_diag sees this network namespace? Asked of
// the kernel, not by connecting: nothing reaches the server. 1 yes (or an inode number like
// it), 0 none here (a stale file, or a server in another network namespace), -1 cannot tell.
int unix_file_in_use(ino_t ino);
// A connect of our own to the socket file `fd` (an O_PATH fd): 1 a server answered (stream,
// seqpacket or datagram), 0 refused (nobody bound: stale), -1 cannot tell.
int unix_file_answers(int fd);

}  // namespace sbx
