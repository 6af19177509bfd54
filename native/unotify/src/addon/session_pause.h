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
// Each is held by a pidfd: a pid reused meanwhile is never signalled.
#pragma once
#include <mutex>
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
  // Stops every member and waits until none runs. false: they could not all be stopped (a
  // fork storm outran the scans, or one kept running): the question must not be asked.
  // What was stopped stays stopped until resume(), either way.
  bool pause(ProcTable& procs);
  // Continues every process pause() stopped.
  void resume();

 private:
  struct Paused {
    Fd pidfd;
    int pid;
  };
  std::mutex mu_;
  std::vector<Paused> paused_;
  bool stop_new(ProcTable& procs, bool& found);
  bool all_stopped();
};

}  // namespace sbx
