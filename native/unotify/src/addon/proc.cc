// Calls that act on another process (priority, affinity, I/O priority, resource limits,
// SIGIO ownership and signal-driven I/O, kcmp, process_madvise) and the rule they share with signals: a sandboxed
// process may act only on processes of its own session whose policy is no wider than its
// own, and never on the supervisor or a keeper. The arguments decided here are registers,
// so an allowed call CONTINUEs — except process_madvise's pidfd, done on our own copy.
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <string>
#include <vector>

#include <sys/ioctl.h>
#include <sys/uio.h>

#include "engine.h"
#include "memory.h"
#include "syscall_numbers.h"

#ifndef IOPRIO_WHO_PROCESS
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_WHO_PGRP 2
#define IOPRIO_WHO_USER 3
#endif

namespace sbx {

int tgid_of(int tid) {
  ProcStatus st;
  return read_status(tid, st) ? st.tgid : -1;
}

bool may_act_on(Notif& n, int tgid) {
  if (tgid <= 0) return false;
  if (tgid == n.caller.tgid) return true;
  if (n.core->is_protected(tgid)) return false;
  int target = n.core->procs().member_policy(tgid);
  if (target < 0) return false;  // not of this session: outside the sandbox, or another one
  if (target == n.policyId) return true;
  // The interactive shell can take any of its session's policies by cd, so acting on its
  // jobs gains it nothing (and job control needs it).
  return n.core->procs().follows_cd(n.caller.tgid);
}

// Every process of the group (a scan of /proc: group calls are job control, rare). A group
// can hold processes outside the sandbox: setpgid may join any group of the tty session.
bool may_act_on_group(Notif& n, int pgrp) {
  std::vector<int> members;
  bool sbx = false;
  return group_members(n, pgrp, members, sbx) && !sbx;
}

bool group_members(Notif& n, int pgrp, std::vector<int>& members, bool& has_protected) {
  if (pgrp <= 0) return false;
  bool ok = true;
  const bool read = for_each_pid([&](int pid) {
    if (proc_pgrp(pid) != pgrp) return true;
    if (n.core->is_protected(pid))
      has_protected = true;
    else if (may_act_on(n, pid))
      members.push_back(pid);
    else
      ok = false;
    return ok;
  });
  return read && ok;
}

namespace {

bool deny(Notif& n, const char* op, int target) {
  return refuse(n, Decision{false, -2}, op, std::to_string(target), EPERM);
}

// who: 0 = the caller itself, else a process (or thread) id.
bool may_act_on_pid(Notif& n, int who) {
  if (who == 0) return true;
  int tgid = tgid_of(who);
  return tgid > 0 && may_act_on(n, tgid);
}

// setpriority / ioprio_set: (which, who); PRIO_USER / IOPRIO_WHO_USER reach every process
// of a user, so they are refused.
bool may_act_on_which(Notif& n, int which, int who, bool ioprio) {
  const int kProcess = ioprio ? IOPRIO_WHO_PROCESS : PRIO_PROCESS;
  const int kGroup = ioprio ? IOPRIO_WHO_PGRP : PRIO_PGRP;
  if (which == kProcess) return may_act_on_pid(n, who);
  if (which == kGroup) return may_act_on_group(n, who == 0 ? proc_pgrp(n.caller.tgid) : who);
  return false;
}

// process_madvise(pidfd, iov, vlen, advice, flags): the pidfd is an entry in the caller's
// fd table, which a racing thread can replace, so it is decided and done on our own copy,
// with the iovec copied once.
void process_madvise_ours(Notif& n) {
  const auto& a = n.req.data.args;
  Fd ours;
  if (int e = copy_caller_fd(n, static_cast<int>(a[0]), ours)) {
    if (e != -ESRCH) reply_error(n.listener(), n.req.id, -e);
    return;
  }
  if (a[2] > IOV_MAX) return void(reply_error(n.listener(), n.req.id, EINVAL));
  std::vector<iovec> iov(a[2]);
  if (a[2] && read_mem(n.caller.tid, a[1], iov.data(), iov.size() * sizeof(iovec)) < 0)
    return void(reply_error(n.listener(), n.req.id, EFAULT));
  int target = pidfd_target(getpid(), ours.get());
  if (!n.valid()) return;
  if ((target <= 0 || !may_act_on(n, tgid_of(target))) && deny(n, "proc", target)) return;
  long r = syscall(__NR_process_madvise, ours.get(), iov.data(), iov.size(), static_cast<int>(a[3]),
                   static_cast<unsigned>(a[4]));
  reply_value(n.listener(), n.req.id, r < 0 ? -errno : r);
}

}  // namespace

// Signal-driven I/O switched on (fcntl F_SETFL with O_ASYNC, ioctl FIOASYNC). On a terminal
// the kernel makes the terminal's foreground process group the owner of its SIGIO (any
// signal, with F_SETSIG), whoever that group is: a sandbox in the background of a shell
// outside, or one that gave the foreground to that shell (TIOCSPGRP), would aim a signal at
// it on every key typed. Refused on terminals; on anything else done on our copy of the fd
// (after a CONTINUE the kernel would look the number up again, and a racing dup2 could put a
// terminal there). The owner of a non-terminal is only what F_SETOWN set (decided above).
void handle_async(Notif& n) {
  const auto& a = n.req.data.args;
  const bool ioctl_form = n.req.data.nr == __NR_ioctl;
  int on = 0;
  if (ioctl_form && read_mem(n.caller.tid, a[2], &on, sizeof on) < 0) return void(reply_error(n.listener(), n.req.id, EFAULT));
  Fd ours;
  if (int e = copy_caller_fd(n, static_cast<int>(a[0]), ours)) {
    if (e != -ESRCH) reply_error(n.listener(), n.req.id, -e);
    return;
  }
  const bool enables = ioctl_form ? on != 0 : (a[2] & O_ASYNC) != 0;
  if (enables && isatty(ours.get()) && refuse(n, Decision{false, -2}, "signal", "SIGIO from a terminal (its foreground group, maybe outside, would get it)", EPERM))
    return;
  long r = ioctl_form ? ioctl(ours.get(), FIOASYNC, &on) : fcntl(ours.get(), F_SETFL, static_cast<int>(a[2]));
  reply_value(n.listener(), n.req.id, r < 0 ? -errno : r);
}

void handle_proc(Notif& n) {
  const auto& a = n.req.data.args;
  const int nr = n.req.data.nr;
  const int arg0 = static_cast<int>(a[0]);
  if (nr == __NR_fcntl && static_cast<int>(a[1]) == F_SETFL) return handle_async(n);
  int target = arg0;  // what a denial names
  bool ok = false;
  const char* op = "proc";
  if (nr == __NR_process_madvise) return process_madvise_ours(n);
  if (nr == __NR_fcntl) {  // F_SETOWN (the filter traps only that): 0, a pid or -pgrp
    const int owner = static_cast<int>(a[2]);
    ok = owner == 0 || (owner > 0 ? may_act_on_pid(n, owner) : may_act_on_group(n, -owner));
    op = "signal";
  } else if (nr == __NR_prlimit64) {  // the filter traps pid != 0; RLIMIT_CORE is never set
    // The kernel takes the resource as an unsigned int: bits above it must not hide
    // RLIMIT_CORE (the hard core limit is the process's tag, procs.h).
    const unsigned resource = static_cast<unsigned>(a[1]);
    ok = may_act_on_pid(n, arg0) && !(resource == RLIMIT_CORE && a[2] != 0);
  } else if (nr == __NR_setpriority) {
    target = static_cast<int>(a[1]);
    ok = may_act_on_which(n, arg0, target, false);
  } else if (nr == __NR_ioprio_set) {
    target = static_cast<int>(a[1]);
    ok = may_act_on_which(n, arg0, target, true);
  } else if (nr == __NR_kcmp) {  // kcmp(pid1, pid2, type, idx1, idx2): both processes
    if (!may_act_on_pid(n, arg0)) target = arg0;
    else target = static_cast<int>(a[1]), ok = may_act_on_pid(n, target);
  } else if (nr == __NR_setpgid) {  // the filter traps a non-zero pgid: joining a group
    // The kernel moves the caller or a child not yet exec'd into any group of its session;
    // one holding processes outside (the shell that started `sbx exec`, its other jobs)
    // would put them in reach: a kill(0) racing the move signals the new group, a
    // background tcsetattr stops it with SIGTTOU. A new group, or a group whose every member
    // the caller may signal. The group it is in already is answered here, unmoved: let
    // through, a move out of it meanwhile (setpgid(0, 0) is not trapped) would make it a join.
    const int mover = arg0 == 0 ? n.caller.tgid : arg0;
    target = static_cast<int>(a[1]);
    op = "signal";
    if (target != mover && target == proc_pgrp(mover)) {
      if (n.valid()) reply_value(n.listener(), n.req.id, 0);
      return;
    }
    ok = target == mover || may_act_on_group(n, target);
  } else if (nr == __NR_sched_setaffinity || nr == __NR_sched_setparam || nr == __NR_sched_setscheduler ||
             nr == __NR_sched_setattr) {
    ok = may_act_on_pid(n, arg0);  // a thread id, 0 = the calling thread
  }
  if (!n.valid()) return;
  if (!ok && deny(n, op, target)) return;
  reply_continue(n.listener(), n.req.id);
}

}  // namespace sbx
