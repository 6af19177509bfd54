// fd passing over AF_UNIX (SCM_RIGHTS) and the kernel probe, as plain functions.
#pragma once
#include <cstddef>
#include <string>

namespace sbx {
// 0 or -errno; -ETIMEDOUT on timeout, -ECONNRESET on EOF, -EBADMSG without an fd.
int recv_fd(int sock, int timeout_ms);
int send_fd(int sock, int fd, const std::string& payload);
// The same without allocating: safe in a child forked from a threaded process.
int send_fd_bytes(int sock, int fd, const void* data, size_t len);

struct KernelFeatures {
  std::string kernel, arch;
  bool seccompFilter = false, userNotify = false, waitKillableRecv = false, addfd = false, addfdSend = false,
       pidfdOpen = false, pidfdGetfd = false, ptraceOthers = false;
  int landlockAbi = 0;
};
KernelFeatures probe_kernel();
}  // namespace sbx
