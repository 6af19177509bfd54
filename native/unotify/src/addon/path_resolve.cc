// See path_resolve.h. A fast path lets the kernel walk (openat2 with RESOLVE_NO_XDEV and
// NO_MAGICLINKS, so it can never reach procfs, where "self" would mean us); anything
// that crosses a mount or needs the missing-parent answer goes through a component walk
// that rewrites /proc/self and follows procfs magic links through the kernel.
#include "path_resolve.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <deque>

namespace sbx {

static int root_fd() {
  static int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fd;
}

int open_base(const Caller& c, int dirfd, Fd& out) {
  std::string p = "/proc/" + std::to_string(c.tid) + (dirfd == AT_FDCWD ? "/cwd" : "/fd/" + std::to_string(dirfd));
  out.reset(open(p.c_str(), O_PATH | O_CLOEXEC));
  if (!out.ok()) return dirfd == AT_FDCWD ? -ENOENT : -EBADF;
  return 0;
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir[0] != '/') return std::string();
  return dir == "/" ? "/" + name : dir + "/" + name;
}

static void split_into(const std::string& p, std::deque<std::string>& out, bool front) {
  std::deque<std::string> parts;
  size_t i = 0;
  while (i < p.size()) {
    if (p[i] == '/') {
      i++;
      continue;
    }
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    parts.push_back(p.substr(i, j - i));
    i = j;
  }
  if (front)
    out.insert(out.begin(), parts.begin(), parts.end());
  else
    out.insert(out.end(), parts.begin(), parts.end());
}

