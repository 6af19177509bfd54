// Links right under "/" (merged-/usr systems: /bin, /lib, /lib64, /sbin -> usr/...), remembered
// so a path through one takes the fast resolution (path_resolve.cc).
#pragma once
#include <string>

namespace sbx {

// `path` (clean, absolute, more than one component) with its first component replaced by
// that link's target, when the first component is a link learned before and still the same
// inode (dev, ino, ctime: a link's text never changes in place). False: use the path as written.
bool root_link_rewrite(const std::string& path, std::string& out);

// The fast walk of `path` met a symlink: if its first component is a link whose target is a
// clean path (no ".", "..", empty components), remember its text with its identity.
void root_link_learn(const std::string& path);

}  // namespace sbx
