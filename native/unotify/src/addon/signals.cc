// kill/tkill/tgkill/rt_sigqueueinfo/rt_tgsigqueueinfo/pidfd_send_signal: all arguments
// are registers (nothing a racing thread can change), so an allowed signal CONTINUEs;
// one that would reach a protected pid (or its process group) is EPERM.
#include <signal.h>
#include <sys/syscall.h>

#include <cstring>

#include <unistd.h>

#include "engine.h"
#include "memory.h"

#ifndef PIDFD_SIGNAL_PROCESS_GROUP
#define PIDFD_SIGNAL_PROCESS_GROUP (1U << 2)
#endif

namespace sbx {

namespace {

int tgid_of(int tid) {
  ProcStatus st;
  return read_status(tid, st) ? st.tgid : tid;
}

bool group_has_protected(const Core& core, int pgrp) {
  for (int p : *core.protected_pids())
    if (proc_pgrp(p) == pgrp) return true;
  return false;
}

// The pid a pidfd (in the caller's fd table) refers to, from its fdinfo.
int pidfd_target(int tid, int fd) {
  std::string s;
  if (!read_file("/proc/" + std::to_string(tid) + "/fdinfo/" + std::to_string(fd), s, 4096)) return 0;
  size_t p = s.find("\nPid:");
  return p == std::string::npos ? 0 : atoi(s.c_str() + p + 5);
}

// The pidfd is an entry in the caller's fd table, which a racing thread can replace:
// decide on our own copy and send through it.
void pidfd_signal(Notif& n) {
  const auto& a = n.req.data.args;
  Fd pidfd(sys_pidfd_open(n.caller.tgid, 0));
  if (!pidfd.ok() || !n.valid()) return;
  Fd ours(sys_pidfd_getfd(pidfd.get(), static_cast<int>(a[0]), 0));
  if (!ours.ok()) return void(reply_error(n.listener(), n.req.id, EBADF));
  siginfo_t info;
  if (a[2] && read_mem(n.caller.tid, a[2], &info, sizeof info) < 0)
    return void(reply_error(n.listener(), n.req.id, EFAULT));
  int target = pidfd_target(getpid(), ours.get());
  if (target <= 0) return void(reply_error(n.listener(), n.req.id, EBADF));
  bool deny = (a[3] & PIDFD_SIGNAL_PROCESS_GROUP) ? group_has_protected(*n.core, proc_pgrp(target))
                                                   : n.core->is_protected(tgid_of(target));
  if (deny && refuse(n, Decision{false, -2}, "signal", std::to_string(target), EPERM)) return;
  long r = syscall(SYS_pidfd_send_signal, ours.get(), static_cast<int>(a[1]), a[2] ? &info : nullptr,
                   static_cast<unsigned>(a[3]));
  reply_value(n.listener(), n.req.id, r < 0 ? -errno : r);
}

}  // namespace

void handle_signal(Notif& n) {
  const auto& a = n.req.data.args;
  Core& core = *n.core;
  const int nr = n.req.data.nr;
  bool deny = false;
  int target = 0;
  if (nr == SYS_kill || nr == SYS_rt_sigqueueinfo) {
    target = static_cast<int>(a[0]);
    if (target > 0)
      deny = core.is_protected(tgid_of(target));
    else if (target == -1)
      deny = true;  // every process, the supervisor included
    else
      deny = group_has_protected(core, target == 0 ? proc_pgrp(n.caller.tgid) : -target);
  } else if (nr == SYS_tkill) {
    target = static_cast<int>(a[0]);
    deny = core.is_protected(tgid_of(target));
  } else if (nr == SYS_tgkill || nr == SYS_rt_tgsigqueueinfo) {
    target = static_cast<int>(a[0]);
    deny = core.is_protected(target) || core.is_protected(tgid_of(static_cast<int>(a[1])));
  } else {
    return pidfd_signal(n);
  }
  if (deny && refuse(n, Decision{false, -2}, "signal", std::to_string(target), EPERM)) return;
  reply_continue(n.listener(), n.req.id);
}

}  // namespace sbx
