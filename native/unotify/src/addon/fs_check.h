// Shared by the file handlers: the read/write checks on a canonical path, including the
// /proc rules (protected pids, other processes' sensitive entries).
#pragma once
#include <string>

#include "bare_repo.h"
#include "engine.h"

namespace sbx {
// Returns true when the notification was refused (already answered). `real` is a
// proven path from resolution (path_resolve.h).
bool check_access(Notif& n, bool need_read, bool need_write, const std::string& real);
// The same for a resolved object: a proven path goes to check_access; an unnamed object
// (the caller's own pipe, memfd, ...) may be reopened within the access it is held with.
bool check_resolved(Notif& n, bool need_read, bool need_write, const Resolved& r);
// After resolve*(): answers a failure (a refusal by resolution is logged as one) and
// returns true; false when err is not an error.
bool resolve_failed(Notif& n, int err, const Resolved& r);
// The git-directory guard (bare_repo.h) for placing the entry at canonical path `real` into
// its directory `dirfd`: true when refused (answered, reported under kGitDirRule). Call with
// bare_guard() held, and keep it held until the operation is done.
bool git_dir_refused(Notif& n, BareGuard& g, int dirfd, const std::string& real, bool new_empty_dir = false);
// An existing file at proven path `real` (`st`: from our own fd of it) about to be written,
// truncated or chmod'ed: refused (answered, true) when it is a config or commondir next to a
// HEAD, or a hook of such a directory (bare_write_reason; `hooks_only` for a chmod). Call with
// `g` engaged, and keep it until the operation is done.
bool git_dir_write_refused(Notif& n, BareGuard& g, const std::string& real, const struct stat& st, bool hooks_only = false);

// A rename's source or destination at proven path `real` that is a directory above a hooks
// directory of a repository (hooks_path.h: moved away, or another moved into its place):
// refused (answered, true). Inside or at one, check_access refuses already.
bool hooks_dir_moved(Notif& n, const std::string& real);
// Applies the tracee's umask to this thread (threads run with a private fs struct).
void use_caller_umask(const Notif& n);
// A name in /dev outside its shared-memory dirs: never made, removed, moved or replaced from
// inside (fs_ops.cc device_entry_refused), so what it names is not the sandbox's choice.
bool in_fixed_dev(const std::string& path);
// Refuses (EPERM, logged) a name change at `real` when it is such a name or `device` says the
// entry is a device node; false when it is neither.
bool dev_name_refused(Notif& n, const std::string& real, bool device = false);

}  // namespace sbx
