// The invariant: no directory gets a HEAD next to a live companion through a sandboxed
// process. Every step that could make the pair is decided here, under the guard (a lock in
// this process plus an flock on each directory checked, which engines in other processes —
// another `sbx exec`, the daemon — take as well):
//  - a new HEAD: refused when the directory has a commondir, or a config that is not inert
//    (read with our own fd), or an inert config someone could still change: more than one
//    link to it (written through another name later) or any writable open of it (a retained
//    fd or a shared writable mmap, which holds one): proven absent by taking a read lease,
//    which the kernel refuses with EAGAIN while the file is open for writing anywhere; the
//    content is read under that lease (read before it, a writer that wrote and closed in
//    between would go unseen: the cross-engine race test found exactly that).
//  - a new config/config.worktree/commondir (create, write-open, rename, link, symlink) in a directory with a
//    HEAD: refused; the one exception is git's own config.lock → config rename, which the
//    engine does itself with content it checked (fs_ops.cc).
//  - hooks: git runs hooks/<name> of a repository on every ref update (reference-transaction:
//    git fetch, git branch), so a directory with a HEAD never gets a `hooks` other than a new
//    empty directory, its hooks directory no entry but a `*.sample`, and a HEAD is not made
//    next to a hooks directory holding anything else (or one that is not a plain directory).
//  - a directory moved into place: refused when it holds a HEAD with a live companion or hooks.
// A write-open of an existing config races a HEAD created next to it only through the guard:
// whichever comes second sees the other (the HEAD, or the writable fd via the lease).
#include "bare_repo.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "git_config.h"
#include "sys.h"
#include "tree_walk.h"

namespace sbx {

namespace {


std::string trim(const std::string& s) { return config_trim(s); }
std::string lower(const std::string& s) { return config_lower(s); }

// A remote url git fetches from without running anything of the url's choosing: no
// transport helper ("<helper>::<address>" runs git-remote-<helper>), no option ("-…"),
// no quoting, escapes or control characters.
bool plain_url(const std::string& v) {
  if (v.empty() || v.size() > 1024 || v[0] == '-' || v.find("::") != std::string::npos) return false;
  return std::all_of(v.begin(), v.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != ';' && c != '#'; });
}

// A refspec: "+refs/heads/*:refs/remotes/origin/*" and the like.
bool plain_refspec(const std::string& v) {
  if (v.empty() || v.size() > 512) return false;
  return std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isalnum(c) || std::strchr("+*:/._-", c); });
}

bool plain_bool(const std::string& v) {
  const std::string l = lower(v);
  return l == "true" || l == "false";
}

// The content of `config` in dirfd, read with our own fd (never followed). false: not an
// inert regular file (missing is reported by `missing`).
bool read_config(int dirfd, std::string& text, bool& missing) { return read_small(dirfd, "config", text, missing); }

bool exists(int dirfd, const char* name) {
  struct stat st;
  return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;  // unknown counts as there
}

// The live companions of a directory (with or without a HEAD yet).
const char* live_companion(int dirfd) {
  if (exists(dirfd, "commondir")) return "a commondir (git follows it to another config)";
  if (exists(dirfd, "config.worktree")) return "a config.worktree (git reads it as the repository's config)";
  std::string text;
  bool missing = false;
  if (!read_config(dirfd, text, missing)) {
    // A `config` directory (Rails and others have one) is nothing git can read.
    struct stat st;
    if (missing || (fstatat(dirfd, "config", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))) return nullptr;
    return "a config that is not a small regular file";
  }
  return bare_config_inert(text) ? nullptr : "a config git would run code from (not only the keys git init/clone write)";
}

