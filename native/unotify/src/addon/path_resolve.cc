// See path_resolve.h. A fast path lets the kernel walk (openat2 with RESOLVE_NO_XDEV and
// NO_MAGICLINKS, so it can never reach procfs, where "self" would mean us); anything
// that crosses a mount or needs the missing-parent answer goes through a component walk
// that rewrites /proc/self, decides every /proc/<pid>/ component by the process it
// belongs to, and follows the caller's own magic links through the kernel. Whatever the
// route, the object's path text is then proven (identify) before anyone decides on it.
#include "path_resolve.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/stat.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <vector>

#include "engine.h"
#include "root_links.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

namespace sbx {

int root_fd() {
  static int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fd;
}

namespace {

// The superblock of the procfs at /proc (pid numbers there are in our pid namespace).
dev_t proc_dev() {
  static dev_t dev = [] {
    struct stat st;
    return stat("/proc", &st) == 0 ? st.st_dev : static_cast<dev_t>(-1);
  }();
  return dev;
}

int sys_openat2(int dirfd, const std::string& path, uint64_t flags, uint64_t resolve) {
  open_how how{};
  how.flags = flags;
  how.resolve = resolve;
  return static_cast<int>(syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how));
}

struct Ident {
  uint32_t major = 0, minor = 0, nlink = 0;
  uint64_t ino = 0, mnt = 0;
  bool same(const Ident& o) const { return major == o.major && minor == o.minor && ino == o.ino && mnt == o.mnt; }
};

bool ident(int fd, Ident& id) {
  struct statx sx;
  if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_INO | STATX_NLINK | STATX_MNT_ID, &sx) < 0) return false;
  if (!(sx.stx_mask & STATX_MNT_ID)) return false;  // kernel < 5.8: cannot prove, refuse
  id.major = sx.stx_dev_major, id.minor = sx.stx_dev_minor, id.nlink = sx.stx_nlink;
  id.ino = sx.stx_ino, id.mnt = sx.stx_mnt_id;
  return true;
}

// The text is accepted only when resolving it again from our root — no magic links, no
// symlinks (a canonical path has none) — reaches the very object: same dev, inode and
// mount. A detached mount, another namespace's mount, an overmounted or renamed object
// fails. Both fds are held, so a mount id cannot be reused in between.
bool proven(const Ident& obj, const std::string& text) {
  if (text.empty() || text[0] != '/') return false;
  Fd again(sys_openat2(root_fd(), text, O_PATH | O_NOFOLLOW | O_CLOEXEC, RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS));
  Ident b;
  return again.ok() && ident(again.get(), b) && obj.same(b);
}

bool proven(int fd, const std::string& text) {
  Ident a;
  return ident(fd, a) && proven(a, text);
}

int refused(Resolved& out, const char* op, const std::string& what) {
  out.refused_op = op;
  out.refused = what;
  return -EACCES;
}

bool all_digits(const std::string& s) {
  if (s.empty() || s.size() > 10) return false;
  for (char ch : s)
    if (ch < '0' || ch > '9') return false;
  return true;
}

