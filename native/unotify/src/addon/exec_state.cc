// See exec_state.h.
#include "exec_state.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <string>

namespace sbx {

namespace {

bool thread_exists(int tgid, int tid) {
  std::string p = "/proc/" + std::to_string(tgid) + "/task/" + std::to_string(tid);
  return faccessat(AT_FDCWD, p.c_str(), F_OK, 0) == 0;
}

constexpr size_t kSweepAt = 8192;

}  // namespace

SharedFd ExecTable::pin_of(const Caller& caller) {
  if (caller.pin) return caller.pin;
  return std::make_shared<const Fd>(sys_pidfd_open(caller.tgid, 0));
}

void ExecTable::identify(Entry& e, int tgid, SharedFd pin) {
  if (!pin) pin = std::make_shared<const Fd>(sys_pidfd_open(tgid, 0));
  // A pin numbered past three-quarters of the fd table (opened here, or for the call only by
  // the process table, which keeps none that high): kept as a start time instead, so a sandbox
  // of many sleeping processes does not take the fds every session needs (helper-96 #02).
  if (pin->ok() && fd_table_running_short(pin->get())) {
    e.pidfd = nullptr;
    e.start = proc_starttime(tgid);
    return;
  }
  e.pidfd = std::move(pin);
  e.start = 0;
}

bool ExecTable::same_alive(int tgid, const Entry& e) {
  if (e.pidfd) return pidfd_alive(e.pidfd);
  return e.start != 0 && proc_starttime(tgid) == e.start;
}

void ExecTable::saw_verified_locked(uint64_t task) {
  if (!task) return;
  if (verifiedTasks_.size() >= kSweepAt) verifiedTasks_.clear();  // costs a poll each, no more
  verifiedTasks_.insert(task);
}

ExecTable::Seen ExecTable::check(int tgid, uint64_t task) {
  std::lock_guard<std::mutex> g(mu_);
  // Seen verified, no exec since, and alive now (the caller's lookup): still verified.
  if (task && verifiedTasks_.count(task)) return Seen{State::kVerified, 0, {}};
  auto it = procs_.find(tgid);
  if (it == procs_.end()) return Seen{};
  Entry& e = it->second;
  if ((e.state == State::kVerified || (e.state == State::kUnknown && e.epoch == 0)) && !same_alive(tgid, e)) {
    procs_.erase(it);  // a dead process's pid, maybe reused: unknown
    return Seen{};
  }
  if (e.state == State::kVerified) saw_verified_locked(task);  // alive: polled just above
  return Seen{e.state, e.epoch, e.state == State::kPending ? e.before : Mark{}};
}

void ExecTable::mark_pending(const Caller& caller, Mark before) {
  std::lock_guard<std::mutex> g(mu_);
  // The caller's task seen in its verified process (and proven alive since): that process
  // is alive, so its entry's pidfd needs no poll.
  const bool proven = caller.task && verifiedTasks_.count(caller.task);
  verifiedTasks_.clear();  // this process's tasks among them: each is checked again
  if (procs_.size() >= kSweepAt) sweep_locked();
  Entry& e = procs_[caller.tgid];
  if (!(proven && identified(e)) && !same_alive(caller.tgid, e)) {
    // New, or left by a dead process with this pid: pin the caller's process now (it is
    // blocked in its execve notification, so tgid is its process).
    identify(e, caller.tgid, caller.pin);
    e.callers.clear();
  }
  e.state = State::kPending;
  e.epoch = nextEpoch_++;
  e.before = std::move(before);
  e.callers.push_back(caller.tid);
  e.tainted = false;  // the exec replaces the address space a debugger wrote
}

uint64_t ExecTable::exec_epoch(int tgid) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = procs_.find(tgid);
  return it == procs_.end() ? 0 : it->second.epoch;
}

void ExecTable::taint(int tgid) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = procs_.find(tgid);
  if (it != procs_.end() && it->second.state == State::kVerified && same_alive(tgid, it->second)) return;
  if (procs_.size() >= kSweepAt) sweep_locked();
  Entry& e = procs_[tgid];
  if (!same_alive(tgid, e)) {
    // Unknown until now (or left by a dead process with this pid): the debugger's target,
    // pinned while its request is decided.
    e = Entry{};
    identify(e, tgid, nullptr);
  }
  e.tainted = true;
}

bool ExecTable::verified(int tgid) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = procs_.find(tgid);
  return it != procs_.end() && it->second.state == State::kVerified && same_alive(tgid, it->second);
}

bool ExecTable::tainted(int tgid) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = procs_.find(tgid);
  return it != procs_.end() && it->second.tainted;
}

void ExecTable::settle(const Caller& caller, const Seen& seen) {
  const int tgid = caller.tgid, tid = caller.tid;
  const uint64_t task = caller.task;
  if (seen.state == State::kVerified) return;
  // Outside the lock: one access() per non-leader caller.
  std::vector<int> callers;
  {
    std::lock_guard<std::mutex> g(mu_);
    auto it = procs_.find(tgid);
    if (seen.state == State::kUnknown) {
      if (it != procs_.end() && it->second.epoch != 0) return;  // an exec came meanwhile
      if (procs_.size() >= kSweepAt) sweep_locked();
      Entry& e = procs_[tgid];
      // Verified while its thread waits in a notification: tgid is that process.
      if (!identified(e)) identify(e, tgid, caller.pin);
      e.state = State::kVerified;
      e.tainted = false;
      if (identified(e)) saw_verified_locked(task);
      return;
    }
    if (it == procs_.end() || it->second.epoch != seen.epoch) return;
    callers = it->second.callers;
  }
  std::vector<int> left;
  for (int c : callers)
    if (c != tid && (c == tgid || thread_exists(tgid, c))) left.push_back(c);
  std::lock_guard<std::mutex> g(mu_);
  auto it = procs_.find(tgid);
  if (it == procs_.end() || it->second.epoch != seen.epoch) return;  // a newer exec: keep it pending
  it->second.callers = std::move(left);
  if (it->second.callers.empty()) {
    it->second.state = State::kVerified;
    it->second.before = Mark{};  // the old address space's fd: not needed any more
    it->second.tainted = false;
    if (identified(it->second)) saw_verified_locked(task);
  }
}

void ExecTable::sweep_locked() {
  for (auto it = procs_.begin(); it != procs_.end();) it = same_alive(it->first, it->second) ? std::next(it) : procs_.erase(it);
}

size_t ExecTable::size() {
  std::lock_guard<std::mutex> g(mu_);
  return procs_.size();
}

}  // namespace sbx