static int walk(const Caller& c, int base, const std::string& path, bool follow, bool missing_ok, Resolved& out) {
  std::deque<std::string> comps;
  split_into(path, comps, false);
  bool trailing = !path.empty() && path.back() == '/';
  out.trailing_slash = trailing;
  Fd cur(fcntl(path[0] == '/' ? root_fd() : base, F_DUPFD_CLOEXEC, 3));
  if (!cur.ok()) return -errno;
  int hops = 0;
  while (!comps.empty()) {
    std::string name = comps.front();
    comps.pop_front();
    bool last = comps.empty();
    if (name == ".") continue;
    if ((name == "self" || name == "thread-self") && is_proc_root(cur.get())) {
      if (name == "thread-self") {
        comps.push_front(std::to_string(c.tid));
        comps.push_front("task");
      }
      name = std::to_string(c.tgid);
      last = comps.empty();
    }
    Fd next(openat(cur.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next.ok()) {
      int e = errno;
      if (e == ENOENT && last && missing_ok && name != "..") {
        out.parent = std::move(cur);
        out.name = name;
        return 0;
      }
      return -e;
    }
    struct stat st;
    if (fstat(next.get(), &st) < 0) return -errno;
    if (S_ISLNK(st.st_mode) && (!last || follow || trailing)) {
      if (++hops > 40) return -ELOOP;
      if (is_procfs(cur.get()) && !is_proc_root(cur.get())) {
        // A magic link (/proc/<pid>/fd/N, cwd, root, exe): only the kernel can follow it.
        Fd jumped(openat(cur.get(), name.c_str(), O_PATH | O_CLOEXEC));
        if (!jumped.ok()) return -errno;
        cur = std::move(jumped);
        continue;
      }
      char buf[4097];
      ssize_t n = readlinkat(next.get(), "", buf, sizeof buf - 1);
      if (n < 0) return -errno;
      std::string target(buf, static_cast<size_t>(n));
      if (target.empty()) return -ENOENT;
      split_into(target, comps, true);
      if (target[0] == '/') {
        cur.reset(fcntl(root_fd(), F_DUPFD_CLOEXEC, 3));
        if (!cur.ok()) return -errno;
      }
      continue;
    }
    if (!last && !S_ISDIR(st.st_mode)) return -ENOTDIR;
    cur = std::move(next);
  }
  if (trailing) {
    struct stat st;
    if (fstat(cur.get(), &st) == 0 && !S_ISDIR(st.st_mode)) return -ENOTDIR;
  }
  out.fd = std::move(cur);
  return 0;
}

std::string resolved_path(const Resolved& r) { return r.path.empty() ? fd_path(r.fd.get()) : r.path; }

// Absolute, no "." / ".." components, no "//", no trailing '/': its text is canonical
// when it resolves without symlinks inside one mount.
static bool clean_absolute(const std::string& p) {
  if (p.size() < 2 || p[0] != '/' || p.back() == '/') return false;
  for (size_t i = 0; i < p.size(); i++) {
    if (p[i] != '/') continue;
    if (i + 1 < p.size() && p[i + 1] == '/') return false;
    if (p.compare(i, 3, "/./") == 0 || p.compare(i, 4, "/../") == 0) return false;
  }
  return !(p.size() >= 2 && p.compare(p.size() - 2, 2, "/.") == 0) &&
         !(p.size() >= 3 && p.compare(p.size() - 3, 3, "/..") == 0);
}

int resolve(const Caller& c, int base, const std::string& path, bool follow, uint64_t rflags, bool missing_ok,
            Resolved& out) {
  if (path.empty()) return -ENOENT;
  if (rflags == 0 && clean_absolute(path)) {
    // Fast path: saves the readlink of /proc/self/fd (a slow procfs walk).
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);
    how.resolve = RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
    int fd = static_cast<int>(syscall(SYS_openat2, root_fd(), path.c_str(), &how, sizeof how));
    if (fd >= 0) {
      out.fd.reset(fd);
      out.path = path;
      return 0;
    }
    if (errno != ELOOP && errno != EXDEV && errno != ENOENT) return -errno;
  }
  const bool proc_base = path[0] != '/' && is_procfs(base);
  if (!proc_base) {
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);
    how.resolve = rflags | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS;
    // Under BENEATH/IN_ROOT even an absolute path starts at the dirfd.
    const int start = (path[0] == '/' && !(rflags & (RESOLVE_BENEATH | RESOLVE_IN_ROOT))) ? root_fd() : base;
    int fd = static_cast<int>(syscall(SYS_openat2, start, path.c_str(), &how, sizeof how));
    if (fd >= 0) {
      out.fd.reset(fd);
      return 0;
    }
    int e = errno;
    if (rflags != 0) {
      // The caller asked for kernel resolve semantics: let the kernel apply them, but
      // without our NO_XDEV, and refuse to land in procfs (where "self" would be us).
      if (e == EXDEV && !(rflags & RESOLVE_NO_XDEV)) {
        how.resolve = rflags | RESOLVE_NO_MAGICLINKS;
        fd = static_cast<int>(syscall(SYS_openat2, start, path.c_str(), &how, sizeof how));
        if (fd < 0) e = errno;
        if (fd >= 0) {
          out.fd.reset(fd);
          if (is_procfs(fd)) {
            out.fd.reset();
            return -EXDEV;
          }
          return 0;
        }
      }
      if (e == ENOENT && missing_ok) {
        // Missing last component under resolve flags: resolve the parent the same way.
        size_t slash = path.find_last_of('/', path.size() - 1);
        std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
        std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
        if (name.empty() || name == "." || name == "..") return -ENOENT;
        how.flags = O_PATH | O_CLOEXEC | O_DIRECTORY;
        how.resolve = rflags | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS;
        fd = static_cast<int>(syscall(SYS_openat2, dir[0] == '/' ? start : base, dir.c_str(), &how, sizeof how));
        if (fd < 0) return -errno;
        out.parent.reset(fd);
        out.name = name;
        return 0;
      }
      return -e;
    }
    if (e != EXDEV && e != ELOOP && !(e == ENOENT && missing_ok)) return -e;
  } else if (rflags != 0) {
    return -EXDEV;  // documented limitation: resolve flags from a dirfd inside /proc
  }
  return walk(c, base, path, follow, missing_ok, out);
}

int resolve_parent(const Caller& c, int base, const std::string& path, Fd& parent, std::string& name,
                   std::string* parent_path) {
  if (path.empty()) return -ENOENT;
  size_t end = path.size();
  while (end > 1 && path[end - 1] == '/') end--;
  std::string p = path.substr(0, end);
  if (p == "/") return -EBUSY;
  size_t slash = p.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : p.substr(0, slash));
  name = slash == std::string::npos ? p : p.substr(slash + 1);
  Resolved r;
  int e = resolve(c, base, dir, true, 0, false, r);
  if (e < 0) return e;
  struct stat st;
  if (fstat(r.fd.get(), &st) < 0) return -errno;
  if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
  if (parent_path) *parent_path = resolved_path(r);
  parent = std::move(r.fd);
  return 0;
}

}  // namespace sbx
