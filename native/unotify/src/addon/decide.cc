// Decisions on a policy snapshot: pure functions, no syscalls (see compiled.ts).
#include <arpa/inet.h>

#include <string_view>

#include "policy.h"

namespace sbx {

std::vector<std::string_view> path_segments(const std::string& path);
int glob_match_depth_rel(const PathRule& r, const std::vector<std::string_view>& ss, bool absolute);

std::string base_name(const std::string& p) {
  size_t end = p.size();
  while (end > 1 && p[end - 1] == '/') end--;
  size_t slash = p.rfind('/', end - 1);
  if (slash == std::string::npos) return p.substr(0, end);
  return p.substr(slash + 1, end - slash - 1);
}

bool glob_rule_matches(const PathRule& r, const std::string& path) {
  auto ss = path_segments(path);
  return glob_match_depth_rel(r, ss, !path.empty() && path[0] == '/') >= 0;
}

static bool subtree_match(const std::string& pat, const std::string& path) {
  if (pat == "/") return !path.empty() && path[0] == '/';
  if (path.size() < pat.size() || path.compare(0, pat.size(), pat) != 0) return false;
  return path.size() == pat.size() || path[pat.size()] == '/';
}

// Score of a rule against a path (see compiled.ts), or -1 when it does not match.
static int rule_score(const PathRule& r, const std::string& path, const std::vector<std::string_view>& ss) {
  if (r.exact) return glob_rule_matches_all(r, ss) ? 2 * static_cast<int>(ss.size()) + 1 : -1;
  if (!r.glob) return subtree_match(r.pattern, path) ? 2 * r.depth + 1 : -1;
  int d = glob_match_depth_rel(r, ss, !path.empty() && path[0] == '/');
  return d < 0 ? -1 : 2 * d;
}

// Step 2 of the algorithm over the rules `skip` leaves in: the highest score wins; deny beats
// allow at equal score; first in order otherwise. No rule: the section default.
template <class Skip>
static Decision best_rule(const PathSection& s, const std::string& path, const std::vector<std::string_view>& ss, Skip skip,
                          const PathRule** out = nullptr) {
  int best = -1;
  const PathRule* win = nullptr;
  for (const auto& r : s.rules) {
    if (skip(r)) continue;
    int sc = rule_score(r, path, ss);
    if (sc < 0) continue;
    if (sc > best || (sc == best && r.deny && !win->deny)) {
      best = sc;
      win = &r;
    }
  }
  if (out) *out = win;
  if (win) return {!win->deny, win->rule, !win->builtin};
  return {!s.defDeny, -1, true};
}

Decision decide_path(const PathSection& s, const std::string& path) { return decide_path_rule(s, path, nullptr); }

UnixName decide_unix_name(const PathSection& s, const std::string& name) {
  const PathRule* win = nullptr;
  Decision d = decide_path_rule(s, name, &win);
  if (win && win->deputy && win->deny) return {UnixName::kIfMember, d.rule};
  if (!d.allow) return {UnixName::kDenied, d.rule, d.own};
  if (win) return {UnixName::kNamed, d.rule};
  return {UnixName::kIfMember, -1};
}

Decision decide_path_rule(const PathSection& s, const std::string& path, const PathRule** out) {
  if (out) *out = nullptr;
  auto ss = path_segments(path);
  // 1. floors: the first matching floor deny (in rule order) wins outright.
  for (const auto& r : s.rules)
    if (r.floor && r.deny && rule_score(r, path, ss) >= 0) {
      if (out) *out = &r;
      return {false, r.rule};
    }
  // 2. highest score; deny beats allow at equal score; first in order otherwise.
  return best_rule(s, path, ss, [](const PathRule&) { return false; }, out);
}

Decision decide_path_without_exact(const PathSection& s, const std::string& path) {
  auto ss = path_segments(path);
  for (const auto& r : s.rules)
    if (!r.exact && r.floor && r.deny && rule_score(r, path, ss) >= 0) return {false, r.rule};
  return best_rule(s, path, ss, [](const PathRule& r) { return r.exact; });
}

Decision decide_path_without_floors(const PathSection& s, const std::string& path) {
  // An ancestor of a floor (an exact rule) stays unreplaceable.
  return best_rule(s, path, path_segments(path), [](const PathRule& r) { return r.floor && !r.exact; });
}

bool writable_in_some_session(const PathSection& s, const std::string& path) {
  if (decide_path(s, path).allow) return true;
  // Denied by a floor inside a place the policy's own rules (not its default) let it write?
  const Decision own = decide_path_without_floors(s, path);
  return own.allow && own.rule != -1;
}

bool program_name_matches(const std::string& name, const std::string& binary, const std::string& asked) {
  if (name.find('/') != std::string::npos) return name == binary;
  return name == base_name(binary) || (!asked.empty() && name == base_name(asked));
}

Decision decide_exec(const Policy& p, const std::string& binary, const std::string& asked,
                     const std::vector<std::string>& argv) {
  Decision d = decide_path(p.read, binary);
  if (!d.allow) return d;
  Decision e = decide_path(p.exec.paths, binary);
  if (!e.allow) return e;
  // Program rules: most args wins, deny on ties.
  int bestArgs = -1;
  const ProgramRule* win = nullptr;
  for (const auto& r : p.exec.programs) {
    if (!program_name_matches(r.name, binary, asked)) continue;
    if (argv.size() < r.args.size() + 1) continue;
    bool ok = true;
    for (size_t i = 0; i < r.args.size() && ok; i++) ok = argv[i + 1] == r.args[i];
    if (!ok) continue;
    int n = static_cast<int>(r.args.size());
    if (n > bestArgs || (n == bestArgs && r.deny && !win->deny)) {
      bestArgs = n;
      win = &r;
    }
  }
  if (win && win->deny) return {false, win->rule, true};
  return {true, win ? win->rule : e.rule, true};
}

bool exec_uses_names(const Policy& p) { return !p.exec.programs.empty() || !p.commands.empty(); }

Decision decide_net(const NetSection& s, int family, const uint8_t* addr, int port) {
  const NetRule* win = nullptr;
  for (const auto& r : s.rules) {
    if (r.family != family || port < r.portLo || port > r.portHi) continue;
    int bits = r.prefix, i = 0;
    bool ok = true;
    for (; bits >= 8 && ok; bits -= 8, i++) ok = addr[i] == r.addr[i];
    if (ok && bits > 0) {
      uint8_t mask = static_cast<uint8_t>(0xff << (8 - bits));
      ok = (addr[i] & mask) == (r.addr[i] & mask);
    }
    if (!ok) continue;
    if (!win) {
      win = &r;
      continue;
    }
    int wr = win->portHi - win->portLo, rr = r.portHi - r.portLo;
    if (r.prefix > win->prefix || (r.prefix == win->prefix && (rr < wr || (rr == wr && r.deny && !win->deny))))
      win = &r;
  }
  if (win) return {!win->deny, win->rule, true};
  return {!s.defDeny, -1, true};
}

bool dir_contains_deny(const Policy& p, const std::string& dir, int* rule) {
  for (const PathSection* s : {&p.read, &p.write}) {
    for (const auto& r : s->rules) {
      if (!r.deny || r.glob) continue;
      bool below = dir == "/" ? r.pattern != "/"
                              : (r.pattern.size() > dir.size() && r.pattern.compare(0, dir.size(), dir) == 0 &&
                                 r.pattern[dir.size()] == '/');
      if (below) {
        if (rule) *rule = r.rule;
        return true;
      }
    }
  }
  return false;
}

// What a debugger also needs of a process it may debug (debug.cc): its memory (read and
// written: breakpoints), mappings, auxiliary vector, environment. Magic links (fd/, cwd,
// root, exe, map_files/) stay the process's own.
bool proc_debug_entry_allowed(const std::vector<std::string>& below, bool write) {
  static const char* const entries[] = {"mem",     "maps",        "smaps",   "smaps_rollup", "numa_maps",
                                        "auxv",    "environ",     "personality", "syscall", "exe"};
  size_t i = 0;
  if (i < below.size() && below[i] == "task") {  // task/<tid>/<entry>
    if (below.size() < 2 || !proc_entry_allowed({below[0], below[1]}, false)) return false;
    i += 2;
  }
  if (i + 1 != below.size()) return !write && proc_entry_allowed(below, false);
  if (write && below[i] != "mem") return false;
  for (const char* e : entries)
    if (below[i] == e) return true;
  return !write && proc_entry_allowed(below, false);
}

bool proc_entry_allowed(const std::vector<std::string>& below, bool write) {
  // Entries of another process that reveal nothing dangerous and allow no control.
  static const char* const harmless[] = {"stat",   "status",    "cmdline",  "comm",      "statm",
                                         "limits", "cgroup",    "oom_score", "oom_score_adj", "wchan",
                                         "sched",  "schedstat", "loginuid", "sessionid"};
  if (write) return false;
  auto is_tid = [](const std::string& s) {
    if (s.empty() || s.size() > 10 || s[0] == '0') return false;
    for (char ch : s)
      if (ch < '0' || ch > '9') return false;
    return true;
  };
  size_t i = 0;
  if (i < below.size() && below[i] == "task") {  // task/<tid>/<entry>
    if (++i == below.size()) return true;
    if (!is_tid(below[i])) return false;
    if (++i == below.size()) return true;
  }
  if (i == below.size()) return true;
  if (i + 1 != below.size()) return false;  // nothing harmless is a directory
  for (const char* e : harmless)
    if (below[i] == e) return true;
  return false;
}

}  // namespace sbx