bool ends_with(const std::string& s, const char* suffix) {
  size_t n = strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// Where the walk stands in procfs.
struct Place {
  enum Kind { Outside, ProcRoot, ProcPid, ProcOther } kind = Outside;
  int pid = 0;   // ProcPid: the /proc/<pid> directory
  bool own = false;  // ... belongs to the caller's thread group
  bool debug = false;  // ... belongs to a process the caller may debug (debug.cc)
  bool allowed() const { return own || proc_entry_allowed(below, false) || (debug && proc_debug_entry_allowed(below, false)); }
  std::vector<std::string> below;  // components under /proc/<pid>
  std::string text(const std::string& extra = std::string()) const {
    std::string s = "/proc/" + std::to_string(pid);
    for (const auto& b : below) s += "/" + b;
    if (!extra.empty()) s += "/" + extra;
    return s;
  }
};

// How the current object was reached, when through one of the caller's own magic links.
struct Link {
  bool own = false;
  int table = 0;  // fd links: the task whose fd table holds it
  int fdn = -1;   // ... and the fd number; -1 for cwd, root, exe, map_files/, ns/
};

// The thread group of the task behind an open /proc/<pid> directory (read through that
// fd, so it is the same task even if the pid has been recycled since): 0 when gone.
int tgid_of_dir(int dir) {
  Fd f(openat(dir, "status", O_RDONLY | O_CLOEXEC));
  if (!f.ok()) return 0;
  char buf[4096];
  ssize_t n = read(f.get(), buf, sizeof buf - 1);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* p = strstr(buf, "\nTgid:");
  return p ? atoi(p + 6) : 0;
}

// Entering /proc/<pid> (dir: its fd): whose is it? A protected pid is refused whole.
// The caller's own tgid and tid need no look: they cannot be recycled while it waits here.
int enter_pid(const Caller& c, int dir, int pid, Place& pl, Resolved& out) {
  int tgid = pid == c.tgid || pid == c.tid ? c.tgid : tgid_of_dir(dir);
  if (tgid <= 0) return -ENOENT;
  pl.kind = Place::ProcPid;
  pl.pid = pid;
  pl.own = tgid == c.tgid;
  pl.below.clear();
  if (c.core && c.core->is_protected(tgid)) return refused(out, "proc", pl.text());
  pl.debug = !pl.own && may_debug(c, tgid);
  return 0;
}

std::vector<std::string> split(const std::string& p) {
  std::vector<std::string> parts;
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
  return parts;
}

// A procfs object reached some other way than a step down from /proc (a base dirfd, a
// jump through a magic link, ".."): where is it? Only our /proc counts, and its text
// must be proven; then the same rules as for a walk down apply to every component.
int locate(const Caller& c, int fd, Place& pl, Resolved& out) {
  std::string text = fd_path(fd);
  if (text != "/proc" && text.compare(0, 6, "/proc/") != 0) return refused(out, "proc", text.empty() ? "procfs" : text);
  std::vector<std::string> parts = split(text.substr(5));
  pl = Place{};
  Fd piddir;
  if (!parts.empty() && all_digits(parts[0])) {
    // Opened before the proof: if the proof holds, the task was alive all along, so this
    // is the same task (a pid is not recycled while its task lives).
    piddir.reset(sys_openat2(root_fd(), "/proc/" + parts[0], O_PATH | O_DIRECTORY | O_CLOEXEC,
                             RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS));
    if (!piddir.ok()) return refused(out, "identity", text);
  }
  if (!proven(fd, text)) return refused(out, "identity", text);
  if (parts.empty()) {
    pl.kind = Place::ProcRoot;
    return 0;
  }
  if (!piddir.ok()) {
    pl.kind = Place::ProcOther;
    return 0;
  }
  int e = enter_pid(c, piddir.get(), atoi(parts[0].c_str()), pl, out);
  if (e < 0) return e;
  for (size_t i = 1; i < parts.size(); i++) {
    pl.below.push_back(parts[i]);
    if (!pl.allowed()) return refused(out, "proc", pl.text());
  }
  return 0;
}

// Where a freshly reached object stands (after a jump or a ".."): procfs or not.
int place_of(const Caller& c, int fd, Place& pl, Resolved& out) {
  if (!is_procfs(fd)) {
    pl = Place{};
    return 0;
  }
  return locate(c, fd, pl, out);
}

// Decides what the resolution reached (out.fd): a proven name, or an unnamed object of
// the caller's own (pipe, socket, anon inode, memfd, deleted file) with the mode it
// holds it with. Anything else is refused.
// copyfd: our own copy of the caller's file when the caller already gave it to us (an
// fd-based syscall), so no second pidfd_getfd is needed.
int identify(const Caller& c, Resolved& out, const Link& link, int copyfd = -1) {
  Ident id;
  if (!ident(out.fd.get(), id)) return refused(out, "identity", fd_path(out.fd.get()));
  std::string text = fd_path(out.fd.get());
  if (text.empty()) return refused(out, "identity", "(no path)");  // longer than PATH_MAX
  if (text[0] == '/') {
    if (proven(id, text)) {
      // procfs is decided on its /proc/<pid>/ text (fs_check). Our procfs anywhere else
      // (a bind mount of /proc/<pid>) could not be. (Another procfs instance is never
      // reached: every way into one — a mount crossed by the walk, a jump, a base — goes
      // through locate(), and the kernel-walked routes cannot leave their mount.)
      if (makedev(id.major, id.minor) == proc_dev() && text != "/proc" && text.compare(0, 6, "/proc/") != 0)
        return refused(out, "proc", text);
      out.path = std::move(text);
      return 0;
    }
    // Not reachable by its name: refused, unless it has none left (a memfd, an O_TMPFILE
    // or unlinked file; a file really named "x (deleted)" is proven above).
    if (!(id.nlink == 0 && ends_with(text, " (deleted)"))) return refused(out, "identity", text);
  }
  // Unnamed: pipe:[..], socket:[..], anon_inode:[..], a deleted file.
  if (!link.own) return refused(out, "identity", text);
  out.unnamed = true;
  out.path = text;
  if (link.fdn < 0) {
    out.held = O_RDONLY;  // cwd, root, exe, map_files/: nothing the caller may write through
    return 0;
  }
  // Through the caller's own fd N: take our own copy of its file (one object, whatever
  // a racing thread does to the fd table) and see how the caller holds it. An O_PATH
  // fd (an O_PATH open is CONTINUEd, so a racing thread could have pointed it anywhere)
  // grants nothing to reopen (held -1; an exec of it is still verified before its first trapped syscall).
  Fd copy;
  if (copyfd < 0) {
    Fd pidfd(sys_pidfd_open(link.table, link.table == c.tgid ? 0 : PIDFD_THREAD));
    if (!pidfd.ok()) return refused(out, "identity", text);
    copy.reset(sys_pidfd_getfd(pidfd.get(), link.fdn, 0));
  } else {
    copy.reset(fcntl(copyfd, F_DUPFD_CLOEXEC, 3));
  }
  if (!copy.ok()) return refused(out, "identity", text);
  Ident cid;
  int fl = fcntl(copy.get(), F_GETFL);
  if (fl < 0 || !ident(copy.get(), cid) || !cid.same(id)) return refused(out, "identity", text);
  out.held = (fl & O_PATH) ? -1 : fl & O_ACCMODE;
  return 0;
}

// Its parent directory must be proven like any object (a missing name has no identity).
int identify_parent(const Caller& c, Resolved& out) {
  struct stat st;
  if (fstat(out.parent.get(), &st) < 0) return -errno;
  if (st.st_nlink == 0) return -ENOENT;  // a deleted directory: nothing can be created in it
  Resolved p;
  p.fd = std::move(out.parent);
  int e = identify(c, p, Link{});
  out.parent = std::move(p.fd);
  if (e < 0) {
    out.refused_op = p.refused_op;
    out.refused = std::move(p.refused);
    return e;
  }
  if (p.unnamed) return -ENOENT;
  out.path = std::move(p.path);
  return 0;
}

int walk(const Caller& c, int base, const std::string& path, bool follow, bool missing_ok, Resolved& out) {
  std::deque<std::string> comps;
  for (auto& s : split(path)) comps.push_back(std::move(s));
  bool trailing = !path.empty() && path.back() == '/';
  out.trailing_slash = trailing;
  Fd cur(fcntl(path[0] == '/' ? root_fd() : base, F_DUPFD_CLOEXEC, 3));
  if (!cur.ok()) return -errno;
  Place pl;
  Link link;
  int e;
  if (path[0] != '/' && (e = place_of(c, cur.get(), pl, out)) < 0) return e;
  struct stat cst;
  if (fstat(cur.get(), &cst) < 0) return -errno;
  dev_t cur_dev = cst.st_dev;
  int hops = 0;
  while (!comps.empty()) {
    std::string name = comps.front();
    comps.pop_front();
    bool last = comps.empty();
    if (name == ".") continue;
    if (pl.kind == Place::ProcRoot && (name == "self" || name == "thread-self")) {
      if (name == "thread-self") {
        comps.push_front(std::to_string(c.tid));
        comps.push_front("task");
      }
      name = std::to_string(c.tgid);
      last = comps.empty();
    }
    // Looked up, never followed (O_PATH|O_NOFOLLOW calls no procfs open): a name that
    // does not exist answers ENOENT, as stat would (ps probes files other kernels have).
    Fd next(openat(cur.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    e = next.ok() ? 0 : errno;
    // Another process's entries are decided before anything is done with them.
    if (pl.kind == Place::ProcPid && !pl.own && name != ".." && e != ENOENT) {
      pl.below.push_back(name);
      bool ok = pl.allowed();
      pl.below.pop_back();
      if (!ok) return refused(out, "proc", pl.text(name));
    }
    if (!next.ok()) {
      if (e == ENOENT && last && missing_ok && name != ".." && !(pl.kind == Place::ProcPid && !pl.own)) {
        out.parent = std::move(cur);
        out.name = name;
        return identify_parent(c, out);
      }
      return -e;
    }
    struct stat st;
    if (fstat(next.get(), &st) < 0) return -errno;
    if (S_ISLNK(st.st_mode) && (!last || follow || trailing)) {
      if (++hops > 40) return -ELOOP;
      if (pl.kind == Place::ProcPid) {
        // A magic link (fd/N, cwd, root, exe, map_files/..., ns/...): only the kernel can
        // follow it, and only the caller's own are followed.
        // A process the caller may debug: its exe too (ltrace reads the image through it); the
        // file reached is then decided by its own proven path, and an unnamed one is refused.
        const auto& b = pl.below;
        const bool debug_exe = pl.debug && name == "exe" && (b.empty() || (b.size() == 2 && b[0] == "task"));
        if (!pl.own && !debug_exe) return refused(out, "proc", pl.text(name));
        link = Link{};
        link.own = pl.own;
        if (all_digits(name) && b.size() == 1 && b[0] == "fd")
          link.table = pl.pid, link.fdn = atoi(name.c_str());
        else if (all_digits(name) && b.size() == 3 && b[0] == "task" && b[2] == "fd")
          link.table = atoi(b[1].c_str()), link.fdn = atoi(name.c_str());
        Fd jumped(openat(cur.get(), name.c_str(), O_PATH | O_CLOEXEC));
        if (!jumped.ok()) return -errno;
        cur = std::move(jumped);
        if ((e = place_of(c, cur.get(), pl, out)) < 0) return e;
        if (fstat(cur.get(), &cst) < 0) return -errno;
        cur_dev = cst.st_dev;
        continue;
      }
      // No other procfs directory holds magic links; refuse rather than read one as text.
      if (pl.kind != Place::ProcRoot && is_procfs(cur.get())) return refused(out, "proc", fd_path(cur.get()) + "/" + name);
      char buf[4097];
      ssize_t n = readlinkat(next.get(), "", buf, sizeof buf - 1);
      if (n < 0) return -errno;
      std::string target(buf, static_cast<size_t>(n));
      if (target.empty()) return -ENOENT;
      auto parts = split(target);
      comps.insert(comps.begin(), parts.begin(), parts.end());
      if (target[0] == '/') {
        cur.reset(fcntl(root_fd(), F_DUPFD_CLOEXEC, 3));
        if (!cur.ok() || fstat(cur.get(), &cst) < 0) return -errno;
        cur_dev = cst.st_dev;
        pl = Place{};
      }
      link = Link{};
      continue;
    }
    if (!last && !S_ISDIR(st.st_mode)) return -ENOTDIR;
    link = Link{};
    if (name == "..") {
      if ((e = place_of(c, next.get(), pl, out)) < 0) return e;
    } else if (pl.kind == Place::ProcRoot) {
      if (all_digits(name) && S_ISDIR(st.st_mode)) {
        if ((e = enter_pid(c, next.get(), atoi(name.c_str()), pl, out)) < 0) return e;
      } else {
        pl = Place{};
        pl.kind = is_procfs(next.get()) ? Place::ProcOther : Place::Outside;
      }
    } else if (pl.kind == Place::ProcPid) {
      pl.below.push_back(name);
    } else if (st.st_dev != cur_dev) {
      // A mount crossed: into our procfs root (any mount of it: same pid namespace), or
      // somewhere else, which is procfs only if it proves to be under our /proc (a bind
      // mount of /proc/<pid> elsewhere, or another procfs instance, is refused).
      if (st.st_ino == 1 && st.st_dev == proc_dev()) {
        pl = Place{};
        pl.kind = Place::ProcRoot;
      } else if ((e = place_of(c, next.get(), pl, out)) < 0) {
        return e;
      }
    }
    cur_dev = st.st_dev;
    cur = std::move(next);
  }
  if (trailing) {
    struct stat st;
    if (fstat(cur.get(), &st) == 0 && !S_ISDIR(st.st_mode)) return -ENOTDIR;
  }
  out.fd = std::move(cur);
  return identify(c, out, link);
}

}  // namespace

int open_base(const Caller& c, int dirfd, Fd& out) {
  std::string p = "/proc/" + std::to_string(c.tid) + (dirfd == AT_FDCWD ? "/cwd" : "/fd/" + std::to_string(dirfd));
  out.reset(open(p.c_str(), O_PATH | O_CLOEXEC));
  if (!out.ok()) return dirfd == AT_FDCWD ? -ENOENT : -EBADF;
  return 0;
}

int resolve_fd(const Caller& c, int dirfd, Resolved& out) {
  int e = open_base(c, dirfd, out.fd);
  if (e < 0) return e;
  Link link;
  link.own = true;
  if (dirfd != AT_FDCWD) link.table = c.tid, link.fdn = dirfd;
  Place pl;
  if (is_procfs(out.fd.get()) && (e = locate(c, out.fd.get(), pl, out)) < 0) return e;
  return identify(c, out, link);
}

int identify_held(const Caller& c, int ourfd, Resolved& out) {
  out.fd.reset(fcntl(ourfd, F_DUPFD_CLOEXEC, 3));
  if (!out.fd.ok()) return -errno;
  Place pl;
  int e;
  if (is_procfs(out.fd.get()) && (e = locate(c, out.fd.get(), pl, out)) < 0) return e;
  Link link;
  link.own = true;
  link.fdn = 0;  // an fd of the caller's: its mode is read from our copy
  return identify(c, out, link, ourfd);
}

// Its text is canonical when it resolves without symlinks inside one mount.
bool clean_absolute(const std::string& p) {
  if (p.size() < 2 || p[0] != '/' || p.back() == '/') return false;
  for (size_t i = 0; i < p.size(); i++) {
    if (p[i] != '/') continue;
    if (i + 1 < p.size() && p[i + 1] == '/') return false;
    if (p.compare(i, 3, "/./") == 0 || p.compare(i, 4, "/../") == 0) return false;
  }
  return !(p.size() >= 2 && p.compare(p.size() - 2, 2, "/.") == 0) &&
         !(p.size() >= 3 && p.compare(p.size() - 3, 3, "/..") == 0);
}

int open_clean(const std::string& path, int oflags, mode_t mode) {
  open_how how{};
  how.flags = static_cast<uint64_t>(oflags);
  how.mode = mode;
  how.resolve = RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
  int fd = static_cast<int>(syscall(SYS_openat2, root_fd(), path.c_str(), &how, sizeof how));
  return fd < 0 ? -errno : fd;
}

int open_clean_at(int dirfd, const std::string& rel, int oflags) {
  // No RESOLVE_BENEATH: callers pass no ".." and no leading "/", so with no symlink
  // followed the walk cannot leave dirfd anyway, and BENEATH's final check (path_is_under,
  // under the mount lock) would cost every open.
  int fd = sys_openat2(dirfd, rel, static_cast<uint64_t>(oflags),
                       RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS);
  return fd < 0 ? -errno : fd;
}

bool proven_clean_dir(int dirfd, std::string& text) {
  // On another mount (a separate /home, /tmp on tmpfs, procfs) the walk below could never
  // succeed: one statx says so, before the readlink and the walk.
  static const uint64_t root_mnt = [] {
    Ident r;
    return ident(root_fd(), r) ? r.mnt : 0;
  }();
  Ident held;
  if (!ident(dirfd, held) || held.mnt != root_mnt) return false;
  text = fd_path(dirfd);
  // The one proof (identify's): "x (deleted)" or an overmounted name fails it.
  return (text == "/" || clean_absolute(text)) && proven(held, text);
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir[0] != '/') return std::string();
  return dir == "/" ? "/" + name : dir + "/" + name;
}

int resolve(const Caller& c, int base, const std::string& path, bool follow, uint64_t rflags, bool missing_ok,
            Resolved& out) {
  if (path.empty()) return -ENOENT;
  if (rflags == 0 && clean_absolute(path)) {
    // Fast path: a clean absolute path walked inside the root mount without symlinks is
    // its own canonical text (proven by construction), no readlink or second walk needed.
    // Through a known link right under "/" (/lib -> usr/lib) the same, on the rewritten text.
    std::string via;
    const bool linked = root_link_rewrite(path, via);
    const std::string& walked = linked ? via : path;
    int fd = sys_openat2(root_fd(), walked, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW),
                         RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS);
    if (fd >= 0) {
      out.fd.reset(fd);
      out.path = walked;
      out.from_root = true;
      return 0;
    }
    if (!linked) {
      if (errno == ELOOP) root_link_learn(path);
      if (errno != ELOOP && errno != EXDEV && errno != ENOENT) return -errno;
    } else if (errno == ENOENT && !missing_ok) {
      // A name missing before any symlink: the path as written misses the same name (a PATH
      // lookup through /bin). Any other failure: the path as written goes the usual way.
      return -ENOENT;
    }
  }
  const bool from_base = path[0] != '/' || (rflags & (RESOLVE_BENEATH | RESOLVE_IN_ROOT));
  const bool proc_base = from_base && is_procfs(base);
  if (rflags != 0 && proc_base) return -EXDEV;  // documented limitation: resolve flags from a dirfd inside /proc
  if (!proc_base) {
    const uint64_t oflags = O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);
    // Under BENEATH/IN_ROOT even an absolute path starts at the dirfd.
    const int start = from_base ? base : root_fd();
    int fd = sys_openat2(start, path, oflags, rflags | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS);
    if (fd >= 0) {
      out.fd.reset(fd);
      return identify(c, out, Link{});
    }
    int e = errno;
    if (rflags != 0) {
      // The caller asked for kernel resolve semantics: let the kernel apply them, but
      // without our NO_XDEV, and refuse to land in procfs (where "self" would be us).
      if (e == EXDEV && !(rflags & RESOLVE_NO_XDEV)) {
        fd = sys_openat2(start, path, oflags, rflags | RESOLVE_NO_MAGICLINKS);
        if (fd < 0) e = errno;
        if (fd >= 0) {
          out.fd.reset(fd);
          if (is_procfs(fd)) {
            out.fd.reset();
            return -EXDEV;
          }
          return identify(c, out, Link{});
        }
      }
      if (e == ENOENT && missing_ok) {
        // Missing last component under resolve flags: resolve the parent the same way.
        size_t slash = path.find_last_of('/', path.size() - 1);
        std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
        std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
        if (name.empty() || name == "." || name == "..") return -ENOENT;
        fd = sys_openat2(dir[0] == '/' ? start : base, dir, O_PATH | O_CLOEXEC | O_DIRECTORY,
                         rflags | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS);
        if (fd < 0) return -errno;
        out.parent.reset(fd);
        out.name = name;
        return identify_parent(c, out);
      }
      return -e;
    }
    if (e != EXDEV && e != ELOOP && !(e == ENOENT && missing_ok)) return -e;
  }
  return walk(c, base, path, follow, missing_ok, out);
}

int resolve_parent(const Caller& c, int base, const std::string& path, Resolved& out) {
  if (path.empty()) return -ENOENT;
  size_t end = path.size();
  while (end > 1 && path[end - 1] == '/') end--;
  std::string p = path.substr(0, end);
  if (p == "/") return -EBUSY;
  size_t slash = p.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : p.substr(0, slash));
  Resolved r;
  int e = resolve(c, base, dir, true, 0, false, r);
  if (e < 0) {
    out.refused_op = r.refused_op;
    out.refused = std::move(r.refused);
    return e;
  }
  struct stat st;
  if (fstat(r.fd.get(), &st) < 0) return -errno;
  if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
  if (r.unnamed) return -ENOENT;  // a deleted directory
  out.name = slash == std::string::npos ? p : p.substr(slash + 1);
  out.parent = std::move(r.fd);
  out.path = std::move(r.path);
  return 0;
}

}  // namespace sbx

namespace sbx {
bool proven_path(int fd, const std::string& text) { return proven(fd, text); }
}  // namespace sbx
