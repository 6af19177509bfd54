// When a session's command (or shell) exits while the terminal it started on is still used
// from outside — `sbx exec -- npm install` returning to your unsandboxed shell — nothing the sandbox left
// may keep or regain that terminal: it could read what you type next (to `sudo`, to `ssh`)
// and write to your screen, with the session's network.
//   - Every process of the session is killed (SIGKILL through a pidfd), repeated until a scan
//     finds none left unkilled (a child forked before its parent's kill is found by the next
//     scan; nothing forks after its kill), for up to 10 s while members keep turning up. One
//     still alive then (it kept moving to new pids faster than the scans) is reported at the
//     terminal: the scans narrow this, only freezing the session first would close it. Not only the ones holding the terminal: one that
//     let it go could take it back from a socket it parked it in (recvmsg is not trapped,
//     and a descriptor in flight is held by no process a scan could see) or reopen it as
//     its controlling terminal.
//   - From then on an open of a terminal from outside (/dev/tty, /dev/pts/N, /proc/…/fd/N)
//     is refused for the session (fs_tty.cc), so nothing decided while the kills go on gets it.
// "Used from outside": a process outside the session (sbx's own aside) has that pty as its
// controlling terminal — the shell you return to, a `sudo` waiting — or it is a virtual
// console or the console, where a login prompt comes next. A terminal whose own shell was
// the sandbox (a hook terminal after `exit`: the session leader's exit clears the terminal
// from its session) is not, nor one that is gone (its window closed: a freed pty is hung up
// for every holder), nor none (a pipe, `setsid`). Then only processes holding a terminal
// from outside are killed, and what the sandbox left keeps running, served as before.
#pragma once
#include <mutex>
#include <string>
#include <vector>

#include "sys.h"

namespace sbx {

class Core;

// The terminals from outside the session that its root started on: its stdio and its
// controlling terminal, each held as an O_PATH fd (which keeps no pty alive). A session with a
// keeper gets them from it (read before the root ran anything, handed to every supervisor, so
// a restart does not read them again from a root that may have let them go); an `sbx exec`
// in its own process reads them from the root before it runs anything.
class SessionTerminals {
 public:
  // Records `pid`'s terminals; `pidfd` (taken before) proves the pid was not reused meanwhile.
  void record(Core& core, int pid, int pidfd);
  // Records the terminals among `fds` (the keeper's record of the root at its start; dup'd).
  void record_given(Core& core, const std::vector<int>& fds);
  // Is a recorded terminal still used from outside (above)? False when none could be recorded
  // (the root was gone before it was watched: it exited while no supervisor ran), so that a
  // supervisor's restart kills nothing but holders. *name: that terminal's, for the report.
  bool used_outside(Core& core, std::string* name);

 private:
  // Keeps the terminals from outside among `fds`, each once, as the record.
  void keep(Core& core, std::vector<Fd> fds);
  std::mutex mu_;
  bool recorded_ = false;
  std::vector<Fd> ttys_;
};

// Kills what the session left, as above, reporting each process killed as a denial (op "tty").
// Returns how many.
int release_terminals(Core& core);

}  // namespace sbx
