// Bounded, symlink-free walks of a directory tree (tree_walk.h).
#include "tree_walk.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace sbx {

TreeWalk walk_tree(Fd top, bool top_mark, size_t max_entries,
                   const std::function<bool(const TreeEntry&, int subdir, bool& mark)>& visit) {
  // One open directory per level of the path being walked, not per directory waiting to be
  // walked: a directory's subdirectories are walked as they are met. Holding one fd for every
  // pending subdirectory let a rename of a directory with 25,000 subdirectories take the
  // supervisor to its fd limit, and every session's opens failed meanwhile (helper-95 lead).
  struct Frame {
    std::unique_ptr<DIR, int (*)(DIR*)> dir;
    std::string rel;
    int depth;
    bool mark;
  };
  std::vector<Frame> stack;
  DIR* first = fdopendir(top.release());
  if (!first) return TreeWalk::kUnreadable;
  stack.push_back({std::unique_ptr<DIR, int (*)(DIR*)>(first, closedir), "", 0, top_mark});
  size_t seen = 0;
  while (!stack.empty()) {
    DIR* dir = stack.back().dir.get();
    const int at = ::dirfd(dir);
    errno = 0;
    dirent* e = readdir(dir);
    if (!e) {
      if (errno != 0) return TreeWalk::kUnreadable;
      stack.pop_back();
      continue;
    }
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (++seen > max_entries) return TreeWalk::kTooBig;
    const Frame& f = stack.back();
    std::string rel = f.rel.empty() ? e->d_name : f.rel + "/" + e->d_name;
    const int depth = f.depth;
    const bool holderMark = f.mark;
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (fstatat(at, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // gone since readdir
        return TreeWalk::kUnreadable;
      }
      type = S_ISLNK(st.st_mode) ? DT_LNK : S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
    }
    if (type != DT_DIR && type != DT_LNK) type = DT_REG;
    Fd sub;
    if (type == DT_DIR) {
      if (stack.size() >= kMaxTreeDepth) return TreeWalk::kTooBig;
      sub.reset(openat(at, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.ok() && errno == ENOENT) continue;
      if (!sub.ok()) return TreeWalk::kUnreadable;
    }
    bool mark = holderMark;
    if (!visit(TreeEntry{at, e->d_name, rel, depth, type, holderMark}, sub.get(), mark)) return TreeWalk::kStopped;
    if (type != DT_DIR) continue;
    DIR* below = fdopendir(sub.release());
    if (!below) return TreeWalk::kUnreadable;
    stack.push_back({std::unique_ptr<DIR, int (*)(DIR*)>(below, closedir), std::move(rel), depth + 1, mark});
  }
  return TreeWalk::kDone;
}

bool tree_holds_symlink(int dirfd, size_t max_entries) {
  Fd top(openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!top.ok()) return true;
  return walk_tree(std::move(top), false, max_entries, [](const TreeEntry& e, int, bool&) { return e.type != DT_LNK; }) != TreeWalk::kDone;
}

}  // namespace sbx
