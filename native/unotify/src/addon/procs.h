// Process table: tgid → policy id. Unknown processes inherit from their nearest known
// ancestor. Each entry holds a pidfd, so a recycled pid is noticed (the pidfd of the
// original process has become readable = it exited).
#pragma once
#include <mutex>
#include <unordered_map>

#include "sys.h"

namespace sbx {

class ProcTable {
 public:
  explicit ProcTable(int defaultPolicy) : default_(defaultPolicy) {}
  // Policy of the caller (a tid); records the caller's tgid when first seen.
  int lookup(int tid, int* tgid_out);
  // Sets tgid's policy; with pin, its current descendants first keep theirs.
  void assign(int tgid, int policy, bool pin);
  size_t size();
  // Policy of tgid if it belongs to this session (known, or a descendant of a known
  // process: the filter is inherited and cannot be shed), without recording it; else -1.
  int member_policy(int tgid);
  // True for a process whose policy follows its directory (the interactive shell: it was
  // assigned with pin). It can take any of its session's policies by cd.
  bool follows_cd(int tgid);

 private:
  struct Entry {
    int policy;
    Fd pidfd;
    bool followsCd = false;
  };
  int policy_of_locked(int tgid);  // -1 when unknown or stale
  void record_locked(int tgid, int policy);
  int inherited_locked(int tgid);
  void sweep_locked();
  std::mutex mu_;
  std::unordered_map<int, Entry> table_;
  // tid → tgid for non-leader threads (a thread pidfd guards against tid reuse), so a
  // worker thread's syscalls do not each read /proc/<tid>/status.
  struct Thread {
    int tgid;
    Fd pidfd;
  };
  int thread_tgid_locked(int tid);
  std::unordered_map<int, Thread> threads_;
  int default_;
};

}  // namespace sbx
