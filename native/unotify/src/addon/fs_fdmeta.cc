// Metadata changes through a file descriptor: fchmod, fchown, fsetxattr, fremovexattr and
// the inode-flag ioctls (chattr). The kernel lets them through any fd, even a read-only
// one, so an fd handed out for reading would let a sandbox chmod 000 a protected
// ~/.bashrc. Decided as a write of the file the fd is open on, then performed by us on
// our own copy of the fd (pidfd_getfd) with arguments copied once: nothing a racing
// thread changes afterwards is used.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "filter.h"
#include "fs_check.h"
#include "shm_files.h"
#include "fs_tty.h"
#include "memory.h"

namespace sbx {

namespace {

void reply_result(Notif& n, long r) { reply_value(n.listener(), n.req.id, r < 0 ? -errno : r); }

// What to answer when our own copy could not be made for lack of fds or memory here: the
// system's limit (ENFILE), never "gone" (nothing would answer a live caller).
int short_of(int err) { return err == EMFILE || err == ENFILE ? -ENFILE : -err; }
}  // namespace

int copy_caller_fd(Notif& n, int fd, Fd& out) {
  Fd pidfd(sys_pidfd_open(n.caller.tgid, 0));
  if (!pidfd.ok()) {
    const int err = errno;
    return err == ESRCH || !n.valid() ? -ESRCH : short_of(err);
  }
  if (!n.valid()) return -ESRCH;
  out = Fd(sys_pidfd_getfd(pidfd.get(), fd, 0));
  if (out.ok()) return 0;
  const int err = errno;
  if (err == EMFILE || err == ENFILE || err == ENOMEM) return short_of(err);
  return -EBADF;
}

void handle_fdmeta(Notif& n) {
  const auto& a = n.req.data.args;
  const int nr = n.req.data.nr;
  if (nr == __NR_ioctl && static_cast<unsigned>(a[1]) == TIOCSCTTY) return handle_tiocsctty(n);  // fs_tty.cc
  if (nr == __NR_ioctl && static_cast<unsigned>(a[1]) == FIOASYNC) return handle_async(n);  // proc.cc
  if (nr == __NR_ioctl && static_cast<unsigned>(a[1]) == TIOCSPGRP) return handle_tiocspgrp(n);  // fs_tty.cc
  Fd fd;
  int e = copy_caller_fd(n, static_cast<int>(a[0]), fd);
  if (e == -ESRCH) return;  // the caller is gone
  if (e < 0) return void(reply_error(n.listener(), n.req.id, -e));
  // Arguments in memory, copied once before the decision.
  std::string name;
  std::vector<char> value;
  union {
    int flags;
    struct fsxattr fsx;
  } arg{};
  if (nr == __NR_fsetxattr || nr == __NR_fremovexattr) {
    if ((e = read_string(n.caller.tid, a[1], name, XATTR_NAME_MAX + 1)) < 0) return void(reply_error(n.listener(), n.req.id, -e));
    if (nr == __NR_fsetxattr) {
      if (a[3] > XATTR_SIZE_MAX) return void(reply_error(n.listener(), n.req.id, E2BIG));
      value.resize(a[3]);
      if (a[3] && read_mem(n.caller.tid, a[2], value.data(), value.size()) < 0)
        return void(reply_error(n.listener(), n.req.id, EFAULT));
    }
  } else if (nr == __NR_ioctl) {
    const unsigned cmd = static_cast<unsigned>(a[1]);
    size_t len = cmd == SBX_FS_IOC_FSSETXATTR ? sizeof arg.fsx : sizeof arg.flags;
    if (read_mem(n.caller.tid, a[2], &arg, len) < 0) return void(reply_error(n.listener(), n.req.id, EFAULT));
  }
  if (!n.valid()) return;
  // A proven path is decided as a write; an unnamed file of the caller's (pipe, socket,
  // memfd, deleted file) has no name to decide on; a name the engine cannot prove
  // (detached mount, other namespace, a deleted name of a still-linked file) is refused.
  Resolved r;
  if (resolve_failed(n, identify_held(n.caller, fd.get(), r), r)) return;
  if (!r.unnamed && check_access(n, false, true, r.path)) return;
  // Another program's /dev/shm object, through an fd it was handed (shm_files.h).
  if (!r.unnamed && shm_refused(n, fd.get(), -1, nullptr, r.path)) return;
  // A hook of a git directory made executable through an fd held for reading: as chmod (fs_ops.cc).
  BareGuard guard;
  struct stat st;
  if (nr == __NR_fchmod && !r.unnamed && bare_relevant(r.path) && fstat(fd.get(), &st) == 0) {
    guard.engage();
    if (git_dir_write_refused(n, guard, r.path, st, true)) return;
  }
  switch (nr) {
    case __NR_fchmod: return reply_result(n, fchmod(fd.get(), static_cast<mode_t>(a[1])));
    case __NR_fchown: return reply_result(n, fchown(fd.get(), static_cast<uid_t>(a[1]), static_cast<gid_t>(a[2])));
    case __NR_fsetxattr:
      return reply_result(n, fsetxattr(fd.get(), name.c_str(), value.data(), value.size(), static_cast<int>(a[4])));
    case __NR_fremovexattr: return reply_result(n, fremovexattr(fd.get(), name.c_str()));
    case __NR_ioctl: return reply_result(n, ioctl(fd.get(), static_cast<unsigned long>(static_cast<unsigned>(a[1])), &arg));
    default: return void(reply_error(n.listener(), n.req.id, ENOSYS));
  }
}

}  // namespace sbx
