// Shared by the file handlers: the read/write checks on a canonical path, including the
// /proc rules (protected pids, other processes' sensitive entries).
#pragma once
#include <string>

#include "engine.h"

namespace sbx {
// Returns true when the notification was refused (already answered).
bool check_access(Notif& n, bool need_read, bool need_write, const std::string& real);
// Strips the " (deleted)" suffix procfs adds to an unlinked file's link.
std::string clean_path(const std::string& p, bool unlinked);
// Applies the tracee's umask to this thread (threads run with a private fs struct).
void use_caller_umask(const Notif& n);
}  // namespace sbx
