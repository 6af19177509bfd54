// Names an outside client connects through. A socket file a server outside this session
// answers on is reached by its path; whoever holds a name on that path (the socket file, a
// directory above it, a symlink leading to either) decides where the next client outside
// lands. So the sandbox may not remove, move or replace such a name: a server it bound there
// afterwards would get your next `tmux attach` and what you type into it, an editor's client,
// an ssh-agent request (fs_ops.cc asks before unlink and rename).
#pragma once
#include <cstddef>
#include <string>

#include "net_registry.h"

namespace sbx {

enum class Served { kNo, kYes, kUnknown };

// Entries a walk below a moved name reads at most (here and in fs_ops.cc's deny-glob walk);
// beyond, what the tree holds cannot be told and the move is refused.
constexpr size_t kMaxWalkEntries = 50000;
// Nor deeper than this many directories (the walk holds one open directory per level).
constexpr size_t kMaxWalkDepth = 1024;

// What `name` in `dirfd` leads to, followed as a client would: a socket file bound by a
// server now (not one of `ours`, the session's own), or a directory holding one at any depth
// (symlinks followed, each directory once). kUnknown when that cannot be told (a directory
// that cannot be read, a tree too big, no fd left, sock_diag unavailable): the caller refuses.
// *where: the socket's path (below `path`, the name's own) when kYes.
Served served_elsewhere(ServedSockets& ours, int dirfd, const char* name, const std::string& path, std::string* where);

}  // namespace sbx
