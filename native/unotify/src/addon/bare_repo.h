// A planted git directory outside `.git`: git treats any directory holding a valid HEAD
// (with objects/ and refs/) as a repository, and git run there outside later runs what its
// `config` names (core.pager, core.fsmonitor, aliases …) or follows its `commondir` to a
// config elsewhere. The engine keeps one invariant (see bare_repo.cc): no directory ever
// gets a HEAD next to a live companion (a config that is not inert, any commondir or
// config.worktree) through
// a sandboxed process.
#pragma once
#include <sys/types.h>

#include <mutex>
#include <string>
#include <vector>

#include "sys.h"

namespace sbx {

enum class BareRole { kNone, kHead, kCompanion, kHooks };
// What a directory entry by this name is to git's repository discovery.
BareRole bare_role(const std::string& name);

// Held across the check and the operation of every step that can place a HEAD or a companion,
// so that the checks of one step see the other's result: a lock for this process, and an
// flock on each directory whose git state is checked (on our own open of it), which engines
// in other processes (another `sbx exec`, the daemon) take too. Unengaged until engage().
class BareGuard {
 public:
  BareGuard() = default;
  void engage() { lk_ = std::unique_lock<std::mutex>(mu()); }
  bool engaged() const { return lk_.owns_lock(); }
  // Locks directory `dirfd` for this guard (once per directory). Waits briefly for another
  // engine; false when it cannot (the caller refuses: a sandboxed process holding an flock
  // on the directory only refuses its own steps there).
  bool dir(int dirfd);
 private:
  static std::mutex& mu();
  struct Held {
    Fd fd;
    dev_t dev;
    ino_t ino;
  };
  std::unique_lock<std::mutex> lk_;
  std::vector<Held> held_;  // destroyed first: the flocks go before the process lock
};

// Whether directory `dirfd` has an entry named HEAD (any type: git accepts a symlink).
bool has_head(int dirfd);

// Whether placing the entry at canonical path `real` is decided here: its name has a role,
// or its directory is a `hooks` directory (whose entries git runs as hooks).
bool bare_relevant(const std::string& real);

// Why placing the entry at `real` into its directory `dirfd` would pair a HEAD with a live
// companion, with a config someone can still write, or with hooks; nullptr if it would not.
// A HEAD replacing a HEAD changes nothing (git checkout): allowed. `new_empty_dir`: a mkdir
// (an empty `hooks` runs nothing).
// bare_place_reason's answer for a HEAD placed where a symlink is below (not a companion).
extern const char* const kHeadOverSymlink;

const char* bare_place_reason(BareGuard& g, int dirfd, const std::string& real, bool new_empty_dir = false);

// Why writing the existing file at `real` (in directory `dirfd`, proven to hold it) would
// change what git runs: a config or commondir next to a HEAD, a hook of such a directory.
// `hooks_only`: a chmod (the mode of a config changes nothing git runs, and `git init --bare`
// flips its x bit to probe core.filemode; a hook's x bit decides whether git runs it).
const char* bare_write_reason(BareGuard& g, int dirfd, const std::string& real, bool hooks_only = false);

// A directory moved or linked into place: does it already hold a HEAD with a live companion?
const char* bare_dir_reason(BareGuard& g, int dirfd);

// Config text a directory with a HEAD may hold: git_config_inert's keys plus what `git clone
// --bare` and `git remote add` write ([remote "<name>"] url/fetch/mirror, a url no
// transport helper or option can hide in).
bool bare_config_inert(const std::string& text);

}  // namespace sbx
