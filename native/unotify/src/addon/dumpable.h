// Non-dumpable processes, emulated (prctl PR_SET_DUMPABLE / PR_GET_DUMPABLE).
//
// Why not let the kernel do it: a non-dumpable process grants ptrace access only to
// CAP_SYS_PTRACE, and the engine's own reads of a process (process_vm_readv for a path,
// pidfd_getfd for a socket) need that access. Run as a normal user, every open of a program
// that hardens itself this way — ssh-agent, gpg-agent, password managers — failed inside with
// EFAULT. So the engine answers the request and remembers it, and refuses what the kernel
// would have refused the process's siblings: debugging it (debug.cc: ptrace, process_vm_*,
// /proc/<pid>/mem and its other private /proc entries). PR_GET_DUMPABLE reports it.
// Kept for the process's life, across exec: stricter than the kernel (which resets it at a
// successful exec), since the engine cannot tell a failed exec from one that ran the same file.
// The kernel also passes it to a forked child (ssh-agent and gpg-agent fork into the
// background afterwards), and fork is not trapped: so every process of the same policy that
// started after the asking one started counts as non-dumpable too, for the session's life —
// its children among them, even once reparented. Debuggers inside lose those processes.
// Still weaker than the kernel in one way, stated in the README: unsandboxed processes of the
// same user can debug it.
#pragma once
#include <mutex>
#include <unordered_map>

#include "sys.h"

namespace sbx {

class DumpableTable {
 public:
  // tgid (under `policy`) asked not to be dumpable (false) or to be again (true). tgid is
  // pinned by a pidfd, so a recycled pid is never taken for it; false when it cannot be
  // pinned (nothing kept).
  bool set(int tgid, int policy, bool dumpable);
  // Why tgid (under `policy`) counts as non-dumpable, or null: it asked and is still that
  // process, or it started, under the same policy, after one that asked (it may be its child).
  const char* undumpable(int tgid, int policy);

 private:
  void sweep_locked();
  std::mutex mu_;
  std::unordered_map<int, Fd> undumpable_;
  std::unordered_map<int, uint64_t> since_;  // policy -> earliest start time (clock ticks) of one that asked
};

// (handle_dumpable, the prctl handler, is declared with the others in engine.h.)

}  // namespace sbx
