// A session's processes still holding a terminal from outside once the session's command
// (or shell) has exited are killed. `sbx exec -- npm install` returns to your unsandboxed
// shell; a process it left behind (a postinstall that forked, called setsid and kept its
// stdin) could otherwise go on reading that terminal — racing your shell and `sudo` for what
// you type — and writing to it, with the session's network. Outside terminals are every pty
// but the ones the session allocated itself (fs_tty.h), the virtual consoles and the console.
// A process that let its terminal go (a daemon on /dev/null, `nohup`) keeps running.
#pragma once

namespace sbx {

class Core;

// Kills (SIGKILL, through a pidfd) every member holding an outside terminal; reports each as
// a denial (op "tty"). Returns how many.
int release_terminals(Core& core);

}  // namespace sbx
