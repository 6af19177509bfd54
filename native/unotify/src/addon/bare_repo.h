// A planted git directory outside `.git`: git treats any directory holding a valid HEAD
// (with objects/ and refs/) as a repository, and git run there outside later runs what its
// `config` names (core.pager, core.fsmonitor, aliases …) or follows its `commondir` to a
// config elsewhere. The engine keeps one invariant (see bare_repo.cc): no directory ever
// gets a HEAD next to a live companion (a config that is not inert, any commondir) through
// a sandboxed process.
#pragma once
#include <mutex>
#include <string>

namespace sbx {

enum class BareRole { kNone, kHead, kCompanion, kHooks };
// What a directory entry by this name is to git's repository discovery.
BareRole bare_role(const std::string& name);

// Held across the check and the operation of every step that can place a HEAD or a companion
// (one lock for all sessions of this process): the checks of one step see the other's result.
std::unique_lock<std::mutex> bare_guard();

// Whether directory `dirfd` has an entry named HEAD (any type: git accepts a symlink).
bool has_head(int dirfd);

// Whether placing the entry at canonical path `real` is decided here: its name has a role,
// or its directory is a `hooks` directory (whose entries git runs as hooks).
bool bare_relevant(const std::string& real);

// Why placing the entry at `real` into its directory `dirfd` would pair a HEAD with a live
// companion, with a config someone can still write, or with hooks; nullptr if it would not.
// A HEAD replacing a HEAD changes nothing (git checkout): allowed. `new_empty_dir`: a mkdir
// (an empty `hooks` runs nothing).
const char* bare_place_reason(int dirfd, const std::string& real, bool new_empty_dir = false);

// Why writing the existing file at `real` (in directory `dirfd`, proven to hold it) would
// change what git runs: a config or commondir next to a HEAD, a hook of such a directory.
const char* bare_write_reason(int dirfd, const std::string& real);

// A directory moved or linked into place: does it already hold a HEAD with a live companion?
const char* bare_dir_reason(int dirfd);

// Config text a directory with a HEAD may hold: git_config_inert's keys plus what `git clone
// --bare` and `git remote add` write ([remote "<name>"] url/fetch/mirror, a url no
// transport helper or option can hide in).
bool bare_config_inert(const std::string& text);

}  // namespace sbx
