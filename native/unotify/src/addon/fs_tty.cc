// See fs_tty.h. Identity, not names: a pty is proven ours by its live slave inode (devpts
// reuses an index, and with it the inode number, as soon as a pty is freed), a terminal
// the caller holds by the inode its fd is open on, the controlling terminal by the device
// number the kernel reports for the caller. Every proof is checked again after our open,
// so an index freed and handed to another terminal in between is caught.
#include "fs_tty.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace sbx {

namespace {

constexpr unsigned kPtsMajorFirst = 136, kPtsMajorLast = 143;  // UNIX98_PTY_SLAVE_MAJOR + 7
constexpr unsigned kTtyMajor = 4, kTtyAuxMajor = 5;

bool is_pts(dev_t rdev) { return major(rdev) >= kPtsMajorFirst && major(rdev) <= kPtsMajorLast; }
int pts_index(dev_t rdev) { return static_cast<int>((major(rdev) - kPtsMajorFirst) * 256 + minor(rdev)); }
bool is_ptmx(dev_t rdev) { return major(rdev) == kTtyAuxMajor && minor(rdev) == 2; }
// Terminals that belong to someone's session: ptys, virtual consoles (tty0–tty63), the console.
bool is_terminal(dev_t rdev) {
  return is_pts(rdev) || (major(rdev) == kTtyMajor && minor(rdev) < 64) ||
         (major(rdev) == kTtyAuxMajor && minor(rdev) == 1);
}

// The same terminal: the same device, and for a pty the same live slave of the same devpts
// (a freed pty's inode has no link left; its number comes back with the next pty).
bool same_terminal(const struct stat& a, const struct stat& b) {
  if (!S_ISCHR(a.st_mode) || a.st_rdev != b.st_rdev) return false;
  if (!is_pts(a.st_rdev)) return true;
  return a.st_dev == b.st_dev && a.st_nlink > 0 && b.st_nlink > 0;
}

// The caller's controlling terminal.
bool is_ctty(const Notif& n, const struct stat& st) {
  const dev_t tty = ctty_of(n.caller.tid, nullptr);
  return tty != 0 && st.st_rdev == tty && (!is_pts(st.st_rdev) || st.st_nlink > 0);
}

// Does task `tid` hold an fd whose object `match`es? Its /proc link text goes to *link.
template <class F>
bool holds_fd(int tid, F match, std::string* link = nullptr) {
  Fd dir(open(("/proc/" + std::to_string(tid) + "/fd").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.ok()) return false;
  DIR* d = fdopendir(dir.release());
  if (!d) return false;
  bool found = false;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    struct stat held;
    if (fstatat(dirfd(d), e->d_name, &held, 0) != 0 || !match(held)) continue;
    found = true;
    if (link) {
      char text[512];
      ssize_t len = readlinkat(dirfd(d), e->d_name, text, sizeof text - 1);
      *link = len > 0 ? std::string(text, static_cast<size_t>(len)) : "a terminal";
    }
    break;
  }
  closedir(d);
  return found;
}

// Does the caller already hold an fd on this terminal (stdio inherited, then setsid;
// /dev/stdin reopened)? Reopening it gains nothing.
bool holds(const Notif& n, const struct stat& st) {
  return holds_fd(n.caller.tid, [&](const struct stat& held) { return same_terminal(held, st); });
}

// May the caller open this terminal (`fd`: the resolved object)?
bool may_open(Notif& n, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return false;
  if (is_pts(st.st_rdev) && st.st_nlink == 0) return false;  // freed: nobody's any more
  if (is_pts(st.st_rdev) && n.core->ptys().owns(pts_index(st.st_rdev), st.st_dev, st.st_ino)) return true;
  // The session's command has ended: a terminal from outside is nobody's inside any more
  // (what the sandbox left could otherwise take back the terminal you type at next).
  if (n.core->terminals_released()) return false;
  if (is_ctty(n, st)) return true;
  return holds(n, st);
}


}  // namespace

dev_t ctty_of(int tid, std::string* name) {
  std::string s;
  if (!read_file("/proc/" + std::to_string(tid) + "/stat", s, 4096)) return 0;
  // fields after ')': state ppid pgrp session tty_nr (new_encode_dev form)
  size_t p = s.rfind(')');
  unsigned long tty = 0;
  char state = 0;
  if (p == std::string::npos || sscanf(s.c_str() + p + 1, " %c %*d %*d %*d %lu", &state, &tty) != 2 || tty == 0) return 0;
  if (state == 'Z' || state == 'X') return 0;  // dead: it uses no terminal any more
  const dev_t dev = makedev((tty >> 8) & 0xfff, (tty & 0xff) | ((tty >> 12) & 0xfff00));
  if (name) {
    if (is_pts(dev))
      *name = "/dev/pts/" + std::to_string(pts_index(dev));
    else if (major(dev) == kTtyMajor && minor(dev) < 64)
      *name = "/dev/tty" + std::to_string(minor(dev));
    else if (major(dev) == kTtyAuxMajor && minor(dev) == 1)
      *name = "/dev/console";
    else
      name->clear();
  }
  return dev;
}

bool outside_terminal(Core& core, const struct stat& st) {
  return S_ISCHR(st.st_mode) && is_terminal(st.st_rdev) &&
         !(is_pts(st.st_rdev) && core.ptys().owns(pts_index(st.st_rdev), st.st_dev, st.st_ino));
}

bool terminal_alive(const struct stat& st) { return !is_pts(st.st_rdev) || st.st_nlink > 0; }

bool is_pty(const struct stat& st) { return is_pts(st.st_rdev); }

std::string outside_terminal_held(Core& core, int pid) {
  std::string link;
  const auto outside = [&](const struct stat& st) { return outside_terminal(core, st); };
  return holds_fd(pid, outside, &link) ? link : "";
}

