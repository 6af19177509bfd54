// The entries below a directory, for checks that must see a whole tree at once: a directory
// moved to another place (its relative symlinks change meaning), one about to become a git
// directory (git outside writes through the names in it). Symlinks are not followed.
#pragma once
#include <dirent.h>

#include <cstddef>
#include <functional>
#include <string>

#include "sys.h"

namespace sbx {

struct TreeEntry {
  int dirfd;               // the directory holding it
  const char* name;
  const std::string& rel;  // its path below the top
  int depth;               // 0: in the top directory
  unsigned char type;      // DT_DIR, DT_LNK, or DT_REG for anything else
  bool marked;             // the mark of the directory holding it (see walk_tree)
};

enum class TreeWalk { kDone, kStopped, kTooBig, kUnreadable };

// Past this many entries a tree is not walked on (the step that needed it is refused).
constexpr size_t kMaxTreeEntries = 200000;
// Nor past this many levels: the walk holds one open directory per level.
constexpr size_t kMaxTreeDepth = 1024;

// Calls visit(entry, subdir, mark) for each entry below directory `top` (the fd is consumed),
// depth first (a subdirectory's entries right after it); `subdir` is the opened directory for a DT_DIR entry, else -1. visit returns
// false to stop the walk. For a directory it may change `mark` (it starts as the holder's):
// what its own entries are given. More than `max_entries` entries: kTooBig, not walked on.
TreeWalk walk_tree(Fd top, bool top_mark, size_t max_entries,
                   const std::function<bool(const TreeEntry&, int subdir, bool& mark)>& visit);

// Whether directory `dirfd` holds a symlink anywhere below it; too big or unreadable to tell
// counts as holding one.
bool tree_holds_symlink(int dirfd, size_t max_entries);

}  // namespace sbx
