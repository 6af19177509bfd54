// See hooks_path.h.
#include "hooks_path.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <string>
#include <vector>

#include "sys.h"

namespace sbx {

namespace {

constexpr off_t kMaxConfigBytes = 1 << 20;  // larger is no config of a person's: not read
constexpr size_t kMaxConfigFiles = 16;      // a repository's configs and what they include

bool starts_with(const std::string& s, const std::string& head) { return s.compare(0, head.size(), head) == 0; }

std::string dir_of(const std::string& p) {
  const size_t slash = p.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : p.substr(0, slash);
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r\n") - a + 1);
}

// `/a/./b//c/../d` -> `/a/b/d` (names only: a path that does not exist yet).
std::string normalize(const std::string& p) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    const std::string part = p.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& part : parts) out += "/" + part;
  return out.empty() ? "/" : out;
}

// `path` (absolute) with every symlink on it followed and `..` taken physically, as the
// kernel resolves a file below it for git, also when its tail does not exist yet (a hooks
// directory not made yet, a dangling link to one): the rest then by its names. At most 40 links.
std::string follow_links(const std::string& path) {
  std::string done;  // resolved so far ("" is the root)
  std::string rest = path;
  for (int links = 0; links <= 40;) {
    while (!rest.empty() && rest[0] == '/') rest.erase(0, 1);
    if (rest.empty()) return done.empty() ? "/" : done;
    const size_t slash = rest.find('/');
    const std::string comp = rest.substr(0, slash);
    rest = slash == std::string::npos ? "" : rest.substr(slash);
    if (comp == ".") continue;
    if (comp == "..") {
      done = done.empty() ? "" : dir_of(done);
      if (done == "/") done = "";
      continue;
    }
    const std::string here = done + "/" + comp;
    char target[PATH_MAX];
    const ssize_t k = readlink(here.c_str(), target, sizeof target - 1);
    if (k <= 0) {
      done = here;  // not a link, or not there
      continue;
    }
    links++;
    target[k] = '\0';
    if (target[0] == '/') done = "";
    rest = std::string(target) + "/" + rest;
  }
  return normalize(done + rest);
}

// A path from a config made absolute as git does: `~/` from the home, relative from `base`;
// symlinks followed (the paths it is compared with are canonical).
std::string absolute(const std::string& p, const std::string& base) {
  std::string a;
  if (starts_with(p, "~/")) {
    const char* home = getenv("HOME");
    if (!home || home[0] != '/') return "";
    a = std::string(home) + p.substr(1);
  } else {
    a = !p.empty() && p[0] == '/' ? p : base + "/" + p;
  }
  return follow_links(a);
}

