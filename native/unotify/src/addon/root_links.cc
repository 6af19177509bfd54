// See root_links.h. Why: every library a dynamic program loads and most commands it runs are
// named through /lib or /bin, and a symlink sends resolution the long way (a second walk, a
// readlink of the result, its proof: ~20 µs an open on the CI VM, two per process launch).
// With the link's text known, the rewritten path is opened like any clean path (no symlinks,
// inside the root mount), which proves it by construction. Only the first component is
// rewritten; a target that leads out of the root mount (into /proc, say) fails that walk, and
// the caller then resolves the path as written.
#include "root_links.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <mutex>
#include <vector>

#include "path_resolve.h"
#include "sys.h"

namespace sbx {

namespace {

struct RootLink {
  std::string name;    // the entry under "/"
  std::string target;  // its text, clean ("usr/lib" or "/usr/lib"); empty: not a usable link
  dev_t dev = 0;
  ino_t ino = 0;
  timespec ctime{};
};

// Names under "/" are few and only root can add them: a small table, never evicted.
constexpr size_t kMaxLinks = 64;
std::mutex mu;
std::vector<RootLink> links;

// The entry for `name`, or links.end(); mu held.
std::vector<RootLink>::iterator find_link(const std::string& name) {
  auto it = links.begin();
  while (it != links.end() && it->name != name) ++it;
  return it;
}

bool same_inode(const struct stat& st, const RootLink& l) {
  return S_ISLNK(st.st_mode) && st.st_dev == l.dev && st.st_ino == l.ino && st.st_ctim.tv_sec == l.ctime.tv_sec &&
         st.st_ctim.tv_nsec == l.ctime.tv_nsec;
}

// "usr/lib", "/usr/lib": no empty, "." or ".." component, no trailing slash (clean_absolute's rule).
bool clean_target(const std::string& t) { return !t.empty() && clean_absolute(t[0] == '/' ? t : "/" + t); }

// The first component of a clean absolute path, when something follows it.
bool first_component(const std::string& path, std::string& name) {
  const size_t slash = path.find('/', 1);
  if (slash == std::string::npos) return false;
  name = path.substr(1, slash - 1);
  return true;
}

}  // namespace

bool root_link_rewrite(const std::string& path, std::string& out) {
  std::string name;
  if (!first_component(path, name)) return false;
  RootLink l;
  {
    std::lock_guard<std::mutex> g(mu);
    auto it = find_link(name);
    if (it == links.end() || it->target.empty()) return false;
    l = *it;
  }
  struct stat st;
  if (fstatat(root_fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !same_inode(st, l)) {
    // Replaced (or gone): learned again the next time the fast walk meets it.
    std::lock_guard<std::mutex> g(mu);
    auto it = find_link(name);
    if (it != links.end()) links.erase(it);
    return false;
  }
  out = (l.target[0] == '/' ? l.target : "/" + l.target) + path.substr(name.size() + 1);
  return true;
}

void root_link_learn(const std::string& path) {
  std::string name;
  if (!first_component(path, name)) return;
  {
    std::lock_guard<std::mutex> g(mu);
    if (links.size() >= kMaxLinks || find_link(name) != links.end()) return;
  }
  RootLink l;
  l.name = name;
  // The text and the identity of one inode: read through an fd of the link itself.
  Fd fd(openat(root_fd(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  struct stat st;
  if (fd.ok() && fstat(fd.get(), &st) == 0 && S_ISLNK(st.st_mode)) {
    char buf[PATH_MAX];
    const ssize_t n = readlinkat(fd.get(), "", buf, sizeof buf);
    if (n > 0 && static_cast<size_t>(n) < sizeof buf && clean_target(std::string(buf, static_cast<size_t>(n)))) {
      l.target.assign(buf, static_cast<size_t>(n));
      l.dev = st.st_dev;
      l.ino = st.st_ino;
      l.ctime = st.st_ctim;
    }
  }
  // Not a link, or not a usable one: remembered as such (empty target), so a path whose
  // symlink is further down does not look at its first component again.
  std::lock_guard<std::mutex> g(mu);
  if (links.size() < kMaxLinks && find_link(name) == links.end()) links.push_back(std::move(l));
}

}  // namespace sbx
