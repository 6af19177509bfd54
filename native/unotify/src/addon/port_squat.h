// A server inside next to a server outside on the same port, other IP family (net.cc).
//
// `localhost` is two addresses: 127.0.0.1 and ::1, and clients try ::1 first. A server
// outside that listens on one family only (Node's listen(port, '127.0.0.1'), Vite on
// 'localhost' = ::1 only) leaves the other free, and the kernel lets a program inside bind
// it: the outside server's clients then reach the sandbox (a database's password, a dev
// server's session cookie). SO_REUSEPORT, the same family's way to share a port, is refused
// already; this is the other way. A bind or listen on a port that a TCP listener or an
// unconnected UDP socket of the other family holds, not bound by this session, is refused.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "engine.h"

namespace sbx {

struct Sock;

// The record of the inet sockets sbx's engines bound for their sessions (a bind, a listen that
// gave a port, a UDP socket's first send), by sock_diag cookie (unique for the boot): which
// session bound each and under which policy. One record for every session of this process: a
// server one session runs (an override's agent in one terminal) is no server outside sbx to
// another, and sbx's filtering proxy serves them all.

// Held while an engine gives a session's inet socket its address (bind, listen, a UDP
// socket's first port) until it is recorded, and while a program's send or connect to this
// machine is checked at the override boundary and made (net.cc checked_at_boundary): no
// server appears between the check and the packet. One lock for every session here.
std::unique_lock<std::mutex> hold_servers();

// Room for one more socket in the record? When it is full, the sockets closed since are
// forgotten first; when it is still full (that many bound and open), refused (ENOBUFS, a
// denial line naming `what`) and true returned: a socket sbx did not record would pass for a
// server outside the sandbox.
bool record_full(Notif& n, const std::string& what);

// After the engine bound `s` for the session: remembered as the session's.
void record_session_socket(Notif& n, const Sock& s);

// Does any policy of any session of this process have `commands:` overrides? From the first
// one on, every connect or send to this machine is checked at the override boundary under
// hold_servers (net_boundary.h): before an override's program binds anything too, or its
// first server could start listening between a connect's decision and the connect.
void note_overrides_configured();
bool overrides_configured();

// Who bound a socket in the record, as the engine asking sees it.
struct Binder {
  bool here;       // this session (else another session of this process)
  int policy;      // its policy id (in the session that bound it)
  bool override_;  // under a `commands:` override (in that session)
};

// The sbx sessions' servers a connect or send on `s` to `dest` (AF_INET: 4 bytes, AF_INET6:
// 16) port `port` on this machine would reach: the one bound most closely to the address, as
// the kernel picks it (a TCP listener, or a UDP socket with no peer, of either family); with
// `every` (a broadcast or multicast destination) each one on the port. Empty when the one
// reached is not sbx's (or the kernel cannot be asked).
std::vector<Binder> servers_reached(Notif& n, const Sock& s, int family, const uint8_t* dest, int port, bool every);

// A UDP socket of an sbx session connected to a port (it sends there with no decision of its
// own, the destination decided once at its connect).
struct SessionPeer {
  Binder who;         // who connected it
  int family;         // AF_INET or AF_INET6 (a v4-mapped destination is AF_INET)
  uint8_t addr[16];   // its destination (4 bytes for AF_INET)
};
// The sessions' UDP sockets connected to `port` (either family).
std::vector<SessionPeer> session_peers_of(Notif& n, int port);

// Is the TCP server a connection to `address` (IPv4 or IPv6 text) port `port` on this machine
// would reach one that a process under a `commands:` override bound, in any session of this
// process? sbx's filtering proxy asks before it connects for a program (it connects as the
// supervisor, past the engine's boundary).
bool override_server_at(const std::string& address, int port);

// A TCP connection of this process to `address` (IPv4 or IPv6 text) port `port` on this
// machine, made only when the server it reaches is not one an override runs
// (override_server_at), the check and the handshake under hold_servers: no override's server
// starts listening between them (sbx's filtering proxy connects for programs through this).
// The connected, non-blocking socket, or -errno (-EACCES: an override's server; -ETIMEDOUT:
// no handshake within `timeout_ms`).
int connect_unless_override(const std::string& address, int port, int timeout_ms);

// Would serving `port` (family 4 or 6) on `s` take a server's clients outside the session?
// Refuses (a denial line, EADDRINUSE as the kernel says for a taken port) and returns true
// when it would; false otherwise, and when the kernel cannot be asked (sock_diag missing).
bool takes_outside_clients(Notif& n, const Sock& s, int family, int port);
// Its reason, without refusing: "" when it would not.
std::string outside_server_reason(Notif& n, const Sock& s, int family, int port);

}  // namespace sbx
