#include "terminal_release.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <string>

#include "engine.h"
#include "fs_tty.h"

namespace sbx {

namespace {

// Rounds of scan-and-kill: each finds the children forked before the last round's kills.
constexpr int kMaxRounds = 64;

void report_kill(Core& core, int pid, const std::string& target) {
  Event e;
  e.time = now_ms();
  e.kind = "deny";
  e.rule = -2;
  e.pid = pid;
  e.program = program_of(pid);
  e.syscall = "(session end)";
  e.op = "tty";
  e.target = target;
  e.err = EPERM;
  core.emit(std::move(e));
}

}  // namespace

void SessionTerminals::record(Core& core, int pid, int pidfd) {
  std::vector<Fd> found;
  auto keep = [&](Fd fd) {
    struct stat st;
    if (!fd.ok() || fstat(fd.get(), &st) != 0 || !outside_terminal(core, st)) return;
    for (const Fd& f : found) {
      struct stat seen;
      if (fstat(f.get(), &seen) == 0 && seen.st_rdev == st.st_rdev && seen.st_ino == st.st_ino) return;
    }
    found.push_back(std::move(fd));
  };
  const std::string proc = "/proc/" + std::to_string(pid);
  for (int i = 0; i < 3; i++) keep(Fd(open((proc + "/fd/" + std::to_string(i)).c_str(), O_PATH | O_CLOEXEC)));
  std::string name;
  const dev_t ctty = ctty_of(pid, &name);
  if (ctty && !name.empty()) {
    Fd fd(open(name.c_str(), O_PATH | O_CLOEXEC | O_NOFOLLOW));
    struct stat st;
    if (fd.ok() && fstat(fd.get(), &st) == 0 && st.st_rdev == ctty) keep(std::move(fd));
  }
  // Read while the pidfd's process was alive: it was `pid` all along (a pid is not reused
  // while its process lives). Otherwise nothing is recorded, and used_outside() assumes the worst.
  if (!pidfd_alive(pidfd)) return;
  std::lock_guard<std::mutex> g(mu_);
  recorded_ = true;
  ttys_ = std::move(found);
}

bool SessionTerminals::used_outside(Core& core, std::string* name) {
  *name = "your terminal";
  std::vector<dev_t> ptys;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (!recorded_) return true;
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
  DIR* d = opendir("/proc");
  if (!d) return true;
  bool used = false;
  while (!used) {
    dirent* e = readdir(d);
    if (!e) break;
    char* end = nullptr;
    const long pid = strtol(e->d_name, &end, 10);
    if (!end || *end || pid <= 0 || core.is_protected(static_cast<int>(pid))) continue;
    const dev_t tty = ctty_of(static_cast<int>(pid), nullptr);
    if (!tty || std::find(ptys.begin(), ptys.end(), tty) == ptys.end()) continue;
    used = core.procs().member_policy(static_cast<int>(pid)) < 0;
  }
  closedir(d);
  return used;
}

int release_terminals(Core& core) {
  std::string terminal;
  const bool everything = core.terminals().used_outside(core, &terminal);
  int killed = 0;
  std::map<int, Fd> signalled;  // pid → the pidfd it was killed through (dying, not yet reaped)
  for (int round = 0; round < kMaxRounds; round++) {
    bool more = false;
    for (int pid : core.procs().members_now()) {
      auto was = signalled.find(pid);
      if (was != signalled.end() && pidfd_alive(was->second.get())) continue;  // dying already
      if (core.is_protected(pid)) continue;  // sbx's own
      Fd pidfd = core.procs().pin_member(pid);
      if (!pidfd.ok() || !pidfd_alive(pidfd.get())) continue;  // gone, a zombie, or the pid reused
      const std::string held = outside_terminal_held(core, pid);
      if (held.empty() && !everything) continue;
      if (syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0) != 0) continue;
      report_kill(core, pid, held.empty() ? terminal + " (left running after the sandbox's command ended, this terminal still open: killed)"
                                          : held + " (held after the sandbox's command ended: killed)");
      signalled[pid] = std::move(pidfd);
      killed++;
      more = true;
    }
    // Holders only: one scan (as they are found). Everything: until a scan kills nothing new.
    if (!everything || !more) break;
  }
  return killed;
}

}  // namespace sbx
