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

enum class BareRole { kNone, kHead, kCompanion };
// What a directory entry by this name is to git's repository discovery.
BareRole bare_role(const std::string& name);

// Held across the check and the operation of every step that can place a HEAD or a companion
// (one lock for all sessions of this process): the checks of one step see the other's result.
std::unique_lock<std::mutex> bare_guard();

// Whether directory `dirfd` has an entry named HEAD (any type: git accepts a symlink).
bool has_head(int dirfd);

// Why placing an entry `name` (of role kHead or kCompanion) into directory `dirfd` would pair
// a HEAD with a live companion or with a config someone can still write; nullptr if it would
// not. A HEAD replacing a HEAD changes nothing (git checkout): allowed.
const char* bare_place_reason(int dirfd, const std::string& name);

// A directory moved or linked into place: does it already hold a HEAD with a live companion?
const char* bare_dir_reason(int dirfd);

// Config text a directory with a HEAD may hold: git_config_inert's keys plus what `git clone
// --bare` and `git remote add` write ([remote "<name>"] url/fetch/mirror, a url no
// transport helper or option can hide in).
bool bare_config_inert(const std::string& text);

}  // namespace sbx
