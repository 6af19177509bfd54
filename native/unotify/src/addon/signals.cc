// kill/tkill/tgkill/rt_sigqueueinfo/rt_tgsigqueueinfo/pidfd_send_signal: a signal may
// reach only processes of the caller's own session whose policy is no wider than its own
// (may_act_on, proc.cc) — a SIGUSR1 opens a Node process's inspector, a SIGSEGV makes the
// kernel dump a process's memory — and never the supervisor or a keeper. Signal 0 only
// asks whether a process exists. The arguments are registers (nothing a racing thread can
// change), so an allowed signal CONTINUEs; pidfd_send_signal is sent through our own copy.
#include <signal.h>
#include <sys/syscall.h>

#include <cstring>
#include <vector>

#include <unistd.h>

#include "engine.h"
#include "memory.h"
#include "syscall_numbers.h"

#ifndef PIDFD_SIGNAL_PROCESS_GROUP
#define PIDFD_SIGNAL_PROCESS_GROUP (1U << 2)
#endif

namespace sbx {

int pidfd_target(int tid, int fd) {
  std::string s;
  if (!read_file("/proc/" + std::to_string(tid) + "/fdinfo/" + std::to_string(fd), s, 4096)) return 0;
  size_t p = s.find("\nPid:");
  return p == std::string::npos ? 0 : atoi(s.c_str() + p + 5);
}

namespace {

// A sealed process (procs.h: an `sbx exec` that narrowed itself, which still holds what its
// flags hide from its command) takes only the signals that end, stop, continue or resize a
// job. Another would make it act: SIGUSR1 opens Node's inspector (the CLI is Node), whose
// client could read the environment --deny-env hid.
bool reaches_sealed(int sig) {
  switch (sig) {
    case 0: case SIGKILL: case SIGTERM: case SIGINT: case SIGHUP: case SIGQUIT: case SIGPIPE:
    case SIGCONT: case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU: case SIGWINCH:
      return true;
    default:
      return false;
  }
}

bool sealed_refuses(Notif& n, int tgid, int sig) {
  return tgid > 0 && tgid != n.caller.tgid && !reaches_sealed(sig) && n.core->procs().sealed(tgid);
}

bool any_sealed_refuses(Notif& n, const std::vector<int>& members, int sig) {
  for (int pid : members)
    if (sealed_refuses(n, pid, sig)) return true;
  return false;
}

// The pidfd is an entry in the caller's fd table, which a racing thread can replace:
// decide on our own copy and send through it.
void pidfd_signal(Notif& n) {
  const auto& a = n.req.data.args;
  Fd ours;
  if (int e = copy_caller_fd(n, static_cast<int>(a[0]), ours)) {
    if (e != -ESRCH) reply_error(n.listener(), n.req.id, -e);
    return;
  }
  siginfo_t info;
  if (a[2] && read_mem(n.caller.tid, a[2], &info, sizeof info) < 0)
    return void(reply_error(n.listener(), n.req.id, EFAULT));
  int target = pidfd_target(getpid(), ours.get());
  if (target <= 0) return void(reply_error(n.listener(), n.req.id, EBADF));
  const int sig = static_cast<int>(a[1]);
  bool deny = false;
  if (a[3] & PIDFD_SIGNAL_PROCESS_GROUP) {
    std::vector<int> members;
    bool sbx = false;
    deny = sig != 0 && (!group_members(n, proc_pgrp(target), members, sbx) || sbx || any_sealed_refuses(n, members, sig));
  } else {
    deny = sig != 0 && (!may_act_on(n, tgid_of(target)) || sealed_refuses(n, tgid_of(target), sig));
  }
  if (deny && refuse(n, Decision{false, -2}, "signal", std::to_string(target), EPERM)) return;
  long r = syscall(SYS_pidfd_send_signal, ours.get(), static_cast<int>(a[1]), a[2] ? &info : nullptr,
                   static_cast<unsigned>(a[3]));
  reply_value(n.listener(), n.req.id, r < 0 ? -errno : r);
}

// kill(0 or -pgrp, sig) on a group that holds sbx's own processes as well as the caller's
// (sbx exec's supervisor shares its process group with the command, so a script's
// `kill 0` met it): signalled member by member, sbx's skipped. Each member is signalled
// through a pidfd opened and checked again (group, rule) first, so a recycled pid is not.
void signal_members(Notif& n, int pgrp, const std::vector<int>& members, int sig) {
  if (!n.valid()) return;
  int sent = 0;
  for (int pid : members) {
    Fd pf(sys_pidfd_open(pid, 0));
    if (!pf.ok() || proc_pgrp(pid) != pgrp || n.core->is_protected(pid) || !may_act_on(n, pid) || sealed_refuses(n, pid, sig)) continue;
    if (syscall(SYS_pidfd_send_signal, pf.get(), sig, nullptr, 0) == 0) sent++;
  }
  reply_value(n.listener(), n.req.id, sent > 0 ? 0 : -ESRCH);
}

}  // namespace

void handle_signal(Notif& n) {
  const auto& a = n.req.data.args;
  const int nr = n.req.data.nr;
  if (nr == __NR_pidfd_send_signal) return pidfd_signal(n);
  int target = static_cast<int>(a[0]);
  int sig = 0;
  bool ok = false;
  if (nr == __NR_kill || nr == __NR_rt_sigqueueinfo) {
    sig = static_cast<int>(a[1]);
    if (target > 0)
      ok = may_act_on(n, tgid_of(target)) && !sealed_refuses(n, tgid_of(target), sig);
    else if (target == -1)
      ok = false;  // every process the caller may signal: the whole user
    else {
      const int pgrp = target == 0 ? proc_pgrp(n.caller.tgid) : -target;
      std::vector<int> members;
      bool sbx = false;
      ok = group_members(n, pgrp, members, sbx);
      if (ok && sbx && sig != 0) return signal_members(n, pgrp, members, sig);
      if (ok && any_sealed_refuses(n, members, sig)) ok = false;
    }
  } else if (nr == __NR_tkill) {
    sig = static_cast<int>(a[1]);
    ok = may_act_on(n, tgid_of(target)) && !sealed_refuses(n, tgid_of(target), sig);
  } else {  // tgkill, rt_tgsigqueueinfo: (tgid, tid, sig); the tid must be in that group
    sig = static_cast<int>(a[2]);
    ok = tgid_of(static_cast<int>(a[1])) == target && may_act_on(n, target) && !sealed_refuses(n, target, sig);
  }
  // An existence probe moves nothing, but sbx's own processes stay invisible.
  if (sig == 0 && target > 0 && !n.core->is_protected(tgid_of(target))) ok = true;
  if (!n.valid()) return;
  // No such process: answer it ourselves (a CONTINUE could meet a recycled pid).
  if (target > 0 && tgid_of(target) < 0) return void(reply_error(n.listener(), n.req.id, ESRCH));
  if (!ok && refuse(n, Decision{false, -2}, "signal", std::to_string(target), EPERM)) return;
  reply_continue(n.listener(), n.req.id);
}

}  // namespace sbx
