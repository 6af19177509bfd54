// Directory stamps for the supervisor's cached policies (src/policy/expand.ts PathStamps):
// a directory's identity and last change stand for its names' kinds while unchanged.
#pragma once

#include <cstdint>
#include <string>

namespace sbx {

// dev, ino, mtime and ctime (ns) of `path` when it is a directory (lstat) on a filesystem
// whose directory times move with every entry added, removed or renamed and which never
// brings a directory back as it was (ext4, xfs, tmpfs, f2fs); false otherwise.
bool dir_stamp(const std::string& path, uint64_t out[4]);

// A number that changes whenever this process's mount table changed since the last call: a
// mount over a name changes what lstat gives there without touching its directory's times.
uint64_t mount_generation();

}  // namespace sbx
