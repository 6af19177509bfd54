// Calls that act on another process (priority, affinity, I/O priority, resource limits,
// SIGIO ownership) and the rule they share with signals: a sandboxed process may act
// only on processes of its own session whose policy is no wider than its own, and never
// on the supervisor or a keeper. All the arguments decided here are registers, so an
// allowed call CONTINUEs.
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "engine.h"
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
  if (pgrp <= 0) return false;
  DIR* d = opendir("/proc");
  if (!d) return false;
  bool ok = true;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    int pid = atoi(e->d_name);
    if (proc_pgrp(pid) == pgrp && !may_act_on(n, pid)) {
      ok = false;
      break;
    }
  }
  closedir(d);
  return ok;
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

}  // namespace

void handle_proc(Notif& n) {
  const auto& a = n.req.data.args;
  const int nr = n.req.data.nr;
  const int arg0 = static_cast<int>(a[0]);
  bool ok = false;
  const char* op = "proc";
  if (nr == __NR_fcntl) {  // F_SETOWN (the filter traps only that): 0, a pid or -pgrp
    const int owner = static_cast<int>(a[2]);
    ok = owner == 0 || (owner > 0 ? may_act_on_pid(n, owner) : may_act_on_group(n, -owner));
    op = "signal";
  } else if (nr == __NR_prlimit64) {  // the filter traps pid != 0; RLIMIT_CORE is never raised
    ok = may_act_on_pid(n, arg0) && !(a[1] == RLIMIT_CORE && a[2] != 0);
  } else if (nr == __NR_setpriority) {
    ok = may_act_on_which(n, arg0, static_cast<int>(a[1]), false);
  } else if (nr == __NR_ioprio_set) {
    ok = may_act_on_which(n, arg0, static_cast<int>(a[1]), true);
  } else if (nr == __NR_sched_setaffinity || nr == __NR_sched_setparam || nr == __NR_sched_setscheduler ||
             nr == __NR_sched_setattr) {
    ok = may_act_on_pid(n, arg0);  // a thread id, 0 = the calling thread
  }
  if (!n.valid()) return;
  if (!ok && deny(n, op, arg0)) return;
  reply_continue(n.listener(), n.req.id);
}

}  // namespace sbx
