// See fdpass.h.
#include "fdpass.h"

#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace sbx {

int recv_fd(int sock, int timeout_ms) {
  pollfd p{sock, POLLIN, 0};
  int r;
  do r = poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  if (r == 0) return -ETIMEDOUT;
  char data[256];
  iovec iov{data, sizeof data};
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * 4)];
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = cbuf;
  m.msg_controllen = sizeof cbuf;
  ssize_t n;
  do n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  int fd = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int* fds = reinterpret_cast<int*>(CMSG_DATA(c));
    for (size_t i = 0; i < count; i++) {
      if (fd < 0)
        fd = fds[i];
      else
        close(fds[i]);  // only one is expected
    }
  }
  if (fd >= 0) return fd;
  return n == 0 ? -ECONNRESET : -EBADMSG;
}

int send_fd_bytes(int sock, int fd, const void* data, size_t len) {
  iovec iov{const_cast<void*>(data), len};
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = cbuf;
  m.msg_controllen = sizeof cbuf;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do n = sendmsg(sock, &m, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : 0;
}

int send_fd(int sock, int fd, const std::string& payload) {
  // A message needs at least one byte to carry the fd.
  if (payload.empty()) return send_fd_bytes(sock, fd, "", 1);
  return send_fd_bytes(sock, fd, payload.data(), payload.size());
}

}  // namespace sbx
