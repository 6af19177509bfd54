#include "terminal_release.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <string>

#include "engine.h"
#include "fs_tty.h"

namespace sbx {

namespace {

// How long kill passes go on. While members keep turning up (killed now, or met exited for the
// first time: a process that forks and exits to move to a new pid is met again by the next
// pass) they go on for up to kMembersBudgetMs: the passes compete for the CPU with the movers,
// and stopping early leaves one running at your terminal. Processes of the machine that vanish
// mid-pass (perhaps a member that moved, perhaps anything else exiting) keep them going for
// kChurnBudgetMs only, so that a busy machine does not hold the end of every command.
constexpr double kMembersBudgetMs = 10000;
constexpr double kChurnBudgetMs = 1000;

void report_kill(Core& core, int pid, const std::string& program, const std::string& target) {
  Event e;
  e.time = now_ms();
  e.kind = "deny";
  e.rule = -2;
  e.pid = pid;
  e.program = program;
  e.syscall = "(session end)";
  e.op = "tty";
  e.target = target;
  e.err = EPERM;
  core.emit(std::move(e));
}

}  // namespace

void SessionTerminals::record(Core& core, int pid, int pidfd) {
  std::vector<Fd> seen;
  const std::string proc = "/proc/" + std::to_string(pid);
  for (int i = 0; i < 3; i++) seen.emplace_back(open((proc + "/fd/" + std::to_string(i)).c_str(), O_PATH | O_CLOEXEC));
  std::string name;
  const dev_t ctty = ctty_of(pid, &name);
  if (ctty && !name.empty()) {
    Fd fd(open(name.c_str(), O_PATH | O_CLOEXEC | O_NOFOLLOW));
    struct stat st;
    if (fd.ok() && fstat(fd.get(), &st) == 0 && st.st_rdev == ctty) seen.push_back(std::move(fd));
  }
  // Read while the pidfd's process was alive: it was `pid` all along (a pid is not reused
  // while its process lives). Otherwise nothing is recorded (used_outside() says why).
  if (pidfd_alive(pidfd)) keep(core, std::move(seen));
}

void SessionTerminals::record_given(Core& core, const std::vector<int>& fds) {
  std::vector<Fd> given;
  for (int fd : fds) given.emplace_back(fcntl(fd, F_DUPFD_CLOEXEC, 3));
  keep(core, std::move(given));
}

void SessionTerminals::keep(Core& core, std::vector<Fd> fds) {
  std::vector<Fd> found;
  for (Fd& fd : fds) {
    struct stat st;
    if (!fd.ok() || fstat(fd.get(), &st) != 0 || !outside_terminal(core, st)) continue;
    const bool again = std::any_of(found.begin(), found.end(), [&](const Fd& f) {
      struct stat was;
      return fstat(f.get(), &was) == 0 && was.st_rdev == st.st_rdev && was.st_ino == st.st_ino;
    });
    if (!again) found.push_back(std::move(fd));
  }
  std::lock_guard<std::mutex> g(mu_);
  recorded_ = true;
  ttys_ = std::move(found);
}

bool SessionTerminals::used_outside(Core& core, std::string* name) {
  *name = "your terminal";
  std::vector<dev_t> ptys;
  {
    std::lock_guard<std::mutex> g(mu_);
    // Nothing recorded: the root was gone before this engine watched it and its keeper sent
    // no record (one older than that record). Killing everything then would kill a hook
    // terminal's nohup jobs at every supervisor upgrade; the holders are still killed, and no
    // terminal opens.
    if (!recorded_) return false;
    for (const Fd& f : ttys_) {
      struct stat st;
      if (fstat(f.get(), &st) != 0 || !terminal_alive(st)) continue;
      *name = fd_path(f.get());
      if (!is_pty(st)) return true;  // a console: a login prompt comes next
      ptys.push_back(st.st_rdev);
    }
  }
  if (ptys.empty()) return false;
  // A process outside the session with that pty as its controlling terminal.
  bool used = false;
  const bool read = for_each_pid([&](int pid) {
    if (core.is_protected(pid)) return true;
    const dev_t tty = ctty_of(pid, nullptr);
    if (tty && std::find(ptys.begin(), ptys.end(), tty) != ptys.end()) used = core.procs().member_policy(pid) < 0;
    return !used;
  });
  return used || !read;
}

namespace {

// Holders only (nothing uses the terminal from outside any more): one scan.
int kill_holders(Core& core) {
  int killed = 0;
  // Members only, by their tag: sbx's own processes carry none. (Not "protected" pids: that
  // list names sbx's processes by pid, and a member can take such a pid once its process is gone.)
  for (int pid : core.procs().members_now()) {
    Fd pidfd = core.procs().pin_member(pid);
    if (!pidfd.ok() || !pidfd_alive(pidfd.get())) continue;  // gone, a zombie, or the pid reused
    const std::string held = outside_terminal_held(core, pid);
    if (held.empty() || syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0) != 0) continue;
    report_kill(core, pid, program_of(pid), held + " (held after the sandbox's command ended: killed)");
    killed++;
  }
  return killed;
}

// One pass over /proc in pid order, killing each member the moment it is pinned: nothing is
// read about a process before its kill (a slow look at one, say at thousands of fds, would let
// another move on), and the pidfd is taken first, so the kill reaches the process that was
// listed. A child forked before its parent's kill has a higher pid (found later in the same
// pass) or is found by the next. Counts the members killed now or met exited for the first
// time, and the entries that vanished before they could be pinned: none of either means no
// member was alive and unkilled through the whole pass, and none had just moved on.
struct PassCounts {
  int members = 0;
  int vanished = 0;
};
PassCounts kill_pass(Core& core, std::map<int, Fd>& signalled, std::map<int, Fd>& exited, const std::string& terminal) {
  PassCounts moving;
  for_each_pid([&](int pid) {
    auto was = signalled.find(pid);
    if (was != signalled.end() && pidfd_alive(was->second.get())) return true;  // dying already
    Fd pidfd(sys_pidfd_open(pid, 0));
    if (!pidfd.ok()) {
      if (errno == ESRCH) moving.vanished++;  // gone between the listing and the pin: perhaps a member that moved on
      return true;
    }
    if (core.procs().member_policy(pid) < 0) return true;  // by tag, as kill_holders
    if (!pidfd_alive(pidfd.get())) {
      // Exited after its last fork, perhaps: its child is met later. Counted once: a zombie
      // nobody reaps (its parent a subreaper busy elsewhere) would otherwise keep the passes going.
      if (exited.emplace(pid, std::move(pidfd)).second) moving.members++;
      return true;
    }
    if (syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0) != 0) return true;
    report_kill(core, pid, program_of(pid), terminal + " (left running after the sandbox's command ended, this terminal still open: killed)");
    signalled[pid] = std::move(pidfd);
    moving.members++;
    return true;
  });
  return moving;
}

