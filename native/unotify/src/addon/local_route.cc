// See local_route.h. One RTM_GETROUTE request, as `ip route get ADDR` makes.
#include "local_route.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "sys.h"

namespace sbx {

RouteKind route_kind(int family, const uint8_t* addr) {
  const size_t alen = family == AF_INET ? 4 : 16;
  struct {
    nlmsghdr h;
    rtmsg r;
    char attrs[64];
  } req{};
  req.h.nlmsg_type = RTM_GETROUTE;
  req.h.nlmsg_flags = NLM_F_REQUEST;
  req.r.rtm_family = static_cast<unsigned char>(family);
  req.r.rtm_dst_len = static_cast<unsigned char>(alen * 8);
  auto* rta = reinterpret_cast<rtattr*>(req.attrs);
  rta->rta_type = RTA_DST;
  rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(alen));
  memcpy(RTA_DATA(rta), addr, alen);
  req.h.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(sizeof(rtmsg)) + RTA_ALIGN(rta->rta_len));

  Fd nl(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!nl.ok()) return RouteKind::kUnknown;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(nl.get(), &req, req.h.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) return RouteKind::kUnknown;
  alignas(nlmsghdr) char buf[8192];
  pollfd p{nl.get(), POLLIN, 0};
  if (poll(&p, 1, 2000) != 1) return RouteKind::kUnknown;
  ssize_t got = recv(nl.get(), buf, sizeof buf, 0);
  if (got <= 0) return RouteKind::kUnknown;
  for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<unsigned>(got)); h = NLMSG_NEXT(h, got)) {
    // No route (ENETUNREACH): not this machine's, whose addresses always have local routes.
    if (h->nlmsg_type == NLMSG_ERROR) return RouteKind::kElsewhere;
    if (h->nlmsg_type != RTM_NEWROUTE) continue;
    switch (reinterpret_cast<const rtmsg*>(NLMSG_DATA(h))->rtm_type) {
      case RTN_LOCAL: return RouteKind::kLocal;
      case RTN_BROADCAST: return RouteKind::kBroadcast;
      case RTN_MULTICAST: return RouteKind::kMulticast;
      default: return RouteKind::kElsewhere;
    }
  }
  return RouteKind::kUnknown;
}

}  // namespace sbx
