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
  struct Item {
    Fd fd;
    std::string rel;
    int depth;
    bool mark;
  };
  std::vector<Item> stack;
  stack.push_back({std::move(top), "", 0, top_mark});
  size_t seen = 0;
  while (!stack.empty()) {
    Item it = std::move(stack.back());
    stack.pop_back();
    DIR* dir = fdopendir(it.fd.release());
    if (!dir) return TreeWalk::kUnreadable;
    std::unique_ptr<DIR, int (*)(DIR*)> closer(dir, closedir);
    const int at = ::dirfd(dir);
    while (dirent* e = readdir(dir)) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      if (++seen > max_entries) return TreeWalk::kTooBig;
      const std::string rel = it.rel.empty() ? e->d_name : it.rel + "/" + e->d_name;
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
        sub.reset(openat(at, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub.ok() && errno == ENOENT) continue;
        if (!sub.ok()) return TreeWalk::kUnreadable;
      }
      bool mark = it.mark;
      if (!visit(TreeEntry{at, e->d_name, rel, it.depth, type, it.mark}, sub.get(), mark)) return TreeWalk::kStopped;
      if (type == DT_DIR) stack.push_back({std::move(sub), rel, it.depth + 1, mark});
    }
  }
  return TreeWalk::kDone;
}

bool tree_holds_symlink(int dirfd, size_t max_entries) {
  Fd top(openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!top.ok()) return true;
  return walk_tree(std::move(top), false, max_entries, [](const TreeEntry& e, int, bool&) { return e.type != DT_LNK; }) != TreeWalk::kDone;
}

}  // namespace sbx
