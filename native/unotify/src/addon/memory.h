// Reading tracee memory. Every read must be followed by NOTIF_ID_VALID before acting.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace sbx {
// All-or-nothing copy; 0 or -errno (EFAULT for an unmapped range).
int read_mem(pid_t pid, uint64_t addr, void* buf, size_t len);
// NUL-terminated string of at most `max` bytes; 0, -EFAULT or -ENAMETOOLONG.
int read_string(pid_t pid, uint64_t addr, std::string& out, size_t max = 4096);
int write_mem(pid_t pid, uint64_t addr, const void* buf, size_t len);
}  // namespace sbx
