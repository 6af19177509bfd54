// open/openat/openat2/creat, emulated: resolve in the engine, decide on the path the
// kernel really reached, open it with the caller's flags and inject the fd (ADDFD, then
// SEND with its number: never ADDFD_FLAG_SEND, see reply_addfd in sys.cc).
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "bare_repo.h"
#include "fs_check.h"
#include "fs_tty.h"
#include "ipc.h"
#include "memory.h"
#include "root_links.h"
#include "shm_files.h"

namespace sbx {

static const char kHintPrefix[] = "/proc/self/sbx/";

static void handle_hint(Notif& n, const std::string& path, uint64_t flags) {
  std::string rest = path.size() > sizeof kHintPrefix - 1 ? path.substr(sizeof kHintPrefix - 1) : std::string();
  size_t slash = rest.find('/');
  HintMsg m;
  m.verb = rest.substr(0, slash);
  m.arg = slash == std::string::npos ? std::string() : rest.substr(slash + 1);
  m.cwd = read_link("/proc/" + std::to_string(n.caller.tid) + "/cwd");
  if (!n.valid()) return;
  m.id = std::to_string(n.req.id);
  m.pid = n.caller.tid;
  m.tgid = n.caller.tgid;
  m.policy = n.policyId;
  n.deferred = true;
  n.core->post_hint(n.req.id, (flags & O_CLOEXEC) != 0, n.slot, std::move(m));
}

// Opening a FIFO waits for the other end: never on a receiving thread. `keep` is an fd of
// it (O_PATH, or our own non-blocking open, kept until the caller's open is done so that
// the other end never sees this end vanish in between).
static void open_fifo_later(Notif& n, int keep, int oflags, bool cloexec) {
  auto core = n.core;
  uint64_t id = n.req.id;
  int slot = n.slot;
  // A FIFO nobody opens the other end of keeps its thread for good (Core::kMaxBlockedCalls).
  if (core->blockedCalls.fetch_add(1) >= Core::kMaxBlockedCalls) {
    core->blockedCalls--;
    close(keep);
    return void(reply_error(n.listener(), id, ENFILE));
  }
  n.deferred = true;
  std::thread([core, id, keep, oflags, cloexec, slot] {
    int fd = reopen_fd(keep, oflags);
    int e = errno;
    close(keep);
    reply_fd(core->listener(), id, fd < 0 ? -e : fd, cloexec);
    core->blockedCalls--;
    core->journal_release(slot);
  }).detach();
}

// Decides `text` for an open and, allowed, opens the object there with the caller's flags
// in one kernel walk: `walk` from `start` (a directory whose proven name `text` begins
// with), inside its mount, following no symlink or magic link (open_clean_at). Whatever
// that walk reaches is the object at exactly `text`, so the policy is decided on it before
// anything is opened — no O_PATH open, no fstat-then-reopen through /proc/self/fd. It is
// opened O_NONBLOCK so a FIFO cannot hold the receiver, and the flag is taken off again.
// Returns false, having answered nothing, for everything the full route must handle as
// before: a denial or audit (reported there, with the same errno order), a walk that
// cannot be proven this way (symlink, mount, /proc), a device (terminal rules: /dev is
// never tried here; a device node elsewhere on the root mount is opened once,
// O_NONBLOCK|O_NOCTTY, seen by fstat and handed to the full route), an error the full
// route might answer differently.
static bool open_proven(Notif& n, int start, const std::string& walk, const std::string& text, uint64_t flags,
                        bool need_read, bool need_write, bool cloexec) {
  // A config or commondir opened for writing is decided by the git-directory guard there.
  if (need_write && bare_relevant(text)) return false;
  // /proc and /dev have rules of their own (processes, terminals): never opened here first.
  if (text.compare(0, 6, "/proc/") == 0 || text == "/proc" || text.compare(0, 5, "/dev/") == 0) return false;
  // Every policy this one was narrowed within must allow it too (a nested sbx exec).
  if (need_read && !decide_all(n, [&](const Policy& p) { return decide_path(p.read, text); }).allow) return false;
  if (need_write && !decide_all(n, [&](const Policy& p) { return decide_path(p.write, text); }).allow) return false;
  const int oflags = static_cast<int>((flags & ~static_cast<uint64_t>(O_EXCL | O_NOFOLLOW | O_CLOEXEC)) | O_CLOEXEC |
                                      O_NOCTTY);
  // Answers the full route would give too (it walks the same names first); anything
  // else — EXDEV/ELOOP (not provable here), EWOULDBLOCK (a lease, which a blocking open
  // waits for), ENXIO (a FIFO without reader, a device), EINVAL (flags openat2 refuses
  // and open ignores) — goes there.
  auto answered_error = [&](int fd) {
    if (fd != -ENOENT && fd != -ENOTDIR && fd != -EACCES && fd != -EISDIR && fd != -ENAMETOOLONG) return false;
    reply_error(n.listener(), n.req.id, -fd);
    return true;
  };
  // O_DIRECTORY: the kernel refuses (ENOTDIR) anything but a directory before the object's
  // own open runs, so nothing can block or be a device: no O_NONBLOCK, no fstat, no fcntl.
  if (flags & O_DIRECTORY) {
    int fd = open_clean_at(start, walk, oflags);
    if (fd >= 0) return reply_fd(n.listener(), n.req.id, fd, cloexec), true;
    return answered_error(fd);
  }
  int fd = open_clean_at(start, walk, oflags | O_NONBLOCK);
  if (fd < 0) return answered_error(fd);
  struct stat st;
  if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISFIFO(st.st_mode))) {
    close(fd);
    return false;
  }
  if (!(flags & O_NONBLOCK)) {
    if (S_ISFIFO(st.st_mode)) {
      open_fifo_later(n, fd, oflags, cloexec);
      return true;
    }
    if (fcntl(fd, F_SETFL, oflags & (O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME)) < 0) {
      close(fd);
      return false;
    }
  }
  reply_fd(n.listener(), n.req.id, fd, cloexec);
  return true;
}