std::string base(const std::string& path) { return path.substr(path.rfind('/') + 1); }

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// A hooks directory git could run something from: not a plain directory, or an entry that is
// not a `*.sample`. Missing: nothing.
const char* live_hooks(int dirfd) {
  Fd h(openat(dirfd, "hooks", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!h.ok()) return errno == ENOENT ? nullptr : "a hooks entry that is not a plain directory";
  DIR* d = fdopendir(h.release());
  if (!d) return "a hooks directory that cannot be read";
  const char* why = nullptr;
  size_t seen = 0;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (++seen > 1000 || !ends_with(name, ".sample")) {
      why = "a hooks directory with a hook in it (git runs it on every ref update)";
      break;
    }
  }
  closedir(d);
  return why;
}

const char* const kBusy = "a directory another step holds (its git state cannot be proven now)";

// Whether directory `dirfd` is the `hooks` of a directory with a HEAD (its real parent, `..`,
// locked by the guard first).
bool hooks_of_git_dir(BareGuard& g, int dirfd, const std::string& dir_path) {
  if (base(dir_path) != "hooks") return false;
  Fd up(openat(dirfd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
  return !up.ok() || !g.dir(up.get()) || has_head(up.get());
}

}  // namespace

bool bare_relevant(const std::string& real) {
  const size_t slash = real.rfind('/');
  if (bare_role(real.substr(slash + 1)) != BareRole::kNone) return true;
  return slash != std::string::npos && slash > 0 && base(real.substr(0, slash)) == "hooks";
}

BareRole bare_role(const std::string& name) {
  if (name == "HEAD") return BareRole::kHead;
  // config.worktree: git reads it as the repository's config once extensions.worktreeConfig
  // is on (git sparse-checkout turns it on by itself), in every git directory (a submodule's,
  // a worktree's, one not named .git).
  if (name == "config" || name == "commondir" || name == "config.worktree") return BareRole::kCompanion;
  if (name == "hooks") return BareRole::kHooks;
  return BareRole::kNone;
}

std::mutex& BareGuard::mu() {
  static std::mutex m;
  return m;
}

bool BareGuard::dir(int dirfd) {
  struct stat st;
  if (fstat(dirfd, &st) < 0) return false;
  for (const Held& h : held_)
    if (h.dev == st.st_dev && h.ino == st.st_ino) return true;
  Fd f(openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!f.ok()) return false;
  // Another engine holds it for one step (microseconds): 200 ms is plenty.
  for (int i = 0; i < 200; i++) {
    if (flock(f.get(), LOCK_EX | LOCK_NB) == 0) {
      held_.push_back(Held{std::move(f), st.st_dev, st.st_ino});
      return true;
    }
    if (errno != EWOULDBLOCK) return false;
    usleep(1000);
  }
  return false;
}

bool has_head(int dirfd) { return exists(dirfd, "HEAD"); }

const char* const kHeadOverSymlink = "a HEAD over a directory holding a symlink: git outside writes through names there";

const char* bare_place_reason(BareGuard& g, int dirfd, const std::string& real, bool new_empty_dir) {
  const std::string name = base(real);
  const size_t slash = real.rfind('/');
  if (!ends_with(name, ".sample") && slash != std::string::npos && slash > 0 &&
      hooks_of_git_dir(g, dirfd, real.substr(0, slash)))
    return "a hook of a directory with a HEAD (git runs it on every ref update)";
  if (bare_role(name) != BareRole::kNone && !g.dir(dirfd)) return kBusy;
  switch (bare_role(name)) {
    case BareRole::kNone: return nullptr;
    case BareRole::kCompanion:
      return has_head(dirfd) ? "a config or commondir next to a HEAD (git reads it there as a repository's own)" : nullptr;
    case BareRole::kHooks:
      return !new_empty_dir && has_head(dirfd) ? "a hooks directory next to a HEAD (git runs its hooks)" : nullptr;
    case BareRole::kHead: break;
  }
  struct stat st;
  if (fstatat(dirfd, "HEAD", &st, AT_SYMLINK_NOFOLLOW) == 0) return nullptr;  // replaces a HEAD: no new pair
  if (const char* why = live_companion(dirfd)) return why;
  // No symlink is made below a HEAD (fs_ops.cc in_git_dir); one made before must not be there
  // either: git outside writes its reflogs and messages through the names in a repository.
  if (tree_holds_symlink(dirfd, kMaxTreeEntries)) return kHeadOverSymlink;
  if (const char* why = live_hooks(dirfd)) return why;
  // The config as it will stay: first proven to have no writer (the kernel grants a read
  // lease only while nothing has it open for writing, and a new writer's open waits for the
  // lease), then read through the same fd, then the lease is given back. Read before the
  // lease, a writer that wrote and closed in between would go unseen.
  Fd cfg(openat(dirfd, "config", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!cfg.ok()) return errno == ENOENT ? nullptr : "a config that cannot be read";
  if (fstat(cfg.get(), &st) < 0 || !S_ISREG(st.st_mode)) return S_ISDIR(st.st_mode) ? nullptr : "a config that is not a regular file";
  if (st.st_nlink != 1) return "a config with another name (it could be written through it)";
  if (fcntl(cfg.get(), F_SETLEASE, F_RDLCK) < 0)
    return errno == EAGAIN ? "a config someone holds open for writing" : "a config whose writers cannot be ruled out (no lease)";
  char buf[4097];
  size_t total = 0;
  ssize_t k;
  while (total < sizeof buf && (k = pread(cfg.get(), buf + total, sizeof buf - total, static_cast<off_t>(total))) > 0)
    total += static_cast<size_t>(k);
  fcntl(cfg.get(), F_SETLEASE, F_UNLCK);
  if (total > 4096 || !bare_config_inert(std::string(buf, total))) return "a config git would run code from";
  return nullptr;
}

const char* bare_write_reason(BareGuard& g, int dirfd, const std::string& real, bool hooks_only) {
  const std::string name = base(real);
  const size_t slash = real.rfind('/');
  if (!hooks_only && bare_role(name) == BareRole::kCompanion && (!g.dir(dirfd) || has_head(dirfd)))
    return "a config or commondir next to a HEAD";
  if (!ends_with(name, ".sample") && slash != std::string::npos && slash > 0 && hooks_of_git_dir(g, dirfd, real.substr(0, slash)))
    return "a hook of a directory with a HEAD";
  return nullptr;
}

const char* bare_dir_reason(BareGuard& g, int dirfd) {
  if (!g.dir(dirfd)) return kBusy;
  if (!has_head(dirfd)) return nullptr;
  return live_companion(dirfd) || live_hooks(dirfd) ? "a directory with a HEAD and a config, commondir or hooks git would run" : nullptr;
}

bool bare_config_inert(const std::string& text) {
  if (git_config_inert(text)) return true;
  // Split: [core] lines go to git_config_inert; [remote "name"] lines are checked here.
  std::string core;
  enum { kOther, kCore, kRemote } in = kOther;
  const bool ok = each_config_line(text, [&](const std::string& line) {
    if (line[0] == '[') {
      const std::string l = lower(line);
      if (l == "[core]") {
        in = kCore;
        core += line + "\n";
        return true;
      }
      // [remote "name"]: a plain name, no subsection escapes.
      static const std::string head = "[remote \"";
      if (l.compare(0, head.size(), head) != 0 || l.size() < head.size() + 3 || l.substr(l.size() - 2) != "\"]") return false;
      const std::string name = line.substr(head.size(), line.size() - head.size() - 2);
      if (name.empty() || !std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.'; }))
        return false;
      in = kRemote;
      return true;
    }
    if (in == kCore) {
      core += line + "\n";
      return true;
    }
    if (in != kRemote) return false;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) return false;
    const std::string key = lower(trim(line.substr(0, eq)));
    const std::string value = trim(line.substr(eq + 1));
    return key == "url" ? plain_url(value) : key == "fetch" ? plain_refspec(value) : key == "mirror" ? plain_bool(value) : false;
  });
  if (!ok) return false;
  return git_config_inert(core);
}

}  // namespace sbx
