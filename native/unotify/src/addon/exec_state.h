// Which processes run an image the engine has verified (exec.cc decides; this remembers).
//
// A process is one of:
//   unknown   — never verified by this engine: a fork child (fork is not trapped), every
//               process after a supervisor restart. Verified at its first trapped syscall.
//   pending   — an exec was let through (CONTINUE) and may have replaced the image. Its
//               image is verified again at each trapped syscall until every exec caller is
//               out of execve (see settle()); then verified.
//   verified  — the running image was decided; nothing to do (one lookup + one poll).
// Kept by tgid with a pidfd, so a recycled pid is never taken for a verified process.
// The poll is skipped for a task already seen verified (by its ProcTable serial, which
// the caller's lookup has just proven alive, so its process is alive too: the pid was not
// recycled) as long as no exec was let through since: every mark_pending forgets them all.
// Nothing here is persisted: a new engine starts with every process unknown, which costs
// one verification per process and loses nothing.
#pragma once
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <string>
#include <unordered_set>
#include <vector>

#include "path_resolve.h"
#include "sys.h"

namespace sbx {

class ExecTable {
 public:
  enum class State { kUnknown, kPending, kVerified };
  // What tells, at the process's next trapped syscall, whether an exec replaced its address
  // space (exec.cc exec_replaced_image), nothing the old image can forge into a yes (what it
  // wrote into its own memory would then be trusted) or a no (a script it runs then goes
  // unchecked): the old address space's /proc/<pid>/mem, read at `probe` (the execve's own
  // instruction), reads 0 bytes once that address space is gone, 1 byte or EIO while it lives
  // (whatever the old image unmaps, wherever its threads go). A vfork child's lives on in its
  // parent — the only other process an address space is shared with (filter.h refuses
  // CLONE_VM outside a thread but as vfork, and with CLONE_PARENT) — so for one the parent
  // is kept (`sharer`, pinned), and kcmp(KCMP_VM) tells whether the child still shares it —
  // as long as the parent has not exec'd itself meanwhile (another of its threads can).
  // `fingerprint` (the image's layout, exec.cc image_fingerprint) only when the mem file
  // cannot be opened.
  struct Mark {
    SharedFd mem;
    uint64_t probe = 0;
    int sharer = -1;
    SharedFd sharer_pin;
    uint64_t sharer_epoch = 0;  // its exec_epoch() then: an exec of its own since makes kcmp moot
    std::string fingerprint;
  };
  // The epoch of tgid's last exec let through (mark_pending), 0 when none is known.
  uint64_t exec_epoch(int tgid);
  struct Seen {
    State state = State::kUnknown;
    uint64_t epoch = 0;  // pass back to settle(): a newer exec makes it stale
    Mark before;         // pending: the mark taken before that exec
  };
  // `task`: the caller's ProcTable serial (procs.h), 0 when it has none.
  Seen check(int tgid, uint64_t task);
  // A debugger may have written tgid's memory or registers (an allowed ptrace write,
  // process_vm_writev, /proc/<pid>/mem opened for writing). Remembered only while tgid's
  // image is not verified — what verification then reads about it (environment, AT_EXECFN)
  // is what the debugger chose, so no `commands:` override is granted on it (exec.cc) — and
  // forgotten at its next exec (a new address space).
  void taint(int tgid);
  bool tainted(int tgid);
  // tgid's running image was verified (and it is still that process): what taint() skips.
  bool verified(int tgid);
  // Before the CONTINUE of an exec by `caller` (its tid, tgid, task serial and pin), with
  // the mark of the address space it runs in now: an exec that fails leaves it as it was.
  void mark_pending(const Caller& caller, Mark before);
  // The image of caller's process was verified at a syscall of the caller (seen with
  // `epoch`), which still waited after everything about it was read (NOTIF_ID_VALID).
  // Pending execs whose caller is out of execve are dropped: the caller's thread itself,
  // or a non-leader caller whose thread is gone (it exited, or its exec succeeded and it
  // took the leader's tid). When none is left the process is verified.
  void settle(const Caller& caller, const Seen& seen);
  size_t size();

 private:
  struct Entry {
    // The process: the caller's own pin (taken by its lookup before anything about it was
    // read, shared with the process table) when it leads its group, else one opened here.
    // When this process's fds run short (sys.h fd_table_running_short) and there is no pin
    // to share, none is kept: the process is known by its start time instead (`start`), read
    // while its thread waits in a notification (so it is that process).
    SharedFd pidfd;
    uint64_t start = 0;
    State state = State::kUnknown;
    uint64_t epoch = 0;
    std::vector<int> callers;  // threads whose exec is in flight
    bool tainted = false;      // see taint()
    Mark before;               // see mark_pending(); dropped once verified
  };
  void sweep_locked();
  void saw_verified_locked(uint64_t task);
  static SharedFd pin_of(const Caller& caller);
  // Gives `e` the identity of process `tgid`: `pin` (the caller's, shared), a pidfd opened
  // here, or, when fds run short, its start time.
  static void identify(Entry& e, int tgid, SharedFd pin);
  // Is the process `e` was given alive, and still that process?
  static bool same_alive(int tgid, const Entry& e);
  static bool identified(const Entry& e) { return (e.pidfd && e.pidfd->ok()) || e.start != 0; }
  std::mutex mu_;
  // Tasks (ProcTable serials) seen in a verified process since the last exec let through.
  std::unordered_set<uint64_t> verifiedTasks_;
  std::unordered_map<int, Entry> procs_;
  uint64_t nextEpoch_ = 1;
};

}  // namespace sbx
