// See procs.h.
#include "procs.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace sbx {

static bool pidfd_alive(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return poll(&p, 1, 0) == 0;  // readable = the process exited
}

int ProcTable::policy_of_locked(int tgid) {
  auto it = table_.find(tgid);
  if (it == table_.end()) return -1;
  if (!pidfd_alive(it->second.pidfd.get())) {
    table_.erase(it);
    return -1;
  }
  return it->second.policy;
}

void ProcTable::record_locked(int tgid, int policy) {
  Fd pfd(sys_pidfd_open(tgid, 0));
  if (!pfd.ok()) return;  // already gone
  auto it = table_.find(tgid);
  if (it != table_.end()) {
    it->second.policy = policy;
    it->second.pidfd = std::move(pfd);
  } else {
    if (table_.size() > 4096) sweep_locked();
    table_.emplace(tgid, Entry{policy, std::move(pfd)});
  }
}

void ProcTable::sweep_locked() {
  for (auto it = table_.begin(); it != table_.end();)
    it = pidfd_alive(it->second.pidfd.get()) ? std::next(it) : table_.erase(it);
}

int ProcTable::inherited_locked(int tgid) {
  // Walk PPid up to a known ancestor (bounded: pid 1 or a loop ends it).
  int p = tgid;
  for (int steps = 0; steps < 256 && p > 1; steps++) {
    ProcStatus st;
    if (!read_status(p, st)) break;
    p = st.ppid;
    int pol = policy_of_locked(p);
    if (pol >= 0) return pol;
  }
  return default_;
}

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

int ProcTable::thread_tgid_locked(int tid) {
  auto it = threads_.find(tid);
  if (it != threads_.end()) {
    if (pidfd_alive(it->second.pidfd.get())) return it->second.tgid;
    threads_.erase(it);
  }
  Fd pfd(sys_pidfd_open(tid, PIDFD_THREAD));  // pins the thread before we read about it
  ProcStatus st;
  int tgid = read_status(tid, st) ? st.tgid : tid;
  if (pfd.ok() && tgid != tid && pidfd_alive(pfd.get())) {
    if (threads_.size() > 8192)
      for (auto t = threads_.begin(); t != threads_.end();)
        t = pidfd_alive(t->second.pidfd.get()) ? std::next(t) : threads_.erase(t);
    threads_.emplace(tid, Thread{tgid, std::move(pfd)});
  }
  return tgid;
}

int ProcTable::lookup(int tid, int* tgid_out) {
  std::lock_guard<std::mutex> g(mu_);
  int pol = policy_of_locked(tid);  // fast path: the caller is a thread-group leader we know
  if (pol >= 0) {
    *tgid_out = tid;
    return pol;
  }
  int tgid = thread_tgid_locked(tid);
  *tgid_out = tgid;
  if (tgid != tid) {
    pol = policy_of_locked(tgid);
    if (pol >= 0) return pol;
  }
  pol = inherited_locked(tgid);
  record_locked(tgid, pol);
  return pol;
}

static void children_of(int pid, std::vector<int>& out) {
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string kids;
    if (!read_file(dir + "/" + e->d_name + "/children", kids, 1 << 16)) continue;
    size_t i = 0;
    while (i < kids.size()) {
      int k = atoi(kids.c_str() + i);
      if (k > 0) out.push_back(k);
      size_t sp = kids.find(' ', i);
      if (sp == std::string::npos) break;
      i = sp + 1;
    }
  }
  closedir(d);
}

void ProcTable::assign(int tgid, int policy, bool pin) {
  std::lock_guard<std::mutex> g(mu_);
  if (pin) {
    // Breadth-first over the current descendants: record each at its current policy
    // (nearest known ancestor's, the switched pid not yet switched).
    std::vector<int> queue;
    children_of(tgid, queue);
    for (size_t i = 0; i < queue.size() && i < 100000; i++) {
      int k = queue[i];
      if (policy_of_locked(k) < 0) record_locked(k, inherited_locked(k));
      children_of(k, queue);
    }
  }
  record_locked(tgid, policy);
  if (pin) {
    auto it = table_.find(tgid);
    if (it != table_.end()) it->second.followsCd = true;
  }
}

int ProcTable::member_policy(int tgid) {
  std::lock_guard<std::mutex> g(mu_);
  int pol = policy_of_locked(tgid);
  if (pol >= 0) return pol;
  int p = tgid;
  for (int steps = 0; steps < 256 && p > 1; steps++) {
    ProcStatus st;
    if (!read_status(p, st)) return -1;
    p = st.ppid;
    pol = policy_of_locked(p);
    if (pol >= 0) return pol;
  }
  return -1;
}

bool ProcTable::follows_cd(int tgid) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = table_.find(tgid);
  return it != table_.end() && it->second.followsCd && pidfd_alive(it->second.pidfd.get());
}

size_t ProcTable::size() {
  std::lock_guard<std::mutex> g(mu_);
  return table_.size();
}

}  // namespace sbx
