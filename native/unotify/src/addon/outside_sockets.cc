// See outside_sockets.h.
#include "outside_sockets.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "path_resolve.h"
#include "sys.h"

namespace sbx {

namespace {

// A name that does not lead anywhere a client could connect through.
bool dead_end(int err) { return err == ENOENT || err == ENOTDIR || err == ELOOP; }

// `at`/`name`: the socket file (followed), `st` its stat.
Served socket_served(ServedSockets& ours, int at, const char* name, const struct stat& st) {
  if (ours.has_file(st.st_dev, st.st_ino)) return Served::kNo;
  if (unix_file_in_use(st.st_ino) == 1) return Served::kYes;
  // Not seen here: stale, or served from another network namespace (a container, a service
  // with PrivateNetwork=) that sock_diag cannot see. A connect tells: a stale file refuses
  // it without anything reached.
  Fd f(openat(at, name, O_PATH | O_CLOEXEC));
  if (!f.ok()) return dead_end(errno) ? Served::kNo : Served::kUnknown;
  struct stat again;
  if (fstat(f.get(), &again) != 0 || again.st_dev != st.st_dev || again.st_ino != st.st_ino) return Served::kUnknown;
  switch (unix_file_answers(f.get())) {
    case 1: return Served::kYes;
    case 0: return Served::kNo;
    default: return Served::kUnknown;
  }
}

}  // namespace

Served served_elsewhere(ServedSockets& ours, int base, const char* name, const std::string& path, std::string* where) {
  struct stat st;
  // Followed: a client's path goes through symlinks.
  if (fstatat(base, name, &st, 0) != 0) return dead_end(errno) ? Served::kNo : Served::kUnknown;
  if (S_ISSOCK(st.st_mode)) {
    const Served s = socket_served(ours, base, name, st);
    if (s == Served::kYes && where) *where = path;
    return s;
  }
  if (!S_ISDIR(st.st_mode)) return Served::kNo;
  // One open directory per level of the path walked (its subdirectories are walked as they are
  // met), not one per directory waiting: a tree of many directories must not run the
  // supervisor out of fds.
  struct Frame {
    std::unique_ptr<DIR, int (*)(DIR*)> dir;
    std::string path;
  };
  std::vector<Frame> stack;
  std::set<std::pair<dev_t, ino_t>> seen{{st.st_dev, st.st_ino}};
  Fd top(openat(base, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!top.ok()) return dead_end(errno) ? Served::kNo : Served::kUnknown;
  DIR* first = fdopendir(top.release());
  if (!first) return Served::kUnknown;
  stack.push_back({std::unique_ptr<DIR, int (*)(DIR*)>(first, closedir), path});
  size_t entries = 0;
  while (!stack.empty()) {
    DIR* d = stack.back().dir.get();
    errno = 0;
    dirent* e = readdir(d);
    if (!e) {
      if (errno != 0) return Served::kUnknown;
      stack.pop_back();
      continue;
    }
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (++entries > kMaxWalkEntries) return Served::kUnknown;
    // Regular files and the like lead nowhere; sockets, directories and symlinks are looked at.
    if (e->d_type != DT_SOCK && e->d_type != DT_DIR && e->d_type != DT_LNK && e->d_type != DT_UNKNOWN) continue;
    struct stat es;
    if (fstatat(dirfd(d), e->d_name, &es, 0) != 0) {
      if (dead_end(errno)) continue;
      return Served::kUnknown;
    }
    std::string p = join_path(stack.back().path, e->d_name);
    if (S_ISSOCK(es.st_mode)) {
      const Served s = socket_served(ours, dirfd(d), e->d_name, es);
      if (s == Served::kNo) continue;
      if (s == Served::kYes && where) *where = p;
      return s;
    }
    if (!S_ISDIR(es.st_mode) || !seen.insert({es.st_dev, es.st_ino}).second) continue;
    if (stack.size() >= kMaxWalkDepth) return Served::kUnknown;
    Fd sub(openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!sub.ok()) {
      if (dead_end(errno)) continue;
      return Served::kUnknown;  // unreadable: what it holds cannot be told
    }
    DIR* below = fdopendir(sub.release());
    if (!below) return Served::kUnknown;
    stack.push_back({std::unique_ptr<DIR, int (*)(DIR*)>(below, closedir), std::move(p)});
  }
  return Served::kNo;
}

}  // namespace sbx
