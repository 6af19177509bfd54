// A new repository's .git/config, written by the engine itself (see git_config.cc).
#pragma once
#include <functional>
#include <string>

namespace sbx {

// Whether `text` is a git config of only the inert keys `git init` writes ([core]
// repositoryformatversion, filemode, bare, logallrefupdates, ignorecase, precomposeunicode,
// symlinks with boolean or integer values): nothing git would ever run, read as a path to run,
// or follow (no fsmonitor, pager, editor, hooksPath, sshCommand, alias, include, remote …).
bool git_config_inert(const std::string& text);

// The lines of a small git config (≤ 4 KiB, no NUL byte), trimmed, blank lines and comments
// skipped, each given to `line` until it answers false. false: too big, a NUL, or a line refused.
bool each_config_line(const std::string& text, const std::function<bool(const std::string&)>& line);
std::string config_lower(std::string s);
std::string config_trim(const std::string& s);

// "/…/.git/config": the one floor path the engine may write for a sandbox, with inert content.
bool is_git_config_path(const std::string& real);

// A small regular file (≤ 4 KiB) at (dirfd, name), not followed unless `follow`, read with our
// own fd: false if it is anything else or unreadable; `missing` when there is nothing by that name.
bool read_small(int dirfd, const char* name, std::string& out, bool& missing, bool follow = false);

}  // namespace sbx
