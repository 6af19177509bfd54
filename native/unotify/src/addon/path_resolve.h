// Path resolution on behalf of a tracee, done in the engine's own process: the result
// is an O_PATH fd whose /proc/self/fd link names what the kernel really reached.
#pragma once
#include <cstdint>
#include <string>

#include "sys.h"

namespace sbx {

struct Caller {
  int tid = 0;   // notification pid (a thread id)
  int tgid = 0;  // its thread group
};

struct Resolved {
  Fd fd;             // the target (O_PATH), when it exists
  Fd parent;         // when the last component is missing and missing_ok: its directory
  std::string name;  // ... and the missing name
  bool trailing_slash = false;
  // The canonical path of fd when resolution proved it textually (a clean absolute path
  // walked with RESOLVE_NO_SYMLINKS inside one mount); "" = ask readlink.
  std::string path;
};
// Canonical path of r.fd: the proven text, else readlink of /proc/self/fd.
std::string resolved_path(const Resolved& r);

// Opens the tracee's cwd (dirfd == AT_FDCWD) or its dirfd as O_PATH; -errno on failure.
int open_base(const Caller& c, int dirfd, Fd& out);
// Resolves `path` from `base` (absolute paths from "/"). /proc/self and /proc/thread-self
// mean the caller. follow: follow a final symlink. rflags: openat2 RESOLVE_* flags.
// missing_ok: a missing last component yields parent+name instead of ENOENT.
int resolve(const Caller& c, int base, const std::string& path, bool follow, uint64_t rflags, bool missing_ok,
            Resolved& out);
// Parent directory of the last component (which is not followed) + its name.
// Fails with EEXIST-style errors for "/" and ENOENT for "".
int resolve_parent(const Caller& c, int base, const std::string& path, Fd& parent, std::string& name,
                   std::string* parent_path = nullptr);
// Canonical path of an fd from resolve; "" when it is not a filesystem path.
std::string join_path(const std::string& dir, const std::string& name);

}  // namespace sbx
