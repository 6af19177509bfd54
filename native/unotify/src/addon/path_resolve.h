// Path resolution on behalf of a tracee, done in the engine's own process. The result is
// an O_PATH fd plus what the engine may decide on: the object's path, PROVEN (resolving
// that text again from the engine's own root reaches the same dev/ino/mount), or, for an
// object without a name (pipe, socket, anon inode, memfd, deleted file), the fact that the
// caller reached it through its own fd table. procfs is decided by the process each
// /proc/<pid>/ belongs to, at every component, before any magic link is followed.
#pragma once
#include <cstdint>
#include <string>

#include "sys.h"

namespace sbx {

class Core;

struct Caller {
  int tid = 0;   // notification pid (a thread id)
  int tgid = 0;  // its thread group
  Core* core = nullptr;  // protected pids (the supervisor, keepers), the process table; null = none
  int policy = -1;       // its policy id (whom it may debug: debug.cc)
  uint64_t task = 0;     // its ProcTable serial (procs.h): same task = same serial; 0 = none
  // A pidfd of its process when it is the thread-group leader: the one its lookup pinned
  // before anything about it was read (procs.h), so tables keyed by process share it.
  SharedFd pin;
};

struct Resolved {
  Fd fd;             // the target (O_PATH), when it exists
  Fd parent;         // when the last component is missing and missing_ok: its directory
  std::string name;  // ... and the missing name
  bool trailing_slash = false;
  // fd set: the proven canonical path of fd, or for an unnamed object its procfs text
  // ("pipe:[12]", "/memfd:x (deleted)"). Only parent set: the proven path of parent.
  std::string path;
  // No name to decide on; reached through the caller's own fd table (/proc/self/fd/N) or
  // another of its own magic links. Reopening it may not exceed `held`.
  bool unnamed = false;
  int held = -1;  // unnamed: the access mode the caller holds it with (O_RDONLY/O_WRONLY/O_RDWR; -1: O_PATH, none)
  // fd set by the direct walk of a clean absolute path from our root: nothing about the
  // caller (its /proc entries, cwd, fds) was read to find it.
  bool from_root = false;
  // Set with -EACCES: what resolution itself refused, for the violation log.
  // "proc": another process's /proc entry or a protected pid; "identity": an object the
  // engine cannot reach by its name (detached mount, other namespace, overmounted, unnamed
  // object of another process).
  const char* refused_op = nullptr;
  std::string refused;
};
// The canonical path (or unnamed text) of r.fd, or of r.parent when only that is set.
inline const std::string& resolved_path(const Resolved& r) { return r.path; }

// Our own root (O_PATH): every walk of an absolute path starts here.
int root_fd();
// Opens the tracee's cwd (dirfd == AT_FDCWD) or its dirfd as O_PATH; -errno on failure.
// Used as the base of a relative resolution (whose result is proven by itself).
int open_base(const Caller& c, int dirfd, Fd& out);
// The caller's fd `dirfd` (or its cwd for AT_FDCWD) itself, as a resolved object
// (AT_EMPTY_PATH operations): proven path, or unnamed with the mode the caller holds.
int resolve_fd(const Caller& c, int dirfd, Resolved& out);
// The caller's file that we already hold as `ourfd` (our pidfd_getfd copy, for fd-based
// syscalls): its proven path, or unnamed with the mode the caller holds it with.
int identify_held(const Caller& c, int ourfd, Resolved& out);
// Resolves `path` from `base` (absolute paths from "/"). /proc/self and /proc/thread-self
// mean the caller. follow: follow a final symlink. rflags: openat2 RESOLVE_* flags.
// missing_ok: a missing last component yields parent+name instead of ENOENT.
int resolve(const Caller& c, int base, const std::string& path, bool follow, uint64_t rflags, bool missing_ok,
            Resolved& out);
// Parent directory of the last component (which is not followed) + its name, in
// out.parent / out.name, the parent's proven path in out.path.
// Fails with EBUSY for "/" and ENOENT for "".
int resolve_parent(const Caller& c, int base, const std::string& path, Resolved& out);
std::string join_path(const std::string& dir, const std::string& name);
// True when `text` names the object `fd` holds: resolving it again from the engine's own
// root (no symlinks, no magic links) reaches the same dev/inode/mount.
bool proven_path(int fd, const std::string& text);
// Absolute, no "." / ".." components, no "//", no trailing '/'.
bool clean_absolute(const std::string& p);
// Opens a clean absolute path from our root inside the root mount, without following any
// symlink or magic link (openat2 RESOLVE_NO_XDEV|NO_SYMLINKS|NO_MAGICLINKS): whatever it
// opens is the object at exactly that text, so the text is its proven name. -errno on
// failure; EXDEV/ELOOP mean "not provable this way", not "absent".
int open_clean(const std::string& path, int oflags, mode_t mode = 0);
// The same walk from a directory we hold instead of our root: `rel` (relative, no ".."
// component: the caller's duty) is walked inside that directory's mount without following
// any symlink or magic link, so it cannot leave it. -errno on failure, as open_clean.
int open_clean_at(int dirfd, const std::string& rel, int oflags);
// The name of a directory we hold (our O_PATH copy of a caller's cwd or dirfd), on the root
// mount and proven as any object's: its path walked again from our root without symlinks or
// magic links reaches the same dev/inode/mount. So `text` + "/" + a name open_clean_at then
// walks from it is that object's path, as if walked from "/" (a file held instead fails that
// walk with ENOTDIR, the kernel's answer). False when it has no such name (deleted, on
// another mount, longer than PATH_MAX).
bool proven_clean_dir(int dirfd, std::string& text);

}  // namespace sbx
