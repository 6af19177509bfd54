// See exec_state.h.
#include "exec_state.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <string>

namespace sbx {

namespace {

bool alive(const SharedFd& pidfd) { return pidfd_alive(pidfd); }

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
  if ((e.state == State::kVerified || (e.state == State::kUnknown && e.epoch == 0)) && !alive(e.pidfd)) {
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
  if (!(proven && e.pidfd) && !alive(e.pidfd)) {
    // New, or left by a dead process with this pid: pin the caller's process now (it is
    // blocked in its execve notification, so tgid is its process).
    e.pidfd = pin_of(caller);
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
  if (it != procs_.end() && it->second.state == State::kVerified && alive(it->second.pidfd)) return;
  if (procs_.size() >= kSweepAt) sweep_locked();
  Entry& e = procs_[tgid];
  if (!alive(e.pidfd)) {
    // Unknown until now (or left by a dead process with this pid): the debugger's target,
    // pinned while its request is decided.
    e = Entry{};
    e.pidfd = std::make_shared<const Fd>(sys_pidfd_open(tgid, 0));
  }
  e.tainted = true;
}

bool ExecTable::verified(int tgid) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = procs_.find(tgid);
  return it != procs_.end() && it->second.state == State::kVerified && alive(it->second.pidfd);
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
      if (!e.pidfd || !e.pidfd->ok()) e.pidfd = pin_of(caller);
      e.state = State::kVerified;
      e.tainted = false;
      if (e.pidfd->ok()) saw_verified_locked(task);
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
    if (it->second.pidfd && it->second.pidfd->ok()) saw_verified_locked(task);
  }
}

void ExecTable::sweep_locked() {
  for (auto it = procs_.begin(); it != procs_.end();) it = alive(it->second.pidfd) ? std::next(it) : procs_.erase(it);
}

size_t ExecTable::size() {
  std::lock_guard<std::mutex> g(mu_);
  return procs_.size();
}

}  // namespace sbx
