#include "terminal_release.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "engine.h"
#include "fs_tty.h"

namespace sbx {

namespace {

// The first fd of pid on a terminal from outside the session: its path, or "".
std::string outside_terminal(Core& core, int pid) {
  Fd dir(open(("/proc/" + std::to_string(pid) + "/fd").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.ok()) return "";
  DIR* d = fdopendir(dir.release());
  if (!d) return "";
  std::string found;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, 0) != 0 || !S_ISCHR(st.st_mode) || !is_outside_terminal(core, st)) continue;
    char link[512];
    ssize_t n = readlinkat(dirfd(d), e->d_name, link, sizeof link - 1);
    found = n > 0 ? std::string(link, static_cast<size_t>(n)) : "a terminal";
    break;
  }
  closedir(d);
  return found;
}

}  // namespace

int release_terminals(Core& core) {
  int killed = 0;
  for (int pid : core.procs().members_now()) {
    Fd pidfd(sys_pidfd_open(static_cast<pid_t>(pid), 0));
    if (!pidfd.ok() || core.procs().member_policy(pid) < 0) continue;  // gone, or the pid reused
    const std::string tty = outside_terminal(core, pid);
    if (tty.empty()) continue;
    Event e;
    e.time = now_ms();
    e.kind = "deny";
    e.rule = -2;
    e.pid = pid;
    e.program = program_of(pid);
    e.syscall = "(session end)";
    e.op = "tty";
    e.target = tty + " (held after the sandbox's command ended: killed)";
    e.err = EPERM;
    if (syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0) != 0) continue;
    killed++;
    core.emit(std::move(e));
  }
  return killed;
}

}  // namespace sbx
