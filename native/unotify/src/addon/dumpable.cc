// See dumpable.h.
#include "dumpable.h"

#include <sys/prctl.h>

#include "engine.h"

namespace sbx {

namespace {

constexpr size_t kSweepAt = 4096;
// prctl(2)'s values (the kernel's SUID_DUMP_DISABLE / SUID_DUMP_USER; 2 is refused from userspace).
constexpr uint64_t kNotDumpable = 0, kDumpable = 1;

}  // namespace

bool DumpableTable::set(int tgid, int policy, bool dumpable) {
  Fd pin(dumpable ? -1 : sys_pidfd_open(tgid, 0));
  // Read after the pin: the start time of the process pinned (0 when unreadable: then every
  // process of the policy counts, never fewer).
  const uint64_t started = dumpable ? 0 : proc_starttime(tgid);
  std::lock_guard<std::mutex> g(mu_);
  if (dumpable) {
    undumpable_.erase(tgid);  // its children forked meanwhile stay covered by since_
    return true;
  }
  if (!pin.ok()) return false;  // unpinned it would count as gone: refuse rather than pretend
  if (undumpable_.size() >= kSweepAt) sweep_locked();
  undumpable_[tgid] = std::move(pin);
  auto s = since_.find(policy);
  if (s == since_.end() || started < s->second) since_[policy] = started;
  return true;
}

const char* DumpableTable::undumpable(int tgid, int policy) {
  uint64_t since = 0;
  {
    std::lock_guard<std::mutex> g(mu_);
    auto it = undumpable_.find(tgid);
    if (it != undumpable_.end()) {
      if (pidfd_alive(it->second.get())) return "a process that made itself non-dumpable";
      undumpable_.erase(it);  // a dead process's pid, maybe reused: not this one
    }
    auto s = since_.find(policy);
    if (s == since_.end()) return nullptr;
    since = s->second;
  }
  // Unreadable (gone, or not ours to read): counted, never let through.
  const uint64_t started = proc_starttime(tgid);
  if (started == 0 || started >= since)
    return "started after a process under its policy made itself non-dumpable: it may be its child";
  return nullptr;
}

void DumpableTable::sweep_locked() {
  for (auto it = undumpable_.begin(); it != undumpable_.end();) it = pidfd_alive(it->second.get()) ? std::next(it) : undumpable_.erase(it);
}

void handle_dumpable(Notif& n) {
  const auto& a = n.req.data.args;
  const int option = static_cast<int>(a[0]);
  DumpableTable& table = n.core->dumpable();
  if (option == PR_GET_DUMPABLE) {
    if (table.undumpable(n.caller.tgid, n.policyId)) return void(reply_value(n.listener(), n.req.id, kNotDumpable));
    return void(reply_continue(n.listener(), n.req.id));  // the kernel's answer is ours too
  }
  if (option != PR_SET_DUMPABLE) return void(report_error(n, "proc", "prctl", EPERM));  // never trapped
  if (a[1] != kNotDumpable && a[1] != kDumpable) return void(reply_error(n.listener(), n.req.id, EINVAL));
  // The caller waits in this notification, so tgid is its process while the id is valid:
  // checked after the pin, else the pin may hold a new process that took a dead caller's pid.
  if (!table.set(n.caller.tgid, n.policyId, a[1] == kDumpable))
    return void(reply_error(n.listener(), n.req.id, EAGAIN));
  if (!n.valid()) return void(table.set(n.caller.tgid, n.policyId, true));
  reply_value(n.listener(), n.req.id, 0);
}

}  // namespace sbx