// /dev/tty: the caller's controlling terminal, opened by us. After the session's command
// ended, only a pty the session allocated itself.
void open_ctty(Notif& n, int oflags, bool cloexec) {
  std::string name;
  ctty_of(n.caller.tid, &name);
  if (name.empty()) return void(reply_error(n.listener(), n.req.id, ENXIO));
  int fd = open(name.c_str(), oflags);
  if (fd < 0) return void(reply_error(n.listener(), n.req.id, errno));
  struct stat st;
  if (n.core->terminals_released() && (fstat(fd, &st) != 0 || outside_terminal(*n.core, st))) {
    close(fd);
    if (!n.valid()) return;
    return void(refuse(n, Decision{false, -2}, "tty", "/dev/tty (" + name + ", after the sandbox's command ended)", EACCES));
  }
  reply_fd(n.listener(), n.req.id, fd, cloexec);
}

void PtyTable::add(int index, Fd slave) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ptys_.size() >= 64) sweep_locked();
  ptys_[index] = std::move(slave);
}

bool PtyTable::owns(int index, dev_t dev, ino_t ino) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = ptys_.find(index);
  if (it == ptys_.end()) return false;
  struct stat st;
  if (fstat(it->second.get(), &st) != 0 || st.st_nlink == 0) {
    ptys_.erase(it);
    return false;
  }
  return st.st_dev == dev && st.st_ino == ino;
}

size_t PtyTable::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return ptys_.size();
}

void PtyTable::sweep_locked() {
  for (auto it = ptys_.begin(); it != ptys_.end();) {
    struct stat st;
    if (fstat(it->second.get(), &st) != 0 || st.st_nlink == 0)
      it = ptys_.erase(it);
    else
      ++it;
  }
}

// ioctl(fd, TIOCSCTTY, non-zero): the kernel steals the terminal from the session that has
// it only for a caller with CAP_SYS_ADMIN; for anyone else the argument means nothing
// (util-linux script, su --pty and agetty pass 1 on a fresh pty). The filter traps the
// non-zero form; the calling thread's capabilities cannot grow while it waits (threads
// have their own credentials, and no_new_privs), so deciding on them is race-free.
void handle_tiocsctty(Notif& n) {
  std::string s;
  bool capable = true;  // unreadable: assume the worst
  if (read_file("/proc/" + std::to_string(n.caller.tid) + "/status", s, 8192)) {
    size_t p = s.find("\nCapEff:");
    if (p != std::string::npos) capable = (strtoull(s.c_str() + p + 8, nullptr, 16) >> 21) & 1;  // CAP_SYS_ADMIN
  }
  if (!n.valid()) return;
  if (capable && refuse(n, Decision{false, -2}, "tty", "TIOCSCTTY steal", EPERM)) return;
  reply_continue(n.listener(), n.req.id);
}

// ioctl(fd, TIOCSPGRP): which process group of its session the terminal listens to. A
// background job that ignores SIGTTOU may take the foreground from the shell that started it
// and read what is typed to that shell (a password for sudo). Allowed on a terminal whose
// session a process of this sandbox leads (a session's own shell: the hook's terminal,
// tmux or script inside), whose groups are all the sandbox's; on one a shell outside leads
// (`sbx exec`, `zsh -i` typed there), only while the foreground is a group the caller may
// signal (the sandbox's job has the terminal: its own job control). Decided on the caller's
// session and foreground, not on the group in its memory: let through, the kernel keeps the
// target in that session. (The foreground handed back to the shell outside in the
// microseconds between the decision and the call is not seen.)
void handle_tiocspgrp(Notif& n) {
  int leader = -1, fg = -1;
  bool ours = proc_session_tty(n.caller.tgid, &leader, &fg) && leader > 0 &&
              (leader == n.caller.tgid || n.core->procs().member_policy(leader) >= 0);
  if (!ours) ours = fg > 0 && may_act_on_group(n, fg);
  if (!n.valid()) return;
  if (!ours && refuse(n, Decision{false, -2}, "tty", "foreground of a terminal a shell outside the sandbox leads and has (TIOCSPGRP)", EPERM)) return;
  reply_continue(n.listener(), n.req.id);
}

bool open_terminal(Notif& n, int fd, const struct stat& st, int oflags, bool cloexec) {
  if (is_ptmx(st.st_rdev)) {
    // A new pty for the session: remember it by its slave, so the session may open it.
    int master = reopen_fd(fd, oflags);
    if (master < 0) return reply_fd(n.listener(), n.req.id, -errno, cloexec), true;
    int index = -1;
    if (ioctl(master, TIOCGPTN, &index) == 0) {
      Fd slave(ioctl(master, TIOCGPTPEER, O_PATH | O_CLOEXEC));
      if (slave.ok()) n.core->ptys().add(index, std::move(slave));
    }
    return reply_fd(n.listener(), n.req.id, master, cloexec), true;
  }
  if (!is_terminal(st.st_rdev)) return false;
  const std::string path = fd_path(fd);
  if (!may_open(n, fd)) {
    if (!n.valid()) return true;
    return refuse(n, Decision{false, -2}, "tty", path, EACCES), true;
  }
  int opened = reopen_fd(fd, oflags);
  if (opened < 0) return reply_fd(n.listener(), n.req.id, -errno, cloexec), true;
  // Still ours after the open (a pty freed and its index reused in between fails here).
  if (!may_open(n, fd) || !n.valid()) {
    close(opened);
    if (!n.valid()) return true;
    return refuse(n, Decision{false, -2}, "tty", path, EACCES), true;
  }
  return reply_fd(n.listener(), n.req.id, opened, cloexec), true;
}

}  // namespace sbx
