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
#include <string>
#include <vector>

#include "engine.h"

namespace sbx {

struct Sock;

// After the engine bound `s` for the session: remembered as one of the session's (so its
// own server may serve both families).
void record_session_socket(Notif& n, const Sock& s);

// The policy ids of the session's servers a connect or send on `s` to `dest` (AF_INET: 4
// bytes, AF_INET6: 16) port `port` on this machine would reach: the one bound most closely to
// the address, as the kernel picks it (a TCP listener, or a UDP socket with no peer, of
// either family); with `every` (a broadcast or multicast destination) each one on the port.
// Empty when the one reached is not the session's (or the kernel cannot be asked).
std::vector<int> session_servers_for(Notif& n, const Sock& s, int family, const uint8_t* dest, int port, bool every);

// A socket of the session connected to a port (UDP: it sends there with no decision of its
// own, the destination decided once at its connect).
struct SessionPeer {
  int policy;         // who connected it
  int family;         // AF_INET or AF_INET6 (a v4-mapped destination is AF_INET)
  uint8_t addr[16];   // its destination (4 bytes for AF_INET)
};
// The session's UDP sockets connected to `port` (either family).
std::vector<SessionPeer> session_peers_of(Notif& n, int port);

// Is the TCP server a connection to `address` (IPv4 or IPv6 text) port `port` on this machine
// would reach one that a process under a `commands:` override bound, in any session of this
// process? sbx's filtering proxy asks before it connects for a program (it connects as the
// supervisor, past the engine's boundary). A process-wide record: the proxy serves sessions.
bool override_server_at(const std::string& address, int port);

// Would serving `port` (family 4 or 6) on `s` take a server's clients outside the session?
// Refuses (a denial line, EADDRINUSE as the kernel says for a taken port) and returns true
// when it would; false otherwise, and when the kernel cannot be asked (sock_diag missing).
bool takes_outside_clients(Notif& n, const Sock& s, int family, int port);

}  // namespace sbx
