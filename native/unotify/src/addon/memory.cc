// process_vm_readv in page-sized pieces so a string that ends just before an unmapped
// page is still read (one iovec spanning into the hole would fail as a whole).
#include "memory.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sbx {

static const size_t kPage = 4096;

int read_mem(pid_t pid, uint64_t addr, void* buf, size_t len) {
  if (len == 0) return 0;
  if (addr == 0) return -EFAULT;
  size_t done = 0;
  while (done < len) {
    iovec local{static_cast<char*>(buf) + done, len - done};
    iovec remote{reinterpret_cast<void*>(addr + done), len - done};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n < 0) return errno == ESRCH ? -ESRCH : -EFAULT;
    if (n == 0) return -EFAULT;
    done += static_cast<size_t>(n);
  }
  return 0;
}

int write_mem(pid_t pid, uint64_t addr, const void* buf, size_t len) {
  iovec local{const_cast<void*>(buf), len};
  iovec remote{reinterpret_cast<void*>(addr), len};
  ssize_t n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
  return n == static_cast<ssize_t>(len) ? 0 : -EFAULT;
}

int read_string(pid_t pid, uint64_t addr, std::string& out, size_t max) {
  out.clear();
  if (addr == 0) return -EFAULT;
  char buf[kPage];
  while (out.size() <= max) {
    size_t chunk = kPage - (addr % kPage);  // never cross a page in one read
    iovec local{buf, chunk};
    iovec remote{reinterpret_cast<void*>(addr), chunk};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n <= 0) return -EFAULT;
    const char* nul = static_cast<const char*>(memchr(buf, 0, static_cast<size_t>(n)));
    if (nul) {
      out.append(buf, static_cast<size_t>(nul - buf));
      return out.size() > max ? -ENAMETOOLONG : 0;
    }
    out.append(buf, static_cast<size_t>(n));
    addr += static_cast<uint64_t>(n);
  }
  return -ENAMETOOLONG;
}

}  // namespace sbx
