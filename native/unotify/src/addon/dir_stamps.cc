#include "dir_stamps.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace sbx {

namespace {

// Not a network or FUSE filesystem's cached view, nor /proc's or /sys's made-up times; not
// overlayfs (a merged directory shows its upper layer's times: a change in a lower layer
// moves none); not btrfs, zfs or bcachefs (a snapshot put in place of a subvolume or
// dataset brings its directories back with the same inode and times, and btrfs hands the
// freed device number out again).
bool dir_times_trusted(const char* path) {
  struct statfs fs;
  if (statfs(path, &fs) != 0) return false;
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0xEF53:      // ext2/3/4
    case 0x58465342:  // xfs
    case 0x01021994:  // tmpfs
    case 0xF2F52010:  // f2fs
      return true;
    default:
      return false;
  }
}

uint64_t ns(const struct timespec& t) {
  return static_cast<uint64_t>(t.tv_sec) * 1000000000ull + static_cast<uint64_t>(t.tv_nsec);
}

}  // namespace

bool dir_stamp(const std::string& path, uint64_t out[4]) {
  struct stat st;
  if (path.find('\0') != std::string::npos || lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
      !dir_times_trusted(path.c_str()))
    return false;
  out[0] = st.st_dev;
  out[1] = st.st_ino;
  out[2] = ns(st.st_mtim);
  out[3] = ns(st.st_ctim);
  return true;
}

uint64_t mount_generation() {
  // /proc/self/mountinfo polls POLLPRI once per change of the mount table (each poll re-arms
  // it). Called from the JS thread only. Without it every call differs (nothing trusted).
  static int fd = -1;
  static uint64_t gen = 1;
  if (fd < 0) fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ++gen;
  pollfd p{fd, POLLPRI, 0};
  if (poll(&p, 1, 0) != 0) gen++;  // a change, or an error: either way not the same as before
  return gen;
}

}  // namespace sbx