// Opens that create nothing and are not O_PATH: the only ones the direct routes take.
static bool direct_kind(uint64_t flags) {
  // (glibc's __O_TMPFILE includes O_DIRECTORY: test the whole of it, or every directory
  // open would be sent the long way.)
  return !(flags & (O_CREAT | O_PATH)) && (flags & __O_TMPFILE) != __O_TMPFILE;
}

// The common open: an existing file named by a clean absolute path, walked from our root
// (open_proven). Through a known link right under "/" (/lib -> usr/lib) the same, on the
// rewritten text, which the walk proves like any other (root_links.h).
static bool open_direct(Notif& n, const std::string& asked, uint64_t flags, bool need_read, bool need_write,
                        bool cloexec) {
  if (!direct_kind(flags) || !clean_absolute(asked)) return false;
  std::string via;
  const std::string& path = root_link_rewrite(asked, via) ? via : asked;
  return open_proven(n, root_fd(), path.substr(1), path, flags, need_read, need_write, cloexec);
}

// A name relative to the caller's cwd or dirfd: "x/y", "./x/y", "." alone, or "x/" with
// O_DIRECTORY (what a directory scan opens), without other "." or ".." components or "//".
// `rel` is it without the leading "./" (the same lookup from the same directory) and the
// trailing "/".
static bool clean_relative(const std::string& asked, uint64_t flags, std::string& rel) {
  size_t begin = 0, end = asked.size();
  while (end > 0 && asked[end - 1] == '/') end--;
  if (end == 0 || asked[0] == '/' || (end < asked.size() && !(flags & O_DIRECTORY))) return false;
  while (end - begin > 2 && asked.compare(begin, 2, "./") == 0) {
    begin += 2;
    while (begin < end && asked[begin] == '/') begin++;
  }
  rel.assign(asked, begin, end - begin);
  return rel == "." || clean_absolute("/" + rel);
}

// The same for a relative name, walked from `base`: the caller's own cwd or dirfd object,
// opened by the kernel through /proc/<tid>/ (no text trusted), whose name is proven first
// (proven_clean_dir). The walk from it then reaches exactly the object at that name plus
// `rel`, as the walk from "/" does for an absolute path.
static bool open_direct_relative(Notif& n, int base, const std::string& asked, uint64_t flags, bool need_read,
                                 bool need_write, bool cloexec) {
  std::string rel, dir;
  if (!direct_kind(flags) || !clean_relative(asked, flags, rel) || !proven_clean_dir(base, dir)) return false;
  std::string text = rel == "." ? dir : join_path(dir, rel);
  // A name past PATH_MAX has no provable text on the full route (identify refuses it): the
  // same answer here, not a decision on a name nothing else could check.
  if (text.size() >= PATH_MAX) return false;
  return open_proven(n, base, rel, text, flags, need_read, need_write, cloexec);
}

