// When a session's command (or shell) exits while the terminal it started on lives on —
// `sbx exec -- npm install` returning to your unsandboxed shell — nothing the sandbox left
// may keep or regain that terminal: it could read what you type next (to `sudo`, to `ssh`)
// and write to your screen, with the session's network.
//   - Every process of the session is killed (SIGKILL through a pidfd), repeated until a scan
//     finds none left unkilled (a child forked before its parent's kill is found by the next
//     scan; nothing forks after its kill). Not only the ones holding the terminal: one that
//     let it go could take it back from a socket it parked it in (recvmsg is not trapped,
//     and a descriptor in flight is held by no process a scan could see) or reopen it as
//     its controlling terminal.
//   - From then on an open of a terminal from outside (/dev/tty, /dev/pts/N, /proc/…/fd/N)
//     is refused for the session (fs_tty.cc), so nothing decided while the kills go on gets it.
// When the terminal is gone (its window closed: a freed pty is hung up for every holder) or
// the command had none, only processes holding a terminal from outside are killed, and what
// the sandbox left keeps running, served as before.
#pragma once
#include <mutex>
#include <string>
#include <vector>

#include "sys.h"

namespace sbx {

class Core;

// The terminals from outside the session that its root started on: its stdio and its
// controlling terminal, each held as an O_PATH fd (which keeps no pty alive), recorded when
// the root is first watched.
class SessionTerminals {
 public:
  // Records `pid`'s terminals; `pidfd` (taken before) proves the pid was not reused meanwhile.
  void record(Core& core, int pid, int pidfd);
  // Does a recorded terminal live on? True as well when none could be recorded (the root was
  // gone before it was watched: after a supervisor restart), which cannot be told apart.
  bool lives();
  // The name of a live one (for the report), or "your terminal".
  std::string name();

 private:
  std::mutex mu_;
  bool recorded_ = false;
  std::vector<Fd> ttys_;
};

// Kills what the session left, as above, reporting each process killed as a denial (op "tty").
// Returns how many.
int release_terminals(Core& core);

}  // namespace sbx
