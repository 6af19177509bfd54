// Terminals through the open family: another terminal's pty (or virtual console) is out
// of reach — reading it steals keystrokes typed there, writing it forges output, and
// TIOCSCTTY could take it over. Allowed: the caller's controlling terminal, a terminal
// the caller already holds an fd on, and ptys this session allocated itself.
#pragma once
#include <sys/stat.h>

#include <mutex>
#include <string>
#include <unordered_map>

#include "sys.h"

namespace sbx {

struct Notif;

// The ptys a session allocated (its /dev/ptmx opens, emulated by the engine): pty index →
// an O_PATH fd on that pty's slave (TIOCGPTPEER), held while the pty lives. devpts drops
// the slave's link count to 0 when the pty is freed, so a held entry whose count is still
// 1 proves the index was never handed to anyone else since we recorded it.
class PtyTable {
 public:
  void add(int index, Fd slave);
  // Is (dev, ino) the live slave of a pty recorded under `index`? Forgets freed ones.
  bool owns(int index, dev_t dev, ino_t ino);
  size_t size();

 private:
  void sweep_locked();
  std::mutex mu_;
  std::unordered_map<int, Fd> ptys_;
};

// Called by handle_open for a character device the caller's open reached (`fd` is the
// resolved object, `st` its stat). Returns true when it answered the notification
// (refused, or opened and injected); false: not a terminal it decides, go on.
bool open_terminal(Notif& n, int fd, const struct stat& st, int oflags, bool cloexec);

// ioctl(TIOCSCTTY) with a non-zero argument (the filter traps only that form).
void handle_tiocsctty(Notif& n);
void handle_tiocspgrp(Notif& n);  // the terminal's foreground group

// /dev/tty (handle_open): the caller's controlling terminal, opened and injected; refused
// once the session's command has ended unless it is a pty the session allocated.
void open_ctty(Notif& n, int oflags, bool cloexec);

class Core;
// A terminal from outside the session: a pty the session did not allocate, a virtual
// console, the console.
bool outside_terminal(Core& core, const struct stat& st);
// Still someone's terminal: a pty not freed (devpts unlinks a freed pty's slave), or a console.
bool terminal_alive(const struct stat& st);
// A pty's slave (not a virtual console or the console).
bool is_pty(const struct stat& st);
// The first terminal from outside the session process `pid` holds an fd on: its path, or ""
// (terminal_release.h).
std::string outside_terminal_held(Core& core, int pid);
// Task `tid`'s controlling terminal: its device (0: none) and, in *name (when given), its
// name under /dev ("" for a device that is not a terminal sbx decides).
dev_t ctty_of(int tid, std::string* name);

}  // namespace sbx
