// Pausing a session's processes while a person answers a question at its terminal
// (src/supervisor/confirm.ts, `sbx trust` from inside). Every process of the session may
// write to the terminal (write is allowed by number): one left running could redraw the
// question (delete the lines that say what trusting allows, print others) or read the word
// typed. So every member — a process carrying one of this session's tags (procs.h), which a
// child has from its fork on, before any trap — is stopped with SIGSTOP while the question
// is on screen, and continued afterwards. Except:
//   - The interactive shell (it follows cd; nothing inside can trace or drive it): stopped,
//     its parent would see it (tmux continues a stopped pane at once), and it is waiting for
//     the asking process anyway. The asking process must be the shell's child (widen.ts), so
//     no other process of the session stands between them.
//   - A process already stopped (a job the user suspended) is left as it is.
// The asking process is stopped too: every thread but the one blocked in its request stops,
// and as that one never does, its stop never completes — continued before the answer, its
// parent (the shell) never sees it stopped and never takes the terminal back.
//
// A stop is not a lock: a stopped process is woken by any SIGCONT, and the kernel sends one
// for it on a timer, an I/O event, a child's exit or its parent's death, as the process
// arranged before. So the pause is proven, not assumed: once everything has stopped, each
// thread's context-switch count is recorded, and quiet() — asked after the answer — holds only
// if no member thread ran since (each still stopped, with the same count) and none was added.
// Each process is held by a pidfd: a pid reused meanwhile is never signalled.
#pragma once
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sys.h"

namespace sbx {

class ProcTable;

class SessionPause {
 public:
  SessionPause() = default;
  SessionPause(const SessionPause&) = delete;
  SessionPause& operator=(const SessionPause&) = delete;
  ~SessionPause() { resume(); }  // an engine gone mid-question leaves nothing stopped

  // Stops every member and waits until every thread is stopped, `asking` (the thread blocked
  // in the request) aside. Empty when done; else why they could not all be stopped (a fork
  // storm outran the scans, one kept running or stayed in an uninterruptible wait), for the
  // refusal the person reads: do not ask. What was stopped stays stopped until resume(),
  // either way.
  std::string pause(ProcTable& procs, int asking);
  // Empty when nothing of the session ran since pause() returned true; else what did
  // ("thread 123 (sleep) ran"), for the refusal the person reads.
  std::string quiet(ProcTable& procs);
  // Continues every process pause() stopped.
  void resume();

 private:
  struct Paused {
    Fd pidfd;
    int pid;
  };
  std::mutex mu_;
  std::vector<Paused> paused_;
  int asking_ = 0;
  // tid → context switches at the pause (kZombie: a zombie then, which cannot run again; its
  // parent, the shell, may reap it meanwhile)
  static constexpr unsigned long long kZombie = ~0ULL;
  std::map<int, unsigned long long> switches_;
  bool stop_new(ProcTable& procs, bool& found);
  bool adopt(ProcTable& procs, int pid);
  int first_running(ProcTable& procs);
  bool snapshot(ProcTable& procs, std::map<int, unsigned long long>& out, int& running);
  std::string changed(const std::map<int, unsigned long long>& now) const;
};

}  // namespace sbx
