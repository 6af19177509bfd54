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
// Still weaker than the kernel in one way, stated in the README: unsandboxed processes of the
// same user can debug it.
#pragma once
#include <mutex>
#include <unordered_map>

#include "sys.h"

namespace sbx {

class DumpableTable {
 public:
  // tgid asked not to be dumpable (false) or to be again (true). tgid is pinned by a pidfd,
  // so a recycled pid is never taken for it; false when it cannot be pinned (nothing kept).
  bool set(int tgid, bool dumpable);
  // tgid asked not to be dumpable and is still that process.
  bool undumpable(int tgid);

 private:
  void sweep_locked();
  std::mutex mu_;
  std::unordered_map<int, Fd> undumpable_;
};

// (handle_dumpable, the prctl handler, is declared with the others in engine.h.)

}  // namespace sbx
