// The compiled policy as the engine holds it (mirror of src/policy/compiled.ts), and the
// pure decision functions over it. No syscalls in here: decide.cc and glob.cc are plain
// string logic so they can be table-tested against the TypeScript twin.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sha256.h"

namespace sbx {

struct PathRule {
  int rule = -1;
  bool deny = false;
  bool glob = false;  // false = subtree
  // An exact rule (a glob) matches the path itself only, never what is below it: the
  // compiler puts every ancestor of a floor here, so nothing can be created, renamed,
  // linked or symlinked in its place.
  bool exact = false;
  std::string pattern;
  bool floor = false;
  // unix section only: a deny that holds for a server outside the session (a known deputy:
  // ssh-agent, tmux, D-Bus …); a server inside the same session stays reachable.
  bool deputy = false;
  // Written by sbx itself (a built-in origin): audit mode never lifts its denial.
  bool builtin = false;
  // Precompiled glob: segments (escapes kept) and which are a bare `**`.
  std::vector<std::string> gsegs;
  std::vector<char> gstar;
  bool anyStar = false;  // some segment is a bare `**`
  int depth = 0;         // a subtree rule: segments of its pattern
};
// Fills gsegs/gstar/anyStar of a glob rule and depth of a subtree rule (call once when the
// policy is built).
void compile_rule(PathRule& r);

struct PathSection {
  bool defDeny = false;
  std::vector<PathRule> rules;
};

// A program image as src/policy identified it when the policy was finished (exec-images.ts).
struct ImageId {
  std::string path;  // where it was (a big image is hashed from here, when needed)
  uint64_t dev = 0, ino = 0;
  int64_t size = -1;
  int64_t mtime_ns = 0, ctime_ns = 0;  // the version the policy saw
  bool has_sha = false;                // hashed at finish time (small files)
  Sha256 sha{};
};

// A tool's global options (src/policy/exec-tools.ts): argument rules match the
// subcommand after them. known = false: the rule's arguments follow argv[0] directly.
struct ToolOptions {
  bool known = false;
  std::vector<std::string> value;  // take the next argument (or an attached one)
  std::vector<std::string> flag;   // take none
};

struct ProgramRule {
  int rule = -1;
  bool deny = false;
  std::string name;
  std::vector<std::string> args;
  std::vector<ImageId> images;  // what `name` named at policy time (copies, links match too)
  ToolOptions tool;
};

struct ExecSection {
  PathSection paths;  // exec.default + exec.paths
  std::vector<ProgramRule> programs;
  std::vector<ImageId> loaders;  // the dynamic loaders (decided on the program they run)
};

struct NetRule {
  int rule = -1;
  bool deny = false;
  int family = 4;
  uint8_t addr[16] = {0};
  int prefix = 0;
  int portLo = 0, portHi = 65535;
};

struct NetSection {
  bool defDeny = false;
  std::vector<NetRule> rules;
  int proxyPort = 0;  // this policy's own sbx filtering proxy on 127.0.0.1 (0 = none)
};

// A `#!` script an override names: run as one of `paths`, by `interpreter`.
struct CommandScript {
  std::vector<std::string> paths;
  ImageId script, interpreter;
};

// An override widens: it applies only to the files its name named when the policy was
// finished (images: programs; scripts), never to a program merely called by that name.
struct CommandOverride {
  int rule = -1;
  std::string name;
  int policy = 0;
  std::vector<ImageId> images;
  std::vector<CommandScript> scripts;
};

struct Policy {
  int id = 0;
  bool audit = false;
  PathSection read, write, unix_;
  ExecSection exec;
  NetSection net;
  std::vector<CommandOverride> commands;
  // A nested policy (`sbx exec` inside a session) was narrowed within this policy id: the
  // engine allows only what both allow (engine.h decide_all). -1 = none.
  int within = -1;
};

struct Decision {
  bool allow = true;
  int rule = -1;  // -1 = section default, -2 = built-in
  // Decided by the policy's own rules or a section's default (decide.cc). Audit mode lifts
  // only these: never a floor, a built-in refusal, the git guard, a deputy outside the
  // session, or anything else a Decision is made for by hand.
  bool own = false;
};

// The documented algorithm of src/policy/compiled.ts.
Decision decide_path(const PathSection& s, const std::string& path);
// The same, also naming the winning rule (nullptr: the section default or... none matched).
Decision decide_path_rule(const PathSection& s, const std::string& path, const PathRule** win);
// The same decision with the exact rules (ancestors of floors) left out: whether a new
// directory may be made there, which replaces nothing.
Decision decide_path_without_exact(const PathSection& s, const std::string& path);

// The same decision with the floors left out (not the exact rules that keep their ancestors
// from being replaced).
Decision decide_path_without_floors(const PathSection& s, const std::string& path);
// Whether a sandbox under this policy may write `path` here, or could in a session whose floors
// were others (a PATH floor follows the session's PATH: a project's bin/ on it is a floor in one
// session, written in another): allowed, or floored inside a place one of the policy's own
// rules (not its default) allows.
bool writable_in_some_session(const PathSection& s, const std::string& path);

// A unix socket by name (compiled.ts UnixSection): refused, named (an allow rule: reachable
// whoever serves it), or reachable only when its server is a member of the session (the
// section default allows, or a deputy rule matched).
struct UnixName {
  enum Kind { kDenied, kNamed, kIfMember } kind = kIfMember;
  int rule = -1;
  bool own = false;  // as Decision::own (kDenied by the policy's own rule)
};
UnixName decide_unix_name(const PathSection& s, const std::string& name);
// Glob syntax of compiled.ts; true when `glob` matches `path` itself (not ancestors).
bool glob_match(const std::string& glob, const std::string& path);
// Exec: read(B) && exec.paths(B) && no program deny. `asked` is the path the program
// asked to run (its basename also matches program names); argv includes argv[0].
Decision decide_exec(const Policy& p, const std::string& binary, const std::string& asked,
                     const std::vector<std::string>& argv);
// Does an exec decision under p look at the program's names or argv (program rules,
// `commands:` overrides)? When not, verification skips reading cmdline and AT_EXECFN.
bool exec_uses_names(const Policy& p);
// family 4 or 6 (a v4-mapped v6 address must already be converted to 4).
Decision decide_net(const NetSection& s, int family, const uint8_t* addr, int port);
// A program rule's name against an exec: the basename of `binary` or of `asked`, or, for a
// name with a "/", the binary's canonical path.
bool program_name_matches(const std::string& name, const std::string& binary, const std::string& asked);
// True when some subtree deny rule (read or write) names a path strictly below `dir`:
// moving/linking `dir` would expose that path under a new name.
bool dir_contains_deny(const Policy& p, const std::string& dir, int* rule);

std::string base_name(const std::string& p);
// Could a glob rule match something strictly below `dir`? (the pattern is not used up)
bool glob_can_match_below(const PathRule& r, const std::string& dir);
// True when `path` or one of its ancestors matches the glob rule.
bool glob_rule_matches(const PathRule& r, const std::string& path);
// True when the (compiled) glob rule matches all of the path's segments.
bool glob_rule_matches_all(const PathRule& r, const std::vector<std::string_view>& ss);

// /proc/<pid>/... of ANOTHER process (not the caller's thread group, not a protected
// pid): may the caller reach `below` (the components under the pid directory; empty =
// the directory itself)? True only for the harmless entries `ps`, `top` and `pgrep` read
// (stat, status, cmdline, ...), for `task`, `task/<tid>` and the same entries below it,
// and only for reading. fd/, fdinfo/, map_files/, mem, environ, cwd, root, exe, auxv,
// syscall, pagemap, stack, personality, timers, ns/, ... are refused. Every prefix of an
// allowed path is allowed, so resolution can ask at each component before it opens it.
bool proc_entry_allowed(const std::vector<std::string>& below, bool write);
// ... and of a process the caller may debug (mem, maps, auxv, environ …; debug.cc).
bool proc_debug_entry_allowed(const std::vector<std::string>& below, bool write);

}  // namespace sbx