void handle_open(Notif& n) {
  const auto& a = n.req.data.args;
  const int nr = n.req.data.nr;
  int dirfd = AT_FDCWD;
  uint64_t pathp = 0, flags = 0, mode = 0, rflags = 0;
#ifdef __NR_open
  if (nr == __NR_open) {
    pathp = a[0], flags = static_cast<uint32_t>(a[1]), mode = a[2];
  } else
#endif
#ifdef __NR_creat
  if (nr == __NR_creat) {
    pathp = a[0], flags = O_CREAT | O_WRONLY | O_TRUNC, mode = a[1];
  } else
#endif
  if (nr == SYS_openat) {
    dirfd = static_cast<int>(a[0]), pathp = a[1], flags = static_cast<uint32_t>(a[2]), mode = a[3];
  } else {  // openat2: validate `how` the way the kernel does
    dirfd = static_cast<int>(a[0]), pathp = a[1];
    size_t size = a[3];
    if (size < sizeof(open_how)) return void(reply_error(n.listener(), n.req.id, EINVAL));
    if (size > 4096) return void(reply_error(n.listener(), n.req.id, E2BIG));
    std::string buf(size, '\0');
    if (read_mem(n.caller.tid, a[2], &buf[0], size) < 0) return void(reply_error(n.listener(), n.req.id, EFAULT));
    for (size_t i = sizeof(open_how); i < size; i++)
      if (buf[i]) return void(reply_error(n.listener(), n.req.id, E2BIG));
    open_how how;
    memcpy(&how, buf.data(), sizeof how);
    const uint64_t known_res = RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH |
                               RESOLVE_IN_ROOT | RESOLVE_CACHED;
    if ((how.resolve & ~known_res) || (how.flags >> 32) || how.mode & ~07777ULL ||
        ((how.resolve & RESOLVE_BENEATH) && (how.resolve & RESOLVE_IN_ROOT)))
      return void(reply_error(n.listener(), n.req.id, EINVAL));
    if (how.mode && !(how.flags & (O_CREAT | __O_TMPFILE)))
      return void(reply_error(n.listener(), n.req.id, EINVAL));
    if (how.resolve & RESOLVE_CACHED) return void(reply_error(n.listener(), n.req.id, EAGAIN));
    flags = how.flags, mode = how.mode, rflags = how.resolve;
  }
  mode &= 07777;
  std::string path;
  int e = read_string(n.caller.tid, pathp, path);
  if (e < 0) return void(reply_error(n.listener(), n.req.id, -e));
  if (!n.valid()) return;
  if (path.compare(0, sizeof kHintPrefix - 1, kHintPrefix) == 0 || path == "/proc/self/sbx")
    return handle_hint(n, path, flags);
  if (path.empty()) return void(reply_error(n.listener(), n.req.id, ENOENT));

  const bool is_path = flags & O_PATH;
  const bool tmpfile = (flags & __O_TMPFILE) == __O_TMPFILE;
  const bool creat = (flags & O_CREAT) && !is_path;
  const bool excl = creat && (flags & O_EXCL);
  const int acc = flags & O_ACCMODE;
  const bool need_read = is_path || acc != O_WRONLY;
  const bool need_write = !is_path && (acc == O_WRONLY || acc == O_RDWR || (flags & O_TRUNC) || creat || tmpfile);
  const bool cloexec = flags & O_CLOEXEC;
  if (rflags == 0 && open_direct(n, path, flags, need_read, need_write, cloexec)) return;

  Fd base;
  if (path[0] != '/' || rflags) {
    if ((e = open_base(n.caller, dirfd, base)) < 0) return void(reply_error(n.listener(), n.req.id, -e));
    if (!n.valid()) return;
    if (rflags == 0 && open_direct_relative(n, base.get(), path, flags, need_read, need_write, cloexec)) return;
  }

  for (int attempt = 0; attempt < 3; attempt++) {
    Resolved r;
    e = resolve(n.caller, base.get(), path, !(flags & O_NOFOLLOW) && !excl, rflags, creat && !tmpfile, r);
    if (resolve_failed(n, e, r)) return;
    if (r.fd.ok()) {
      if (excl) return void(reply_error(n.listener(), n.req.id, EEXIST));
      struct stat st;
      if (fstat(r.fd.get(), &st) < 0) return void(reply_error(n.listener(), n.req.id, errno));
      // An O_PATH fd of an unnamed object grants nothing (and reopening it is refused).
      if (check_resolved(n, need_read && !(is_path && r.unnamed), need_write, r)) return;
      // Another program's object in /dev/shm (shm_files.h); O_TMPFILE: the directory.
      if (!r.unnamed && shm_refused(n, r.fd.get(), st, r.path)) return;
      // A queue through the mqueue filesystem (/dev/mqueue): the session's own only, as mq_open.
      if (!r.unnamed && mqueue_object(st) && mqueue_open_refused(n, st, r.path)) return;
      if (is_path) {
        // ADDFD cannot carry an O_PATH file (fget refuses them), so an allowed O_PATH
        // open CONTINUEs. A racing thread could swap in another path, but an O_PATH fd
        // grants no data access: every use of it (reopen via /proc/self/fd, fchdir then
        // open, execveat) is trapped and decided again on the real file.
        if ((flags & O_DIRECTORY) && !S_ISDIR(st.st_mode)) return void(reply_error(n.listener(), n.req.id, ENOTDIR));
        return void(reply_continue(n.listener(), n.req.id));
      }
      if (S_ISLNK(st.st_mode)) return void(reply_error(n.listener(), n.req.id, ELOOP));
      int oflags = static_cast<int>((flags & ~static_cast<uint64_t>(O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC)) |
                                    O_CLOEXEC | O_NOCTTY);
      // Another terminal's pty is out of reach; a /dev/ptmx open is recorded (fs_tty.cc).
      if (S_ISCHR(st.st_mode) && open_terminal(n, r.fd.get(), st, oflags & ~O_DIRECTORY, cloexec)) return;
      if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 0)) return open_ctty(n, oflags & ~O_DIRECTORY, cloexec);
      if (tmpfile) use_caller_umask(n);
      // Held until the fd exists: a HEAD made next to this config meanwhile sees it (lease).
      BareGuard guard;
      if (need_write && !tmpfile && !r.unnamed && bare_relevant(r.path)) {
        guard.engage();
        if (git_dir_write_refused(n, guard, r.path, st)) return;
      }
      if (S_ISFIFO(st.st_mode) && !(flags & O_NONBLOCK)) return open_fifo_later(n, r.fd.release(), oflags, cloexec);
      int fd = reopen_fd(r.fd.get(), oflags, static_cast<mode_t>(mode));
      if (fd >= 0 && tmpfile && !shm_record(n, r.path + "/", fd)) {
        close(fd);
        return void(reply_error(n.listener(), n.req.id, ENOSPC));
      }
      return void(reply_fd(n.listener(), n.req.id, fd < 0 ? -errno : fd, cloexec));
    }
    // The last component is missing: creation. Decide on parent/name before creating.
    if (r.trailing_slash) return void(reply_error(n.listener(), n.req.id, EISDIR));
    std::string real = join_path(r.path, r.name);
    if (check_access(n, acc != O_WRONLY, true, real)) return;
    if (!tmpfile && dev_name_refused(n, real)) return;  // `echo x > /dev/newname` as root
    BareGuard guard;
    if (!tmpfile && bare_relevant(real)) {
      guard.engage();
      if (git_dir_refused(n, guard, r.parent.get(), real)) return;
    }
    // In /dev/shm a name is made only in /dev/shm itself or a directory of the session's, and
    // only as a new object (O_EXCL: one made outside meanwhile is decided above, as existing).
    struct stat dir_st;
    if (fstat(r.parent.get(), &dir_st) != 0) return void(reply_error(n.listener(), n.req.id, errno));
    if (ipc_create_refused(n, r.parent.get(), dir_st, real)) return;
    const bool shm = shm_place(dir_st, r.path);
    use_caller_umask(n);
    int oflags = static_cast<int>((flags & ~static_cast<uint64_t>(O_CLOEXEC)) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | (shm ? O_EXCL : 0));
    int fd = openat(r.parent.get(), r.name.c_str(), oflags, static_cast<mode_t>(mode));
    if (fd < 0 && (errno == EEXIST || errno == ELOOP) && !excl) continue;  // raced with a creator: look again
    if (fd >= 0 && shm && !shm_record(n, real, fd)) {
      close(fd);
      unlinkat(r.parent.get(), r.name.c_str(), 0);
      return void(reply_error(n.listener(), n.req.id, ENOSPC));
    }
    return void(reply_fd(n.listener(), n.req.id, fd < 0 ? -errno : fd, cloexec));
  }
  reply_error(n.listener(), n.req.id, ELOOP);
}

}  // namespace sbx