// Everything (the terminal is still used from outside): passes until one meets no member
// alive and unkilled and nothing vanished under it, within the budgets above. A member still
// alive after them (one that kept moving faster than the passes) is reported, so the person at
// the terminal learns that something the sandbox left may still read it.
int kill_everything(Core& core, const std::string& terminal) {
  std::map<int, Fd> signalled;  // pid → the pidfd it was killed through (dying, not yet reaped)
  std::map<int, Fd> exited;     // members met already exited (zombies), each counted once
  const double start = now_ms();
  for (;;) {
    const PassCounts c = kill_pass(core, signalled, exited, terminal);
    const double spent = now_ms() - start;
    if (c.members > 0 ? spent >= kMembersBudgetMs : (c.vanished == 0 || spent >= kChurnBudgetMs)) break;
  }
  int left = 0;
  for (int pid : core.procs().members_now()) {
    auto was = signalled.find(pid);
    if (was != signalled.end() && pidfd_alive(was->second.get())) continue;  // dying
    Fd pidfd = core.procs().pin_member(pid);
    if (pidfd.ok() && pidfd_alive(pidfd.get())) left++;
  }
  if (left > 0)
    report_kill(core, 0, "", terminal + " (" + std::to_string(left) + " process" + (left == 1 ? "" : "es") +
                                 " the sandbox left kept moving to new pids and may still be running: close this terminal)");
  return static_cast<int>(signalled.size());
}

}  // namespace

int release_terminals(Core& core) {
  std::string terminal;
  return core.terminals().used_outside(core, &terminal) ? kill_everything(core, terminal) : kill_holders(core);
}

}  // namespace sbx
