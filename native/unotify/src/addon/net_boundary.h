// The boundary around a `commands:` override on this machine's addresses (net.cc asks it at
// connects, sends and binds): an override's programs and the rest of the sessions meet only
// through servers outside sbx. Who bound which server is port_squat.h's record; what counts as
// this machine is the kernel's route answer (local_route.h). Unix sockets: net.cc
// session_server_refused, with override_boundary.
#pragma once
#include <cerrno>
#include <cstdint>
#include <string>

#include <sys/socket.h>

#include "engine.h"
#include "net_socket.h"
#include "port_squat.h"

namespace sbx {

// "127.0.0.1:5432", "[::1]:5173".
std::string ip_text(const Ip& ip);

bool multicast_address(const Ip& ip);
// Loopback, unspecified, an address the kernel routes locally (an interface's, AnyIP), or a
// broadcast one (this machine's to receive on).
bool local_address(const Ip& ip);
// A local address, or a broadcast or multicast one (local sockets on the port receive it too).
bool reaches_this_machine(const Ip& ip);

// The reason a program under policy `client` may not reach a server of this session bound
// under policy `binder` (either a `commands:` override's and the other not the same one), or
// nullptr. override_boundary: the caller's own policy as the client.
const char* override_boundary_between(Notif& n, int client, int binder);
const char* override_boundary(Notif& n, int binder);

// The reason the server a connect or send on `s` to `ip` reaches now is across the boundary
// (in this session or another of this process), or nullptr.
const char* override_server_reason(Notif& n, const Sock& s, const Ip& ip);
// A connect or send to `ip`: `boundary` is set when `ip` is this machine and an override may
// be involved; the packet is then made through checked_at_boundary, which decides it.
void mark_boundary(Notif& n, const Ip& ip, bool& boundary);
// A UDP server about to bind `ip` that a socket across the boundary is already connected to:
// refused (answered, true).
bool connected_across_override(Notif& n, const Sock& s, const Ip& ip);
// Its reason, without refusing: "" when it would not.
std::string connected_across_reason(Notif& n, const Sock& s, const Ip& ip);
// `ip` as a socket address for a socket of `domain` (an IPv4 one v4-mapped on AF_INET6, its
// wildcard as ::). Returns the length.
socklen_t sockaddr_for(int domain, const Ip& ip, sockaddr_storage& ss);

// An ephemeral port for `s` at `ip`'s address (asked with port 0: a bind, a listen on an
// unbound socket, a UDP socket's first send): one the kernel offers a probe socket of the
// same kind, and not one that would take an outside server's clients in the other IP family
// (port_squat.h takes_outside_clients) or that a socket across an override's boundary is
// connected to (connected_across_override). A kernel's own pick, bound unchecked, landed on
// such a port by chance, and a program that bound port 0 again and again made it land there.
// `addr` (`len` bytes) is the address to bind, its port 0: probed as it is. false with the
// port set in ip.port and addr; true when refused (answered). Call under hold_servers.
bool pick_port(Notif& n, const Sock& s, Ip& ip, sockaddr_storage& addr, socklen_t len);
// A UDP socket with no port yet bound to the wildcard and recorded before its first decided
// send or connect (the kernel would give it one unrecorded). true when answered (refused).
bool bind_ephemeral(Notif& n, const Sock& s, const Ip& ip);

// The packet (a send or connect: `act`, answering 0/a count or -errno) to a destination
// decided at the override boundary, with the boundary checked again and the packet made
// under hold_servers: a server binds, listens or gets its first port under it too, so none
// appears between the check and the packet (a base program retrying a connect while an
// override's agent starts to listen got through between the two). -EACCES (reported) when
// the server the destination reaches now is across the boundary.
template <typename Act>
long checked_at_boundary(Notif& n, const Sock& s, bool boundary, const Ip& ip, Act act) {
  if (!boundary) return act();
  auto held = hold_servers();
  if (const char* why = override_server_reason(n, s, ip)) {
    report_refusal(n, Decision{false, -2}, "net", ip_text(ip) + why, EACCES);
    return -EACCES;
  }
  return act();
}

}  // namespace sbx
