// See shm_files.h.
#include "shm_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "engine.h"
#include "ipc.h"

namespace sbx {

namespace {

// /dev/shm as the supervisor sees it (taken once: it does not move under a running
// supervisor). Where it is no mount of its own (a plain directory of /dev), only paths below
// /dev/shm/ count; where it is, every path to that filesystem does (a bind mount elsewhere).
struct ShmMount {
  bool present = false;
  dev_t dev = 0;
  ino_t top = 0;
  bool own_fs = false;
};

const ShmMount& shm_mount() {
  static ShmMount m;
  static std::once_flag once;
  std::call_once(once, [] {
    struct stat s, d;
    if (stat("/dev/shm", &s) != 0 || !S_ISDIR(s.st_mode)) return;
    m.present = true;
    m.dev = s.st_dev;
    m.top = s.st_ino;
    m.own_fs = stat("/dev", &d) != 0 || d.st_dev != s.st_dev;
  });
  return m;
}

// An object's identity: its inode and birth time (no later object has both).
struct ShmId {
  uint64_t ino = 0;
  int64_t born = 0;
};

bool id_of(int fd, int dirfd, const char* name, ShmId& id) {
  struct statx x {};
  const int r = fd >= 0 ? statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_BTIME, &x)
                        : statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_INO | STATX_BTIME, &x);
  if (r != 0) return false;
  id.ino = x.stx_ino;
  id.born = (x.stx_mask & STATX_BTIME) ? static_cast<int64_t>(x.stx_btime.tv_sec) * 1000000000 + x.stx_btime.tv_nsec : 0;
  return true;
}

// A program that opens a name there (a database, a tool that keeps what it read under a known
// name; a `commands:` override's program, ipc.h ipc_boundary) would follow a symlink out of
// /dev/shm and write where the sandbox reads: no symlink goes there from inside.
constexpr const char* kNoSymlinks = " (a symlink in /dev/shm: a program opening that name would follow it out of /dev/shm)";

bool ours(Core& core, const ShmId& id, IpcRecord* rec = nullptr) {
  IpcRecord r;
  if (!rec) rec = &r;
  return core.ipc().find(IpcKind::ShmFile, id.ino, rec) && rec->key == id.born;
}

// Deeper than this below /dev/shm, nothing is made (the session's end removes what it made,
// depth first, and must reach all of it).
constexpr int kMaxDepth = 16;

// How deep a proven path below /dev/shm/ is (0: a name in /dev/shm itself).
int depth_of(const std::string& real) {
  int depth = 0;
  for (size_t i = 9; i < real.size(); i++) depth += real[i] == '/';
  return depth;
}

std::string parent_of(const std::string& real) {
  const size_t slash = real.rfind('/');
  return slash == 0 || slash == std::string::npos ? std::string("/") : real.substr(0, slash);
}

// Removes the session's objects below dirfd (depth first); another's are left alone and
// never descended into (nothing of ours can be created there).
void remove_ours(int dirfd, const std::map<uint64_t, int64_t>& mine, int depth) {
  DIR* d = fdopendir(dup(dirfd));
  if (!d) return;
  while (struct dirent* e = readdir(d)) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    ShmId id;
    if (!id_of(-1, dirfd, e->d_name, id)) continue;
    auto it = mine.find(id.ino);
    if (it == mine.end() || it->second != id.born) continue;
    if (e->d_type == DT_DIR && depth < 32) {
      // Ours: opened up first, should it have been closed to its owner (chmod 000).
      syscall(SYS_fchmodat2, dirfd, e->d_name, 0700, AT_SYMLINK_NOFOLLOW);
      Fd sub(openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.ok()) remove_ours(sub.get(), mine, depth + 1);
      unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
    } else {
      unlinkat(dirfd, e->d_name, 0);
    }
  }
  closedir(d);
}

}  // namespace

bool shm_object(const struct stat& st, const std::string& real) {
  const ShmMount& m = shm_mount();
  if (!m.present || st.st_dev != m.dev || st.st_ino == m.top) return false;
  return m.own_fs || under_dev_shm(real);
}

bool shm_top(const struct stat& st) {
  const ShmMount& m = shm_mount();
  return m.present && st.st_dev == m.dev && st.st_ino == m.top;
}

bool under_dev_shm(const std::string& real) { return real.compare(0, 9, "/dev/shm/") == 0; }

bool shm_place(const struct stat& dir_st, const std::string& dir) {
  return shm_top(dir_st) || shm_object(dir_st, dir);
}

static bool refused_unless_ours(Notif& n, int fd, int dirfd, const char* name, const struct stat& st, const std::string& real) {
  if (!shm_object(st, real)) return false;
  ShmId id;
  IpcRecord rec;
  if (id_of(fd, dirfd, name, id) && ours(*n.core, id, &rec)) return ipc_refused_across(n, rec, real);
  return refuse(n, Decision{false, -2}, "ipc", real + " (made outside this sandbox)", EACCES);
}

bool shm_refused(Notif& n, int fd, int dirfd, const char* name, const std::string& real) {
  struct stat st;
  if ((fd >= 0 ? fstat(fd, &st) : fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW)) != 0) return false;  // gone
  return refused_unless_ours(n, fd, dirfd, name, st, real);
}

