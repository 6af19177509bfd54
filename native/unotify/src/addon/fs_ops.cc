// Path-changing syscalls (mkdir, unlink, rename, link, symlink, truncate, chmod, chown,
// utimes, xattr), emulated: resolve in the engine, decide on the canonical path, then do
// the operation ourselves relative to the resolved fd and reply with its result.
#include <pwd.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "bare_repo.h"
#include "fs_check.h"
#include "git_config.h"
#include "ipc.h"
#include "memory.h"
#include "outside_sockets.h"
#include "shm_files.h"
#include "tree_walk.h"

namespace sbx {

namespace {

// A resolved operand. For follow=true `op` is /proc/self/fd/N (the object itself);
// otherwise /proc/self/fd/P/name (the last component, not followed).
struct Target {
  Fd fd, parent;
  std::string name, real, op;
  bool unnamed = false;  // the caller's own pipe, memfd, deleted file (see Resolved)
  int held = -1;
};

int reply(Notif& n, long r) { return reply_value(n.listener(), n.req.id, r < 0 ? -errno : r); }
void fail(Notif& n, int err) { reply_error(n.listener(), n.req.id, err); }

int read_path(Notif& n, uint64_t p, std::string& out) { return read_string(n.caller.tid, p, out); }

// Operations that change what a name holds (make, remove, move, link) run one at a time, from
// their checks to the syscall: a check of what a name holds (a file, a directory, a git
// directory's content) would otherwise be about another object by the time it moves (a
// sibling thread swapping a file and a prepared directory under the name). Every way a
// sandboxed process changes a name is one of these trapped calls.
std::mutex& names_mu() {
  static std::mutex mu;
  return mu;
}

// The user's home, as the policy has it ($HOME of the process hosting the engine: the
// supervisor or `sbx exec`, started from the user's environment), else the password entry's.
const std::string& home_dir() {
  static const std::string home = [] {
    const char* env = getenv("HOME");
    if (env && env[0] == '/') return std::string(env);
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* got = nullptr;
    if (getpwuid_r(geteuid(), &pw, buf.data(), buf.size(), &got) == 0 && got && got->pw_dir && got->pw_dir[0] == '/')
      return std::string(got->pw_dir);
    return std::string();
  }();
  return home;
}

// A home dot-entry (~/.bash_history, ~/.python_history) is what tools outside read and write
// by that name: a sandbox makes only files and directories there. A symlink's meaning changes
// with every directory on its way (one made into /tmp, re-pointed later to ~/.bashrc), and a
// FIFO (there or anywhere below one: `below_too`) hangs every new shell that reads its history.
bool home_dot_entry_refused(Notif& n, const Target& d, const char* what, bool below_too = false) {
  const std::string& home = home_dir();
  if (home.empty() || home == "/" || d.unnamed) return false;
  if (d.real.size() <= home.size() + 2 || d.real.compare(0, home.size(), home) != 0 || d.real[home.size()] != '/') return false;
  const std::string rest = d.real.substr(home.size() + 1);
  if (rest[0] != '.' || (!below_too && rest.find('/') != std::string::npos)) return false;
  return refuse(n, Decision{false, -2}, "write", d.real + " (" + what + " as a home dot-entry: tools outside use it by that name)", EACCES);
}

void take(Target& t, Resolved& r) {
  t.fd = std::move(r.fd);
  t.real = r.path;
  t.unnamed = r.unnamed;
  t.held = r.held;
  t.op = "/proc/self/fd/" + std::to_string(t.fd.get());
}

// Resolves (dirfd, path). empty_ok: an empty path means the dirfd itself (AT_EMPTY_PATH).
int target(Notif& n, int dirfd, const std::string& path, bool follow, bool empty_ok, Target& t, Resolved& r) {
  Fd base;
  int e;
  if (path.empty()) {
    if (!empty_ok) return -ENOENT;
    if ((e = resolve_fd(n.caller, dirfd, r)) < 0) return e;
    if (!n.valid()) return -ESRCH;
    take(t, r);
    return 0;
  }
  if (path[0] != '/') {
    if ((e = open_base(n.caller, dirfd, base)) < 0) return e;
    if (!n.valid()) return -ESRCH;
  }
  if (follow) {
    if ((e = resolve(n.caller, base.get(), path, true, 0, false, r)) < 0) return e;
    take(t, r);
  } else {
    if ((e = resolve_parent(n.caller, base.get(), path, r)) < 0) return e;
    t.parent = std::move(r.parent);
    t.name = r.name;
    t.real = join_path(r.path, t.name);
    t.op = "/proc/self/fd/" + std::to_string(t.parent.get()) + "/" + t.name;
  }
  return 0;
}

// Reads a (dirfd, path) argument pair and resolves it; answers errors itself.
bool operand(Notif& n, int dirfd, uint64_t pathp, bool follow, bool empty_ok, Target& t) {
  std::string path;
  int e = pathp ? read_path(n, pathp, path) : (empty_ok ? 0 : -EFAULT);
  if (e < 0) return fail(n, -e), false;
  if (!n.valid()) return false;
  Resolved r;
  if ((e = target(n, dirfd, path, follow, empty_ok, t, r)) < 0) {
    if (e != -ESRCH) resolve_failed(n, e, r);
    return false;
  }
  return true;
}

// Files that are IPC objects. /dev/shm (shm_files.h): an existing object there must be one the
// session made; a new name goes in /dev/shm itself or in a directory the session made there;
// /dev/shm itself is nobody's to change (chmod, chown, utimes, xattr of the directory). The
// mqueue filesystem (ipc.h): never changed by path (mq_open and mq_unlink make and remove
// queues, and record them).
bool ipc_file_refused(Notif& n, const Target& t) {
  if (t.unnamed) return false;
  struct stat st;
  const bool exists = t.fd.ok() ? fstat(t.fd.get(), &st) == 0 : fstatat(t.parent.get(), t.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (!exists) {
    struct stat dir;
    if (fstat(t.parent.get(), &dir) != 0) return false;  // the operation fails the same way
    return ipc_create_refused(n, t.parent.get(), dir, t.real);
  }
  if (mqueue_object(st)) return refuse(n, Decision{false, -2}, "ipc", t.real + " (queues change only through mq_open and mq_unlink)", EACCES);
  if (shm_top(st)) return refuse(n, Decision{false, -2}, "ipc", t.real + " (shared by every program)", EACCES);
  return t.fd.ok() ? shm_refused(n, t.fd.get(), st, t.real) : shm_refused(n, -1, t.parent.get(), t.name.c_str(), t.real);
}

// A name just made in /dev/shm is recorded as the session's; one that cannot be (the records
// are full) is removed again and the call fails.
long made(Notif& n, const Target& t, long r, bool dir) {
  if (r < 0 || shm_record(n, t.real, -1, t.parent.get(), t.name.c_str())) return r;
  unlinkat(t.parent.get(), t.name.c_str(), dir ? AT_REMOVEDIR : 0);
  errno = ENOSPC;
  return -1;
}

bool check_target(Notif& n, bool need_read, bool need_write, const Target& t) {
  if (!t.unnamed) return check_access(n, need_read, need_write, t.real) || ipc_file_refused(n, t);
  Resolved r;
  r.unnamed = true;
  r.held = t.held;
  r.path = t.real;
  return check_resolved(n, need_read, need_write, r);
}

// truncate and chmod change what git runs as a write does: a hook cut short to a prefix that
// does something else, a disabled hook made executable. The git-directory guard (bare_repo.h)
// decides them like a write of the existing file; `g` is engaged while it matters.
bool git_dir_change_refused(Notif& n, BareGuard& g, const Target& t, bool is_chmod) {
  if (t.unnamed || !bare_relevant(t.real)) return false;
  struct stat st;
  const int r = t.fd.ok() ? fstat(t.fd.get(), &st) : fstatat(t.parent.get(), t.name.c_str(), &st, AT_SYMLINK_NOFOLLOW);
  if (r < 0) return false;  // gone: the operation itself fails
  g.engage();
  return git_dir_write_refused(n, g, t.real, st, is_chmod);
}

void do_truncate(Notif& n) {
  Target t;
  if (!operand(n, AT_FDCWD, n.req.data.args[0], true, false, t)) return;
  if (check_target(n, false, true, t)) return;
  BareGuard guard;
  if (git_dir_change_refused(n, guard, t, false)) return;
  Fd w(open(t.op.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!w.ok()) return fail(n, errno);
  reply(n, ftruncate(w.get(), static_cast<off_t>(n.req.data.args[1])));
}

// A device node (/dev/null, /dev/tty, a pts) or any name in /dev but its shared-memory dirs: a
// write rule there lets a program write through it, never make, remove, move or replace an
// entry (as root, `mv /tmp/x /dev/null` or onto /dev/stdout would give every process on the
// machine a regular file there; DAC stops only other users).
bool device_entry_refused(Notif& n, const Target& t) {
  if (t.unnamed) return false;
  struct stat st;
  const bool device = fstatat(t.parent.get(), t.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode));
  return dev_name_refused(n, t.real, device);
}

void do_mkdir_mknod(Notif& n, int dirfd, uint64_t pathp, mode_t mode, dev_t dev, bool is_mkdir) {
  Target t;
  if (!operand(n, dirfd, pathp, false, false, t)) return;
  if (!is_mkdir && (S_ISCHR(mode) || S_ISBLK(mode))) return fail(n, EPERM);  // no devices from a sandbox
  if (device_entry_refused(n, t)) return;
  // Below one too (fish's history in ~/.local/share/fish): a FIFO hangs the tool that reads it.
  if (!is_mkdir && (S_ISFIFO(mode) || S_ISSOCK(mode)) && home_dot_entry_refused(n, t, "a FIFO or socket", true)) return;
  // The kernel answers EEXIST for an existing name before any permission check, so `mkdir -p`
  // of a readable but write-protected directory (the project dir: an ancestor of its policy
  // file) succeeds; npm and others do that. A name hidden from reading still gets EACCES.
  struct stat st;
  const bool exists = fstatat(t.parent.get(), t.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && decide_all(n, [&](const Policy& p) { return decide_path(p.read, t.real); }).allow) return fail(n, EEXIST);
  // An ancestor of a floor (an exact rule: `.git` for `.git/config`, a missing `~/.config`)
  // must never be replaced by a symlink or a moved directory; a new, empty `.git` made by the
  // engine replaces nothing (git init). Only `.git`: a missing `~/.config` stays refused (its
  // owner and mode are what the config loader trusts). Everything below stays decided as before.
  // Under a nested policy every enclosing one must allow it the same way (decide_all).
  const PathRule* win = nullptr;
  const bool new_ancestor = is_mkdir && !exists && errno == ENOENT && !t.unnamed && t.name == ".git" &&
                            !decide_path_rule(n.pol->write, t.real, &win).allow && win && win->exact &&
                            decide_all(n, [&](const Policy& p) {
                              const PathRule* w = nullptr;
                              Decision d = decide_path_rule(p.write, t.real, &w);
                              return d.allow || !w || !w->exact ? d : decide_path_without_exact(p.write, t.real);
                            }).allow;
  if (new_ancestor ? ipc_file_refused(n, t) : check_target(n, false, true, t)) return;
  BareGuard guard;
  if (bare_relevant(t.real)) {
    guard.engage();
    if (git_dir_refused(n, guard, t.parent.get(), t.real, is_mkdir)) return;
  }
  use_caller_umask(n);
  if (is_mkdir) return void(reply(n, made(n, t, mkdirat(t.parent.get(), t.name.c_str(), mode & 07777), true)));
  reply(n, made(n, t, mknodat(t.parent.get(), t.name.c_str(), mode, dev), false));
}

// A name on the path of a socket a server outside this session answers on is not removed,
// moved or replaced (outside_sockets.h); nor when that cannot be told.
bool socket_name_refused(Notif& n, int dirfd, const char* name, const std::string& real) {
  std::string where;
  switch (served_elsewhere(n.core->served(), dirfd, name, real, &where)) {
    case Served::kNo:
      return false;
    case Served::kYes:
      return refuse(n, Decision{false, -2}, "unix",
                    where + " (served outside this sandbox: a program outside connecting there would reach whatever the sandbox put in its place)", EACCES);
    case Served::kUnknown:
      break;
  }
  return refuse(n, Decision{false, -2}, "unix", real + " (cannot tell whether a server outside this sandbox answers through it: unreadable, or too big to check)", EACCES);
}

void do_unlink(Notif& n, int dirfd, uint64_t pathp, int flags) {
  Target t;
  if (!operand(n, dirfd, pathp, false, false, t)) return;
  if (check_target(n, false, true, t) || device_entry_refused(n, t)) return;
  if (!t.unnamed && socket_name_refused(n, t.parent.get(), t.name.c_str(), t.real)) return;
  const ShmGoing going = shm_going(*n.core, t.parent.get(), t.name.c_str(), t.real);
  const long r = unlinkat(t.parent.get(), t.name.c_str(), flags & AT_REMOVEDIR);
  if (r == 0) shm_forget(*n.core, going);
  reply(n, r);
}

// Walks the tree below `dirfd` (path `dir`) looking for a name a deny glob matches.
// Returns the rule, -1 when none, or -3 when the tree is too big or unreadable to tell.
int glob_deny_below(const std::vector<const PathRule*>& globs, int dirfd, const std::string& dir) {
  Fd top(openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!top.ok()) return -1;
  int rule = -1;
  const TreeWalk w = walk_tree(std::move(top), false, kMaxWalkEntries, [&](const TreeEntry& e, int, bool&) {
    const std::string p = join_path(dir, e.rel);
    for (const PathRule* g : globs)
      if (glob_rule_matches(*g, p)) {
        rule = g->rule;
        return false;
      }
    return true;
  });
  if (w == TreeWalk::kStopped) return rule;
  return w == TreeWalk::kDone ? -1 : -3;  // too big, or unreadable (or no fd left): what it holds cannot be told
}

// The first deny rule lying below `real` (in every policy the caller's is nested within).
Decision deny_below(Notif& n, const std::string& real) {
  return decide_all(n, [&](const Policy& p) {
    int r = -2;
    return dir_contains_deny(p, real, &r) ? Decision{false, r} : Decision{true, -1};
  });
}

// A directory moved to `d`, or a symlink made there, puts whatever it holds (or points at)
// below `d`: a deny rule for a path below `d` (fish's vendor_conf.d below an excepted
// ~/.local/share/fish) would then name what a tool outside loads, while the engine decides
// every write there on the real path elsewhere. Refused whenever a deny rule lies below it.
bool deny_below_refused(Notif& n, const Target& d) {
  const Decision below = deny_below(n, d.real);
  return !below.allow && refuse(n, below, "write", d.real, EACCES);
}

// Moving or linking a directory above a deny rule would expose the denied path: a
// subtree rule below it, or a deny glob matching something that is below it.
bool dir_exposes(Notif& n, const Target& t) {
  struct stat st;
  if (fstatat(t.parent.get(), t.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) return false;
  const Decision below = deny_below(n, t.real);
  if (!below.allow) return refuse(n, below, "write", t.real, EACCES);
  // The deny globs of this policy and of every policy it was narrowed within (kept alive here).
  std::vector<std::shared_ptr<const Policy>> chain{n.pol};
  for (int w = n.pol->within; w >= 0 && chain.size() < 9;) {
    auto outer = n.core->policy(w);
    if (!outer) return refuse(n, Decision{false, -2}, "write", t.real, EACCES);
    chain.push_back(outer);
    w = outer->within;
  }
  std::vector<const PathRule*> globs;
  for (const auto& p : chain)
    for (const PathSection* s : {&p->read, &p->write})
      for (const auto& r : s->rules)
        if (r.deny && r.glob && !r.exact && glob_can_match_below(r, t.real)) globs.push_back(&r);
  if (globs.empty()) return false;
  Fd dir(openat(t.parent.get(), t.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  // Gone, or no longer a directory: the rename itself fails the same way. Unreadable (mode
  // 000 still moves): what it holds cannot be told, refused below.
  if (!dir.ok() && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)) return false;
  int rule = dir.ok() ? glob_deny_below(globs, dir.get(), t.real) : -3;
  if (rule == -1) return false;
  // -3: too big to check: refused rather than risk exposing a denied name.
  if (rule == -3) return refuse(n, Decision{false, -2}, "write", t.real + " (too big or unreadable to check what it holds)", EACCES);
  return refuse(n, Decision{false, rule}, "write", t.real, EACCES);
}

// Does every policy the caller's is nested within allow writing `real`, or refuse it only by
// a floor (not an exact rule)? The git config exceptions below lift that floor alone: an
// enclosing policy's other refusal still holds.
static bool only_floor_refuses(Notif& n, const std::string& real) {
  return decide_all(n, [&](const Policy& p) {
           const PathRule* w = nullptr;
           Decision d = decide_path_rule(p.write, real, &w);
           return d.allow || (w && w->floor && !w->exact) ? Decision{true, d.rule} : d;
         }).allow;
}

bool replace_config_checked(Notif& n, const Target& s, const Target& d, const Decision& refusal,
                            bool (*inert)(const std::string&));

// git's rename of `.git/config.lock` over `.git/config`, which the persistence floor denies:
// done by the engine with content it checked (git_config.cc). True when answered here.
bool git_config_rename(Notif& n, const Target& s, const Target& d, unsigned flags) {
  if (flags != 0 || s.unnamed || d.unnamed || s.name != "config.lock" || !is_git_config_path(d.real)) return false;
  if (s.real != d.real + ".lock") return false;  // the lock next to the config, as git makes it
  const PathRule* win = nullptr;
  const Decision dec = decide_path_rule(n.pol->write, d.real, &win);
  // Allowed anyway (no floor), or denied by a rule that is not a floor: the usual path decides.
  if (dec.allow || !win || !win->floor || win->exact) return false;
  if (!only_floor_refuses(n, d.real)) return false;
  return replace_config_checked(n, s, d, dec, git_config_inert);
}

// Writes the content of git's config.lock as `config` in d's directory when `inert` accepts it
// and the config it replaces (if any): only a config made this way is ever replaced, never a
// repository's own settings; else refused under `refusal`. The new file is unnamed until linked
// as `config`: no sandboxed process can open it in between, and the floor (or the git-directory
// guard) refuses every write through its name afterwards. Always answers (true).
bool replace_config_checked(Notif& n, const Target& s, const Target& d, const Decision& refusal,
                            bool (*inert)(const std::string&)) {
  std::string text, old;
  bool missing = false, old_missing = false;
  if (!read_small(s.parent.get(), "config.lock", text, missing) || !inert(text))
    return refuse(n, refusal, "write", d.real, EACCES);
  const bool old_ok = read_small(d.parent.get(), "config", old, old_missing);
  if (!old_missing && (!old_ok || !inert(old))) return refuse(n, refusal, "write", d.real, EACCES);
  Fd tmp(openat(d.parent.get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644));
  if (!tmp.ok()) return fail(n, EACCES), true;
  if (fchmod(tmp.get(), 0644) < 0 || write(tmp.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return fail(n, EIO), true;
  if (!old_missing && unlinkat(d.parent.get(), "config", 0) < 0 && errno != ENOENT) return fail(n, errno), true;
  const std::string self = "/proc/self/fd/" + std::to_string(tmp.get());
  if (linkat(AT_FDCWD, self.c_str(), d.parent.get(), "config", AT_SYMLINK_FOLLOW) < 0) return fail(n, errno), true;
  unlinkat(s.parent.get(), "config.lock", 0);
  reply(n, 0);
  return true;
}

// git init probes core.filemode by flipping the x bit of `.git/config` (a floor): harmless on
// an inert config (nothing runs it), as long as nobody else gets write access to it.
bool git_config_chmod_ok(Notif& n, const Target& t, mode_t mode) {
  if (t.unnamed || !t.fd.ok() || (mode & 07022) || !is_git_config_path(t.real)) return false;
  const PathRule* win = nullptr;
  if (decide_path_rule(n.pol->write, t.real, &win).allow || !win || !win->floor || win->exact) return false;
  if (!only_floor_refuses(n, t.real)) return false;
  std::string text;
  bool missing = false;
  const std::string self = "/proc/self/fd/" + std::to_string(t.fd.get());
  return read_small(AT_FDCWD, self.c_str(), text, missing, true) && git_config_inert(text);
}

// git's config.lock → config rename in a directory with a HEAD outside `.git` (git init
// --bare, git clone --bare, git config there): like git_config_rename, with the content a
// bare repository may hold (bare_config_inert). Call with bare_guard() held.
bool bare_config_rename(Notif& n, BareGuard& g, const Target& s, const Target& d, unsigned flags) {
  if (flags != 0 || s.unnamed || d.unnamed || s.name != "config.lock" || d.name != "config" || s.real != d.real + ".lock")
    return false;
  if (!g.dir(d.parent.get())) return refuse(n, Decision{false, kGitDirRule}, "write", d.real, EACCES);
  if (!has_head(d.parent.get())) return false;
  if (check_access(n, false, true, d.real)) return true;
  return replace_config_checked(n, s, d, Decision{false, kGitDirRule}, bare_config_inert);
}

// A directory moved into place (or swapped): refused when it already holds a HEAD with a
// live config or commondir (bare_repo.h).
bool moved_git_dir(Notif& n, BareGuard& g, const Target& t) {
  Fd dir(openat(t.parent.get(), t.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.ok() || !bare_dir_reason(g, dir.get())) return false;
  return refuse(n, Decision{false, kGitDirRule}, "write", t.real, EACCES);
}

bool is_dir_entry(const Target& t) {
  struct stat st;
  return fstatat(t.parent.get(), t.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

bool is_link_or_dir_entry(const Target& t) {
  struct stat st;
  return !t.unnamed && fstatat(t.parent.get(), t.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode));
}

// Is the directory at t (or one below it) the working directory of a shell that follows cd,
// in any session of this supervisor? Its policy is its directory's: moving that directory
// elsewhere (out of its project, under another) would give it another policy at its next
// prompt without a `cd` of its own — from a program of another terminal as much as its own.
// Decided on identity: the shell's cwd and each of its parents up to the root, by dev/ino.
bool holds_shell_cwd(Notif& n, const Target& t) {
  (void)n;
  struct stat moved;
  if (fstatat(t.parent.get(), t.name.c_str(), &moved, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(moved.st_mode)) return false;
  for (int shell : ProcTable::followers_of_every_session()) {
    Fd dir(open(("/proc/" + std::to_string(shell) + "/cwd").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    for (int depth = 0; dir.ok() && depth < 4096; depth++) {
      struct stat st;
      if (fstat(dir.get(), &st) != 0) break;
      if (st.st_dev == moved.st_dev && st.st_ino == moved.st_ino) return true;
      Fd up(openat(dir.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
      struct stat ust;
      if (!up.ok() || fstat(up.get(), &ust) != 0 || (ust.st_dev == st.st_dev && ust.st_ino == st.st_ino)) break;  // the root
      dir = std::move(up);
    }
  }
  return false;
}

bool shell_cwd_move_refused(Notif& n, const Target& t) {
  return holds_shell_cwd(n, t) && refuse(n, Decision{false, -2}, "write", t.real + " (holds the shell's working directory: its policy is its directory's)", EACCES);
}

bool link_target_refused(Notif& n, const Target& d, const std::string& text);
std::vector<std::string> components(const std::string& text);

// Is directory `dirfd` what git may take for a repository? It needs a HEAD, objects/ and
// refs/, but the last two can come later: a HEAD marks it, as for the git-directory guard
// (bare_repo.h), which also keeps a HEAD from being placed over a tree holding a symlink.
bool holds_git_dir(int dirfd) { return has_head(dirfd); }

// Is `real` a git directory or inside one (a work tree's `.git`, a bare repository's
// directory)? git outside writes there through names, with opens that follow symlinks
// (reflogs, COMMIT_EDITMSG, FETCH_HEAD, MERGE_MSG).
bool in_git_dir(const std::string& real) {
  const std::vector<std::string> parts = components(real);
  if (std::find(parts.begin(), parts.end(), ".git") != parts.end()) return true;
  std::string dir;
  for (size_t i = 0; i + 1 < parts.size(); i++) {
    dir += "/" + parts[i];
    Fd d(open(dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (d.ok() && holds_git_dir(d.get())) return true;
  }
  return false;
}

// No symlink is made or moved into a git directory from inside, whatever it points to: git
// outside writes through names there (a defence for the writer known to follow links). But
// git init's probe of core.symlinks (`tXXXXXX -> testing`, removed at once): refused, git would
// check every symlink of the work tree out as a plain file.
// `in_git`: already known (a moved tree's entries, whose new names do not exist yet).
bool git_dir_symlink_refused(Notif& n, const std::string& at, const std::string& text, bool in_git = false) {
  return text != "testing" && (in_git || in_git_dir(at)) &&
         refuse(n, Decision{false, -2}, "write", at + " (a symlink in a git directory: git outside writes through names there)", EACCES);
}

// A symlink with target `text` at `d`, made there or given that name (moved, hard-linked).
bool symlink_at_refused(Notif& n, const Target& d, const std::string& text) {
  return (!text.empty() && link_target_refused(n, d, text)) || home_dot_entry_refused(n, d, "a symlink") ||
         (!d.unnamed && shm_symlink_refused(n, d.parent.get(), d.real));
}

// The symlink at `at` (a directory fd and a name; "" for the object an O_PATH fd holds), or false.
bool symlink_text(int at, const char* name, std::string& text) {
  char buf[PATH_MAX];
  const ssize_t len = readlinkat(at, name, buf, sizeof buf - 1);
  if (len < 0) return false;
  text.assign(buf, static_cast<size_t>(len));
  return true;
}

// A symlink given a new name (moved, or hard-linked) is decided at that name as if made there.
bool moved_symlink_refused(Notif& n, const Target& from, const Target& to) {
  std::string text;
  return !from.unnamed && symlink_text(from.parent.get(), from.name.c_str(), text) &&
         (symlink_at_refused(n, to, text) || git_dir_symlink_refused(n, to.real, text));
}

// Does a symlink at depth `depth` below a moved directory (0: in it) climb above it with `text`?
// Only a relative text that does changes meaning when the directory moves.
bool climbs_out(const std::string& text, int depth) {
  if (text.empty() || text[0] == '/') return false;
  for (const auto& c : components(text))
    if ((depth += c == ".." ? -1 : 1) < 0) return true;
  return false;
}

// A directory moved from `from` to `to` carries its relative symlinks along: one whose text
// climbs above it (`../../../.bash_aliases`, harmless where it was made) leads elsewhere from
// the new place. Each is decided there as if made there; in a git directory none comes in at
// all. A rename in place (same parent) keeps every climb's target, so only a git directory
// needs the walk then. Too big or unreadable to walk: refused.
bool moved_tree_links_refused(Notif& n, const Target& from, const Target& to) {
  if (from.unnamed || to.unnamed || !is_dir_entry(from)) return false;
  Fd top(openat(from.parent.get(), from.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!top.ok() && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)) return false;  // the rename fails the same way
  const bool into_git = in_git_dir(to.real) || (top.ok() && holds_git_dir(top.get()));
  struct stat a, b;
  const bool same_parent = fstat(from.parent.get(), &a) == 0 && fstat(to.parent.get(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
  if (same_parent && !into_git) return false;
  const auto untold = [&](const char* why) {
    return refuse(n, Decision{false, -2}, "write", from.real + " (" + why + ": the symlinks it holds cannot be decided at " + to.real + ")", EACCES);
  };
  if (!top.ok()) return untold("unreadable");
  // Marked: at the new place it is in a git directory (the tree lands in one, or holds one).
  bool refused = false;
  const TreeWalk w = walk_tree(std::move(top), into_git, kMaxTreeEntries, [&](const TreeEntry& e, int sub, bool& git) {
    if (e.type == DT_DIR) {
      git = git || !strcmp(e.name, ".git") || holds_git_dir(sub);
      return true;
    }
    if (e.type != DT_LNK) return true;
    Target at;
    at.real = join_path(to.real, e.rel);
    std::string text;
    if (!symlink_text(e.dirfd, e.name, text)) {
      refused = untold("unreadable");
      return false;
    }
    refused = (e.marked && git_dir_symlink_refused(n, at.real, text, true)) ||
              (climbs_out(text, e.depth) && link_target_refused(n, at, text));
    return !refused;
  });
  if (refused) return true;
  if (w == TreeWalk::kTooBig) return untold("too big to check");
  if (w == TreeWalk::kUnreadable) return untold("unreadable");
  return false;
}

void do_rename(Notif& n, int ofd, uint64_t op, int nfd, uint64_t np, unsigned flags) {
  Target s, d;
  // A whiteout is a device (0/0) left at the source's name: no devices from a sandbox.
  if (flags & RENAME_WHITEOUT) return fail(n, EPERM);
  if (!operand(n, ofd, op, false, false, s) || !operand(n, nfd, np, false, false, d)) return;
  // A symlink or a directory moved: ordered with a HEAD placed meanwhile (do_symlink).
  BareGuard guard;
  if (is_link_or_dir_entry(s) || ((flags & RENAME_EXCHANGE) && is_link_or_dir_entry(d))) guard.engage();
  if (device_entry_refused(n, s) || device_entry_refused(n, d)) return;
  if (moved_symlink_refused(n, s, d) || ((flags & RENAME_EXCHANGE) && moved_symlink_refused(n, d, s))) return;
  if (check_access(n, true, true, s.real) || ipc_file_refused(n, s) || dir_exposes(n, s) || shell_cwd_move_refused(n, s)) return;
  if (git_config_rename(n, s, d, flags)) return;
  const bool exchange = flags & RENAME_EXCHANGE;
  // Every rename that can place a HEAD, a config or commondir, or a whole directory.
  const bool named = bare_relevant(d.real) || (exchange && bare_relevant(s.real));
  if (named || is_dir_entry(s) || (exchange && is_dir_entry(d))) {
    if (!guard.engaged()) guard.engage();
    if (bare_config_rename(n, guard, s, d, flags)) return;
  }
  if (check_access(n, exchange, true, d.real) || ipc_file_refused(n, d)) return;
  if ((!s.unnamed && hooks_dir_moved(n, s.real)) || (!d.unnamed && hooks_dir_moved(n, d.real))) return;
  // After the access checks: the walk reads what a moved directory holds.
  if (moved_tree_links_refused(n, s, d) || (exchange && moved_tree_links_refused(n, d, s))) return;
  // The source's name goes; the destination's is replaced (or swapped).
  if ((!s.unnamed && socket_name_refused(n, s.parent.get(), s.name.c_str(), s.real)) ||
      (!d.unnamed && socket_name_refused(n, d.parent.get(), d.name.c_str(), d.real)))
    return;
  if (shm_move_refused(n, s.parent.get(), s.name.c_str(), s.real, d.real) ||
      (exchange && shm_move_refused(n, d.parent.get(), d.name.c_str(), d.real, s.real)))
    return;
  if (exchange && (dir_exposes(n, d) || shell_cwd_move_refused(n, d))) return;
  if ((is_dir_entry(s) && deny_below_refused(n, d)) || (exchange && is_dir_entry(d) && deny_below_refused(n, s))) return;
  if (guard.engaged()) {
    if (git_dir_refused(n, guard, d.parent.get(), d.real)) return;
    if (exchange && git_dir_refused(n, guard, s.parent.get(), s.real)) return;
    if (moved_git_dir(n, guard, s) || (exchange && moved_git_dir(n, guard, d))) return;
  }
  // An object of ours replaced by the rename goes from the records (shm_files.h).
  const ShmGoing replaced = exchange ? ShmGoing{} : shm_going(*n.core, d.parent.get(), d.name.c_str(), d.real);
  const long r = syscall(SYS_renameat2, s.parent.get(), s.name.c_str(), d.parent.get(), d.name.c_str(), flags);
  if (r == 0) shm_forget(*n.core, replaced);
  reply(n, r);
}

// The source of a hard link: a config or commondir of a directory with a HEAD? Decided on
// the inode itself: the directory its path names must hold this very file by that name
// (else it moved meanwhile: refused rather than guessed). The guard keeps it at one link.
bool config_of_git_dir(Notif& n, BareGuard& g, const Target& s, const struct stat& st) {
  if (s.unnamed) return false;
  const size_t slash = s.real.rfind('/');
  const std::string name = s.real.substr(slash + 1);
  if (bare_role(name) != BareRole::kCompanion) return false;
  Fd dir(open(slash == 0 ? "/" : s.real.substr(0, slash).c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat here;
  const bool same = dir.ok() && fstatat(dir.get(), name.c_str(), &here, AT_SYMLINK_NOFOLLOW) == 0 &&
                    here.st_dev == st.st_dev && here.st_ino == st.st_ino;
  if (same && g.dir(dir.get()) && !has_head(dir.get())) return false;
  return refuse(n, Decision{false, kGitDirRule}, "write", s.real, EACCES);
}

void do_link(Notif& n, int ofd, uint64_t op, int nfd, uint64_t np, int flags) {
  if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return fail(n, EINVAL);
  Target s, d;
  // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH in the kernel; a sandboxed process gets ENOENT.
  if (!operand(n, ofd, op, flags & AT_SYMLINK_FOLLOW, false, s)) return;
  if (!operand(n, nfd, np, false, false, d)) return;
  struct stat st{};
  if (!s.fd.ok()) {  // not followed: link the last component itself
    s.fd.reset(openat(s.parent.get(), s.name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!s.fd.ok()) return fail(n, errno);
  }
  if (fstat(s.fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) return fail(n, EPERM);
  BareGuard guard;  // before the symlink check: ordered with a HEAD placed (do_symlink)
  guard.engage();
  if (S_ISLNK(st.st_mode)) {  // a second name for a symlink: decided there as if made there
    std::string text;
    symlink_text(s.fd.get(), "", text);  // unreadable: decided as a link with no target
    if (symlink_at_refused(n, d, text) || git_dir_symlink_refused(n, d.real, text) || hooks_dir_moved(n, d.real)) return;
  }
  // A hard link must not give a denied file a new, allowed name. An unnamed source (the
  // caller's own O_TMPFILE, the only unlinked file the kernel lets be linked) needs to
  // be held writable.
  if (check_target(n, !s.unnamed, true, s) || check_access(n, false, true, d.real) || ipc_file_refused(n, d) ||
      device_entry_refused(n, d))
    return;
  // A second name for a config next to a HEAD would let it be written through that name.
  if (git_dir_refused(n, guard, d.parent.get(), d.real) || config_of_git_dir(n, guard, s, st)) return;
  reply(n, linkat(AT_FDCWD, ("/proc/self/fd/" + std::to_string(s.fd.get())).c_str(), d.parent.get(), d.name.c_str(),
                  AT_SYMLINK_FOLLOW));
}

// The components of `text` split at '/', empty ones and "." left out.
std::vector<std::string> components(const std::string& text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= text.size()) {
    const size_t j = std::min(text.find('/', i), text.size());
    std::string c = text.substr(i, j - i);
    if (!c.empty() && c != ".") out.push_back(std::move(c));
    i = j + 1;
  }
  return out;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string p;
  for (const auto& c : parts) p += "/" + c;
  return p.empty() ? "/" : p;
}

// `a/../b`, `ww/../..`: what the `..` climbs from is whatever the name before it is when the
// link is followed, and a symlink there can be re-pointed later (to a harmless directory one
// level below a protected file). Leading climbs (`../pkg/bin/x`) start from the link's own
// directory, which cannot change under it.
bool climbs_after_name(const std::string& text) {
  bool named = false;
  for (const auto& c : components(text)) {
    if (c != "..") named = true;
    else if (named) return true;
  }
  return false;
}

// Where a symlink's text leads a process that follows it later, whoever it is.
enum class Reach { kPlace, kProc, kLoop };

// Walks `text` from the link's directory `dir` (canonical) from "/", following every symlink by
// its text as the kernel does: never as the caller, whose /proc/self, /dev/fd/N and cwd are not
// a later follower's. Any step into procfs is kProc (/proc/self, /proc/<pid>/root, /dev/stdout,
// /etc/mtab lead there). `real`: the canonical path reached, a missing rest appended as text;
// `obj`: the object there when it exists.
Reach reach_of(const std::string& dir, const std::string& text, std::string& real, Fd& obj) {
  std::vector<std::string> at = text[0] == '/' ? std::vector<std::string>{} : components(dir);
  std::vector<std::string> todo = components(text);
  std::reverse(todo.begin(), todo.end());  // a stack: the next component last
  int links = 0;
  while (!todo.empty()) {
    std::string c = std::move(todo.back());
    todo.pop_back();
    if (c == "..") {
      if (!at.empty()) at.pop_back();
      continue;
    }
    at.push_back(std::move(c));
    Fd here(open(joined(at).c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st;
    if (!here.ok() || fstat(here.get(), &st) != 0) {  // missing or unreachable: the rest as text
      for (auto it = todo.rbegin(); it != todo.rend(); ++it) {
        if (*it != "..") at.push_back(*it);
        else if (!at.empty()) at.pop_back();
      }
      real = joined(at);
      return real == "/proc" || real.rfind("/proc/", 0) == 0 ? Reach::kProc : Reach::kPlace;
    }
    if (is_procfs(here.get())) return Reach::kProc;
    if (!S_ISLNK(st.st_mode)) continue;
    std::string next;
    if (++links > 40 || !symlink_text(here.get(), "", next) || next.empty()) return Reach::kLoop;
    at.pop_back();  // a relative text starts from the link's directory
    if (next[0] == '/') at.clear();
    const std::vector<std::string> more = components(next);
    todo.insert(todo.end(), more.rbegin(), more.rend());
  }
  real = joined(at);
  obj.reset(open(real.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  return Reach::kPlace;
}

// A floor: a place something outside runs or loads later (the persistence presets, ~/bin),
// by any policy of the chain.
bool is_floor(Notif& n, const std::string& real) {
  return chain_any(n, [&](const Policy& p) {
    const PathRule* win = nullptr;
    return !decide_path_rule(p.write, real, &win).allow && win && win->floor;
  });
}

// A compiled program (ELF): a line appended to it breaks it rather than running. A script
// (`#!`, or no magic: the shell runs it) runs whatever is appended.
bool is_elf(int fd) {
  Fd f(open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  char magic[4];
  return f.ok() && pread(f.get(), magic, sizeof magic, 0) == 4 && memcmp(magic, "\x7f" "ELF", 4) == 0;
}

// A virtual environment's interpreter link (`python`, `python3`, `python3.12` in a `bin` next to
// `pyvenv.cfg`, which venv writes first): `python3 -m venv` links it to the python it ran, which
// is a floor's (/usr/bin) whenever that is writable to you (root). Only interpreters run it.
bool venv_interpreter_link(const std::string& at) {
  const size_t slash = at.rfind('/');
  const std::string name = at.substr(slash + 1), bin = at.substr(0, slash);
  const bool python = name == "python" || name == "python3" ||
                      (name.rfind("python3.", 0) == 0 && name.size() > 8 && name.find_first_not_of("0123456789", 8) == std::string::npos);
  if (!python || bin.size() < 4 || bin.compare(bin.size() - 4, 4, "/bin") != 0) return false;
  struct stat st;
  return stat((bin.substr(0, bin.size() - 4) + "/pyvenv.cfg").c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// A link to a program file (a venv's bin/python -> ~/.pyenv/versions/3.12/bin/python3.12) is run
// through, not written through — but not where git outside writes through names (reflogs,
// COMMIT_EDITMSG), not to a script (a line appended to it runs), and not to a floor's program
// (replaced with text by a writer through the link, the shell would run that text) but as a
// venv's interpreter.
bool program_link_ok(Notif& n, const std::string& at, const std::string& real, int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) && !in_git_dir(at) && is_elf(fd) &&
         (!is_floor(n, real) || venv_interpreter_link(at));
}

// A symlink is followed by whatever opens it later, a tool outside too: one to a place the
// sandbox may not write (~/.bashrc behind ~/.bash_history, where readline saves the history
// through the link) would make that tool write there for it. Refused when its target is
// write-denied and exists writable to this user — but for a program file — or does not
// exist yet (the tool would create it). The target is the one any process reaches
// (reach_of), never through /proc, and never through a `..` after a name.
bool link_target_refused(Notif& n, const Target& d, const std::string& text) {
  const size_t slash = d.real.rfind('/');
  const std::string dir = slash == 0 ? "/" : d.real.substr(0, slash);
  const std::string link = d.real + " -> " + text;
  std::string real;
  Fd obj;
  switch (reach_of(dir, text, real, obj)) {
    case Reach::kProc:
      return refuse(n, Decision{false, -2}, "write", link + " (goes through /proc: every process that follows it reaches its own files there)", EACCES);
    case Reach::kLoop:
      return refuse(n, Decision{false, -2}, "write", link + " (a symlink loop or an unreadable link on its way: where it leads cannot be told)", EACCES);
    case Reach::kPlace:
      break;
  }
  if (climbs_after_name(text))
    return refuse(n, Decision{false, -2}, "write", link + " (a `..` after a name: it climbs from wherever that name is re-pointed)", EACCES);
  // A directory with protected places below it (`/home`, the home, `~/.config`): another link
  // made earlier through the name of this one (`.git/logs/HEAD -> /tmp/x/L/u/.bash_aliases`,
  // then `L -> /home`) would lead there, and a tool outside would write through it.
  struct stat tst;
  if (obj.ok() && fstat(obj.get(), &tst) == 0 && S_ISDIR(tst.st_mode)) {
    const Decision below = deny_below(n, real);
    if (!below.allow) return refuse(n, below, "write", d.real + " -> " + real + " (a directory with protected places below)", EACCES);
  }
  const Decision w = decide_all(n, [&](const Policy& p) { return decide_path(p.write, real); });
  if (w.allow) return false;
  if (obj.ok()) {
    if (program_link_ok(n, d.real, real, obj.get())) return false;
    if (faccessat(AT_FDCWD, ("/proc/self/fd/" + std::to_string(obj.get())).c_str(), W_OK, AT_EACCESS) != 0) return false;
  }
  return refuse(n, w, "write", d.real + " -> " + real, EACCES);
}

void do_symlink(Notif& n, uint64_t tp, int nfd, uint64_t np) {
  std::string target_text;
  int e = read_path(n, tp, target_text);
  if (e < 0) return fail(n, -e);
  Target d;
  if (!operand(n, nfd, np, false, false, d)) return;
  if (target_text.empty()) return fail(n, ENOENT);
  // Opening through the link is decided on its target; what a tool outside would do through
  // it, here (link_target_refused).
  if (check_access(n, false, true, d.real) || ipc_file_refused(n, d) || deny_below_refused(n, d) ||
      device_entry_refused(n, d) || symlink_at_refused(n, d, target_text))
    return;
  // Engaged for every symlink: a HEAD placed above it meanwhile (bare_place_reason walks for
  // symlinks under the same lock) and this check are ordered, within this process.
  BareGuard guard;
  guard.engage();
  if (bare_relevant(d.real) && git_dir_refused(n, guard, d.parent.get(), d.real)) return;
  if (git_dir_symlink_refused(n, d.real, target_text)) return;
  // A symlink where a directory above a hooks directory would be leads git there (hooks_path.h).
  if (hooks_dir_moved(n, d.real)) return;
  reply(n, made(n, d, symlinkat(target_text.c_str(), d.parent.get(), d.name.c_str()), false));
}

void do_chmod(Notif& n, int dirfd, uint64_t pathp, mode_t mode, int flags) {
  Target t;
  if (!operand(n, dirfd, pathp, !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH, t)) return;
  if (!git_config_chmod_ok(n, t, mode) && check_target(n, false, true, t)) return;
  BareGuard guard;
  if (git_dir_change_refused(n, guard, t, true)) return;
  if (t.fd.ok()) return void(reply(n, syscall(SYS_fchmodat2, t.fd.get(), "", mode, AT_EMPTY_PATH)));
  reply(n, syscall(SYS_fchmodat2, t.parent.get(), t.name.c_str(), mode, AT_SYMLINK_NOFOLLOW));
}

void do_chown(Notif& n, int dirfd, uint64_t pathp, uid_t uid, gid_t gid, int flags) {
  Target t;
  if (!operand(n, dirfd, pathp, !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH, t)) return;
  if (check_target(n, false, true, t)) return;
  if (t.fd.ok()) return void(reply(n, fchownat(t.fd.get(), "", uid, gid, AT_EMPTY_PATH)));
  reply(n, fchownat(t.parent.get(), t.name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW));
}

// The legacy forms (x86_64 only): -1 where the architecture lacks them.
#ifdef __NR_utime
constexpr int kUtime = __NR_utime;
#else
constexpr int kUtime = -1;
#endif
#ifdef __NR_utimes
constexpr int kUtimes = __NR_utimes;
#else
constexpr int kUtimes = -1;
#endif

// utimes, utime, futimesat (timevals / utimbuf) and utimensat (timespecs).
void do_utimes(Notif& n) {
  const auto& a = n.req.data.args;
  const int nr = n.req.data.nr;
  timespec ts[2];
  timespec* tsp = nullptr;
  int dirfd = AT_FDCWD, flags = 0;
  uint64_t pathp = a[0], tp = a[1];
  if (nr != kUtimes && nr != kUtime) dirfd = static_cast<int>(a[0]), pathp = a[1], tp = a[2];
  if (nr == SYS_utimensat) flags = static_cast<int>(a[3]);
  if (tp) {
    int e = 0;
    if (nr == SYS_utimensat) {
      e = read_mem(n.caller.tid, tp, ts, sizeof ts);
    } else if (nr == kUtime) {
      utimbuf ub;
      e = read_mem(n.caller.tid, tp, &ub, sizeof ub);
      ts[0] = {ub.actime, 0}, ts[1] = {ub.modtime, 0};
    } else {
      timeval tv[2];
      e = read_mem(n.caller.tid, tp, tv, sizeof tv);
      ts[0] = {tv[0].tv_sec, tv[0].tv_usec * 1000}, ts[1] = {tv[1].tv_sec, tv[1].tv_usec * 1000};
    }
    if (e < 0) return fail(n, EFAULT);
    tsp = ts;
  }
  // utimensat(fd, NULL, ...) is futimens: the fd itself.
  const bool fd_only = nr == SYS_utimensat && pathp == 0;
  Target t;
  if (!operand(n, dirfd, pathp, !(flags & AT_SYMLINK_NOFOLLOW), fd_only || (flags & AT_EMPTY_PATH), t)) return;
  if (check_target(n, false, true, t)) return;
  if (t.fd.ok()) return void(reply(n, utimensat(AT_FDCWD, t.op.c_str(), tsp, 0)));
  reply(n, utimensat(t.parent.get(), t.name.c_str(), tsp, AT_SYMLINK_NOFOLLOW));
}

void do_xattr(Notif& n, bool set, bool follow) {
  const auto& a = n.req.data.args;
  std::string name;
  int e = read_string(n.caller.tid, a[1], name, 255);
  if (e < 0) return fail(n, e == -ENAMETOOLONG ? ERANGE : -e);
  std::string value;
  if (set) {
    if (a[3] > 65536) return fail(n, E2BIG);
    value.resize(a[3]);
    if (a[3] && read_mem(n.caller.tid, a[2], &value[0], a[3]) < 0) return fail(n, EFAULT);
  }
  Target t;
  if (!operand(n, AT_FDCWD, a[0], follow, false, t)) return;
  if (check_target(n, false, true, t)) return;
  if (set)
    reply(n, follow ? setxattr(t.op.c_str(), name.c_str(), value.data(), value.size(), static_cast<int>(a[4]))
                    : lsetxattr(t.op.c_str(), name.c_str(), value.data(), value.size(), static_cast<int>(a[4])));
  else
    reply(n, follow ? removexattr(t.op.c_str(), name.c_str()) : lremovexattr(t.op.c_str(), name.c_str()));
}

}  // namespace

static bool changes_names(int nr) {
  switch (nr) {
#ifdef __NR_mkdir
    case SYS_mkdir:
#endif
#ifdef __NR_mknod
    case SYS_mknod:
#endif
#ifdef __NR_unlink
    case SYS_unlink:
#endif
#ifdef __NR_rmdir
    case SYS_rmdir:
#endif
#ifdef __NR_rename
    case SYS_rename:
#endif
#ifdef __NR_link
    case SYS_link:
#endif
#ifdef __NR_symlink
    case SYS_symlink:
#endif
    case SYS_mkdirat:
    case SYS_mknodat:
    case SYS_unlinkat:
    case SYS_renameat:
    case SYS_renameat2:
    case SYS_linkat:
    case SYS_symlinkat:
      return true;
    default:
      return false;
  }
}

void handle_fs(Notif& n) {
  const auto& a = n.req.data.args;
  auto i = [](uint64_t v) { return static_cast<int>(v); };
  std::unique_lock<std::mutex> names(names_mu(), std::defer_lock);
  if (changes_names(n.req.data.nr)) names.lock();
  switch (n.req.data.nr) {
    case SYS_truncate: return do_truncate(n);
#ifdef __NR_mkdir
    case SYS_mkdir: return do_mkdir_mknod(n, AT_FDCWD, a[0], static_cast<mode_t>(a[1]), 0, true);
#endif
    case SYS_mkdirat: return do_mkdir_mknod(n, i(a[0]), a[1], static_cast<mode_t>(a[2]), 0, true);
#ifdef __NR_mknod
    case SYS_mknod: return do_mkdir_mknod(n, AT_FDCWD, a[0], static_cast<mode_t>(a[1]), a[2], false);
#endif
    case SYS_mknodat: return do_mkdir_mknod(n, i(a[0]), a[1], static_cast<mode_t>(a[2]), a[3], false);
#ifdef __NR_unlink
    case SYS_unlink: return do_unlink(n, AT_FDCWD, a[0], 0);
#endif
#ifdef __NR_rmdir
    case SYS_rmdir: return do_unlink(n, AT_FDCWD, a[0], AT_REMOVEDIR);
#endif
    case SYS_unlinkat:
      if (a[2] & ~static_cast<uint64_t>(AT_REMOVEDIR)) return fail(n, EINVAL);
      return do_unlink(n, i(a[0]), a[1], i(a[2]));
#ifdef __NR_rename
    case SYS_rename: return do_rename(n, AT_FDCWD, a[0], AT_FDCWD, a[1], 0);
#endif
    case SYS_renameat: return do_rename(n, i(a[0]), a[1], i(a[2]), a[3], 0);
    case SYS_renameat2: return do_rename(n, i(a[0]), a[1], i(a[2]), a[3], static_cast<unsigned>(a[4]));
#ifdef __NR_link
    case SYS_link: return do_link(n, AT_FDCWD, a[0], AT_FDCWD, a[1], 0);
#endif
    case SYS_linkat: return do_link(n, i(a[0]), a[1], i(a[2]), a[3], i(a[4]));
#ifdef __NR_symlink
    case SYS_symlink: return do_symlink(n, a[0], AT_FDCWD, a[1]);
#endif
    case SYS_symlinkat: return do_symlink(n, a[0], i(a[1]), a[2]);
#ifdef __NR_chmod
    case SYS_chmod: return do_chmod(n, AT_FDCWD, a[0], static_cast<mode_t>(a[1]), 0);
#endif
    case SYS_fchmodat: return do_chmod(n, i(a[0]), a[1], static_cast<mode_t>(a[2]), 0);
    case SYS_fchmodat2:
      if (a[3] & ~static_cast<uint64_t>(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return fail(n, EINVAL);
      return do_chmod(n, i(a[0]), a[1], static_cast<mode_t>(a[2]), i(a[3]));
#ifdef __NR_chown
    case SYS_chown: return do_chown(n, AT_FDCWD, a[0], static_cast<uid_t>(a[1]), static_cast<gid_t>(a[2]), 0);
#endif
#ifdef __NR_lchown
    case SYS_lchown:
      return do_chown(n, AT_FDCWD, a[0], static_cast<uid_t>(a[1]), static_cast<gid_t>(a[2]), AT_SYMLINK_NOFOLLOW);
#endif
    case SYS_fchownat:
      if (a[4] & ~static_cast<uint64_t>(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return fail(n, EINVAL);
      return do_chown(n, i(a[0]), a[1], static_cast<uid_t>(a[2]), static_cast<gid_t>(a[3]), i(a[4]));
#ifdef __NR_utimes
    case SYS_utimes:
#endif
#ifdef __NR_utime
    case SYS_utime:
#endif
#ifdef __NR_futimesat
    case SYS_futimesat:
#endif
    case SYS_utimensat: return do_utimes(n);
    case SYS_setxattr: return do_xattr(n, true, true);
    case SYS_lsetxattr: return do_xattr(n, true, false);
    case SYS_removexattr: return do_xattr(n, false, true);
    case SYS_lremovexattr: return do_xattr(n, false, false);
  }
  fail(n, ENOSYS);
}

}  // namespace sbx
