#include "terminal_release.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "engine.h"
#include "fs_tty.h"

namespace sbx {

int release_terminals(Core& core) {
  int killed = 0;
  for (int pid : core.procs().members_now()) {
    Fd pidfd = core.procs().pin_member(pid);
    if (!pidfd.ok()) continue;  // gone, or the pid reused
    const std::string tty = outside_terminal_held(core, pid);
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