bool shm_refused(Notif& n, int fd, const struct stat& st, const std::string& real) {
  return refused_unless_ours(n, fd, -1, nullptr, st, real);
}

bool shm_image_refused(Notif& n, const std::string& exe) {
  Fd fd(open(exe.c_str(), O_PATH | O_CLOEXEC));
  if (!fd.ok()) return false;  // unreadable images are refused where they are verified
  // A deleted image is decided no more (the session's own, removed while it runs, has no
  // record left to show; another program's was refused at the exec unless a race won).
  const std::string real = fd_path(fd.get());
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || st.st_nlink == 0) return false;
  return shm_refused(n, fd.get(), st, real);
}

bool shm_symlink_refused(Notif& n, int dirfd, const std::string& real) {
  struct stat dir;
  if (fstat(dirfd, &dir) != 0 || !shm_place(dir, parent_of(real))) return false;
  return refuse(n, Decision{false, -2}, "ipc", real + kNoSymlinks, EACCES);
}

bool shm_create_refused(Notif& n, int dirfd, const struct stat& st, const std::string& real) {
  const std::string dir = parent_of(real);
  if (shm_top(st) || shm_object(st, dir)) {
    // Only below /dev/shm by that name (not through another mount of it), and not too deep.
    if (!under_dev_shm(real) || depth_of(real) >= kMaxDepth)
      return refuse(n, Decision{false, -2}, "ipc", real + " (new names go only under /dev/shm/, at most 16 directories deep)", EACCES);
  }
  if (shm_top(st)) return false;
  if (!shm_object(st, dir)) return false;
  ShmId id;
  IpcRecord rec;
  if (id_of(dirfd, -1, nullptr, id) && ours(*n.core, id, &rec)) return ipc_refused_across(n, rec, dir);
  return refuse(n, Decision{false, -2}, "ipc", dir + " (made outside this sandbox)", EACCES);
}

bool ipc_create_refused(Notif& n, int dirfd, const struct stat& dir_st, const std::string& real) {
  if (mqueue_object(dir_st))
    return refuse(n, Decision{false, -2}, "ipc", real + " (queues are made by mq_open, which records them)", EACCES);
  return shm_create_refused(n, dirfd, dir_st, real);
}

namespace {
// How many levels of names lie below the directory dirfd (0: empty), counting no further than
// cap; *links is set when a symlink is among them.
int tree_height(int dirfd, int cap, bool* links) {
  if (cap <= 0) return 0;
  DIR* d = fdopendir(dup(dirfd));
  if (!d) return 0;
  int height = 0;
  while (struct dirent* e = readdir(d)) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    int below = 1;
    if (e->d_type == DT_LNK || e->d_type == DT_UNKNOWN) *links = true;  // unknown: counted as one
    if (e->d_type == DT_DIR) {
      Fd sub(openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.ok()) below += tree_height(sub.get(), cap - 1, links);
    }
    if (below > height) height = below;
    if (height > cap) break;
  }
  closedir(d);
  return height;
}
}  // namespace

bool shm_move_refused(Notif& n, int dirfd, const char* name, const std::string& real, const std::string& dest) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) || !shm_object(st, real)) return false;
  Fd dir(openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  // Unreadable (closed to its owner): its tree cannot be measured, so it does not move.
  bool links = false;
  const int height = dir.ok() ? tree_height(dir.get(), kMaxDepth, &links) : kMaxDepth;
  if (links && under_dev_shm(dest)) return refuse(n, Decision{false, -2}, "ipc", dest + kNoSymlinks, EACCES);
  if (under_dev_shm(dest) && depth_of(dest) + height < kMaxDepth) return false;
  return refuse(n, Decision{false, -2}, "ipc", dest + " (new names go only under /dev/shm/, at most 16 directories deep)", EACCES);
}

bool shm_record(Notif& n, const std::string& real, int fd, int dirfd, const char* name) {
  struct stat st;
  if ((fd >= 0 ? fstat(fd, &st) : fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW)) != 0) return true;
  if (!shm_object(st, real)) return true;
  ShmId id;
  return id_of(fd, dirfd, name, id) && n.core->ipc().add(IpcKind::ShmFile, id.ino, IpcRecord{id.born, 0, n.pol->id});
}

ShmGoing shm_going(Core& core, int dirfd, const char* name, const std::string& real) {
  ShmGoing g;
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !shm_object(st, real)) return g;
  g.held.reset(openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
  ShmId id;
  if (!g.held.ok() || !id_of(g.held.get(), -1, nullptr, id) || !ours(core, id)) return g;
  g.ours = true;
  g.ino = id.ino;
  return g;
}

void shm_forget(Core& core, const ShmGoing& g) {
  struct stat st;
  if (g.ours && fstat(g.held.get(), &st) == 0 && st.st_nlink == 0) core.ipc().drop(IpcKind::ShmFile, g.ino);
}

void shm_session_ended(Core& core) {
  std::map<uint64_t, int64_t> mine;
  core.ipc().sweep([&](IpcKind k, uint64_t ident, const IpcRecord& rec) {
    if (k == IpcKind::ShmFile) mine[ident] = rec.key;
    return false;
  });
  if (mine.empty() || !shm_mount().present) return;
  Fd top(open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (top.ok()) remove_ours(top.get(), mine, 0);
}

}  // namespace sbx
