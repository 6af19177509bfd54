// Where git outside runs hooks from besides a git directory's own `hooks/` (bare_repo.h): the
// `core.hooksPath` a repository's config names (husky's `.husky/_`, a team's `.githooks`),
// which git resolves against the top of the work tree it runs in when relative. The policy
// floors the project's repository's and the global configs' (src/policy/git-hooks-path.ts);
// this finds those of every repository whose work tree holds a path: another work tree of the
// project's repository (`git worktree add`), a repository nested in the project, a repository
// elsewhere the policy writes. Their configs are not the sandbox's to write (the floor and the
// git-directory guard), so what they name is the user's. The same holds for the config files
// those configs include (`include.path = ../.gitconfig`, checked into the work tree).
#pragma once
#include <string>

namespace sbx {

// Is the canonical path `real` (about to be written, made or removed) a directory git runs
// hooks from or inside one, or a config file the repository's config includes (it can set
// anything), for a repository whose work tree holds it? With `above` (a rename's source or
// destination), a directory above one too: moved away, or another moved into its place. The
// reason ("git runs hooks from here: core.hooksPath of the repository at /x/wt:
// /x/wt/.githooks"), else "".
std::string hooks_dir_reason(const std::string& real, bool above);

}  // namespace sbx
