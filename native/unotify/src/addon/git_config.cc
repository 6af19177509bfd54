// git keeps `.git/config` of every repository in the persistence floor: git run outside later
// executes what it names (core.fsmonitor, core.pager, core.hooksPath, aliases …). But `git init`
// inside must work. git writes its config as `.git/config.lock` then renames it over
// `.git/config`; for that rename (fs_ops.cc) the engine reads the lock file with its own fd,
// accepts it only if every line is an inert key (below) and the config it replaces is inert too
// (a repository made the same way, never one with remotes or settings of its own), and writes
// the bytes it checked into a new, unnamed file it links as `.git/config` itself: no sandboxed
// fd refers to that file, and the floor still refuses every write to it afterwards.
#include "git_config.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <functional>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys.h"

namespace sbx {

std::string config_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string config_trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

bool each_config_line(const std::string& text, const std::function<bool(const std::string&)>& line) {
  if (text.size() > 4096 || text.find('\0') != std::string::npos) return false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    const std::string l = config_trim(text.substr(pos, nl - pos));
    pos = nl + 1;
    if (l.empty() || l[0] == '#' || l[0] == ';') continue;
    if (!line(l)) return false;
  }
  return true;
}

namespace {

std::string lower(const std::string& s) { return config_lower(s); }
std::string trim(const std::string& s) { return config_trim(s); }

bool plain_value(const std::string& v) {
  static const char* const words[] = {"true", "false", "yes", "no", "on", "off"};
  const std::string l = lower(v);
  for (const char* w : words)
    if (l == w) return true;
  return !v.empty() && v.size() <= 4 && std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

bool git_config_inert(const std::string& text) {
  static const char* const keys[] = {"repositoryformatversion", "filemode", "bare", "logallrefupdates",
                                     "ignorecase", "precomposeunicode", "symlinks"};
  bool in_core = false;
  return each_config_line(text, [&](const std::string& line) {
    if (line[0] == '[') {
      in_core = lower(line) == "[core]";
      return in_core;
    }
    if (!in_core) return false;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) return false;  // a bare key is "true"; git init never writes one
    const std::string key = lower(trim(line.substr(0, eq)));
    const std::string value = trim(line.substr(eq + 1));
    if (std::find_if(std::begin(keys), std::end(keys), [&](const char* k) { return key == k; }) == std::end(keys)) return false;
    return plain_value(value);
  });
}

bool is_git_config_path(const std::string& real) {
  static const std::string tail = "/.git/config";
  return real.size() > tail.size() && real.compare(real.size() - tail.size(), tail.size(), tail) == 0;
}

// See git_config.h.
bool read_small(int dirfd, const char* name, std::string& out, bool& missing, bool follow) {
  missing = false;
  Fd f(openat(dirfd, name, O_RDONLY | (follow ? 0 : O_NOFOLLOW) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!f.ok()) {
    missing = errno == ENOENT;
    return false;
  }
  struct stat st;
  if (fstat(f.get(), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > 4096) return false;
  char buf[4097];
  ssize_t k;
  size_t total = 0;
  while (total < sizeof buf && (k = read(f.get(), buf + total, sizeof buf - total)) > 0) total += static_cast<size_t>(k);
  if (total > 4096) return false;
  out.assign(buf, total);
  return true;
}

}  // namespace sbx
