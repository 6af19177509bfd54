// What this machine's routing makes of a destination address, as the kernel routes a packet
// the supervisor sends (its network namespace is the sandbox's: namespaces are refused
// inside). The kernel's answer, not a list of interface addresses: an AnyIP `local` route
// (`ip route add local 10.9.0.0/16 dev lo`) makes a whole range this machine's, and
// 127.255.255.255 is a broadcast every socket on the port receives.
#pragma once
#include <cstdint>

namespace sbx {

enum class RouteKind { kLocal, kBroadcast, kMulticast, kElsewhere, kUnknown };

// `family` AF_INET (4 bytes at `addr`) or AF_INET6 (16). kElsewhere also when there is no
// route at all; kUnknown when the kernel could not be asked: callers take the safer side.
RouteKind route_kind(int family, const uint8_t* addr);

}  // namespace sbx