// A regular file's content (≤ kMaxConfigBytes). false: absent, not a regular file, too big
// (`too_big` set: the caller cannot tell what it says).
bool read_regular(const std::string& path, std::string& out, bool* too_big = nullptr) {
  Fd f(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  struct stat st;
  if (!f.ok() || fstat(f.get(), &st) < 0 || !S_ISREG(st.st_mode)) return false;
  if (st.st_size > kMaxConfigBytes) {
    if (too_big) *too_big = true;
    return false;
  }
  out.resize(static_cast<size_t>(st.st_size));
  size_t total = 0;
  ssize_t k;
  while (total < out.size() && (k = read(f.get(), &out[total], out.size() - total)) > 0) total += static_cast<size_t>(k);
  out.resize(total);
  return true;
}

// What a config says about hooks: its core.hooksPath values, and the files it includes
// (include.path, includeIf.<condition>.path: every condition counted as met). git's syntax as
// far as these need: [section], [section "sub"], [section.sub], a key alone or `key = value`
// with quotes, escapes, comments and continued lines.
struct Scan {
  std::vector<std::string> hooks, includes;
};

void scan_config(const std::string& t, Scan& out) {
  const size_t n = t.size();
  size_t i = t.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;  // git skips a byte-order mark
  std::string section;
  auto blank = [&] {
    while (i < n && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r')) i++;
  };
  auto next_line = [&] {
    while (i < n && t[i] != '\n') i++;
    if (i < n) i++;
  };
  auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  while (i < n) {
    blank();
    if (i >= n) break;
    const char c = t[i];
    if (c == '\n') {
      i++;
      continue;
    }
    if (c == '[') {  // a section header; a key may follow on the same line
      i++;
      std::string name, sub;
      bool has_sub = false;
      while (i < n && t[i] != ']' && t[i] != '"' && t[i] != ' ' && t[i] != '\t' && t[i] != '\n') name += lower(t[i++]);
      blank();
      if (i < n && t[i] == '"') {
        has_sub = true;
        for (i++; i < n && t[i] != '"' && t[i] != '\n'; i++) {
          if (t[i] == '\\' && i + 1 < n) i++;
          sub += t[i];
        }
        if (i < n && t[i] == '"') i++;
      }
      if (i >= n || t[i] != ']') {
        section.clear();
        next_line();
        continue;
      }
      i++;
      section = has_sub ? name + "." + sub : name;
      continue;
    }
    if (!std::isalpha(static_cast<unsigned char>(c))) {  // a comment, or nothing git takes
      next_line();
      continue;
    }
    std::string key, value;
    while (i < n && (std::isalnum(static_cast<unsigned char>(t[i])) || t[i] == '-')) key += lower(t[i++]);
    blank();
    if (i < n && t[i] == '=') {
      bool quoted = false;
      size_t keep = 0;  // up to the last character that is not a blank outside quotes
      for (i++, blank(); i < n && t[i] != '\n';) {
        const char ch = t[i++];
        if (!quoted && (ch == '#' || ch == ';')) {
          while (i < n && t[i] != '\n') i++;
          break;
        }
        if (ch == '"') {
          quoted = !quoted;
          keep = value.size();
        } else if (ch == '\\' && i < n) {
          const char e = t[i++];
          if (e == '\r' && i < n && t[i] == '\n') i++;
          if (e == '\n' || e == '\r') continue;  // continued on the next line
          value += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'b' ? '\b' : e;
          keep = value.size();
        } else {
          value += ch;
          if (quoted || (ch != ' ' && ch != '\t' && ch != '\r')) keep = value.size();
        }
      }
      value.resize(keep);
    }
    next_line();
    if (section == "core" && key == "hookspath" && !value.empty()) out.hooks.push_back(value);
    if ((section == "include" || starts_with(section, "includeif.")) && key == "path" && !value.empty()) out.includes.push_back(value);
  }
}

// The git directory of the work tree whose top is `top` (its `.git`: a directory, or a file
// naming one), and its common directory (a worktree's `commondir`). false: `top` has none.
bool git_dirs_at(const std::string& top, std::string& gitdir, std::string& common) {
  const std::string dot = (top == "/" ? "" : top) + "/.git";
  struct stat st;
  if (stat(dot.c_str(), &st) < 0) return false;
  if (S_ISDIR(st.st_mode)) {
    gitdir = dot;
  } else {
    std::string text;
    if (!S_ISREG(st.st_mode) || !read_regular(dot, text) || !starts_with(text, "gitdir:")) return false;
    gitdir = absolute(trim(text.substr(7)), top);
  }
  std::string cd;
  common = read_regular(gitdir + "/commondir", cd) ? absolute(trim(cd), gitdir) : gitdir;
  return !gitdir.empty();
}

// The directories git run in the work tree at `top` takes hooks from by core.hooksPath, as the
// repository's config, its config.worktree and the files they include name them. husky's
// `.husky/_` brings `.husky`: its hooks there run `.husky/<hook>`, the user's scripts. One
// that is the work tree itself or above it is left out (every write there would be refused):
// for the project's repository the policy floors the hooks' names there.
// `included` gets the config files they include (any of those can set anything: a hooksPath,
// core.fsmonitor).
// `unreadable`: a config too big to read (git reads it; what it names cannot be told here).
std::vector<std::string> hooks_dirs(const std::string& top, const std::string& gitdir, const std::string& common,
                                    std::vector<std::string>& included, std::string& unreadable) {
  std::vector<std::string> files = {common + "/config", gitdir + "/config.worktree"};
  std::vector<std::string> out;
  for (size_t f = 0; f < files.size() && f < kMaxConfigFiles; f++) {
    std::string text;
    bool too_big = false;
    if (!read_regular(files[f], text, &too_big)) {
      if (too_big) unreadable = files[f];
      continue;
    }
    Scan s;
    scan_config(text, s);
    for (const auto& inc : s.includes) {
      const std::string file = absolute(inc, dir_of(files[f]));
      if (file.empty()) continue;
      files.push_back(file);
      included.push_back(file);
    }
    for (const auto& h : s.hooks) {
      const std::string dir = absolute(h, top);
      if (dir.empty() || dir == top || starts_with(top, dir + "/") || dir == "/") continue;
      out.push_back(dir);
      const size_t slash = dir.rfind('/');
      if (dir.substr(slash + 1) == "_" && dir_of(dir) != top) out.push_back(dir_of(dir));
    }
  }
  return out;
}

}  // namespace

std::string hooks_dir_reason(const std::string& real, bool above) {
  if (real.empty() || real[0] != '/') return "";
  for (std::string top = real;; top = dir_of(top)) {
    std::string gitdir, common;
    if (git_dirs_at(top, gitdir, common)) {
      std::vector<std::string> included;
      std::string unreadable;
      const std::vector<std::string> dirs = hooks_dirs(top, gitdir, common, included, unreadable);
      // Fail closed: where its hooks are cannot be told, so nothing in its work tree is written.
      if (!unreadable.empty())
        return "the config " + unreadable + " of the repository at " + top + " is over " + std::to_string(kMaxConfigBytes >> 20) +
               " MiB: where git runs its hooks from cannot be told";
      for (const std::string& h : dirs)
        if (real == h || starts_with(real, h + "/") || (above && starts_with(h, real + "/")))
          return "git runs hooks from here: core.hooksPath of the repository at " + top + ": " + h;
      for (const std::string& file : included)
        if (real == file || (above && starts_with(file, real + "/"))) return "a config file the repository at " + top + " includes";
    }
    if (top == "/") return "";
  }
}

}  // namespace sbx
