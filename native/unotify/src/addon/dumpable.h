// Non-dumpable processes, emulated (prctl PR_SET_DUMPABLE / PR_GET_DUMPABLE).
//
// Why not let the kernel do it: a non-dumpable process grants ptrace access only to
// CAP_SYS_PTRACE, and the engine's own reads of a process (process_vm_readv for a path,
// pidfd_getfd for a socket) need that access. Run as a normal user, every open of a program
// that hardens itself this way — ssh-agent, gpg-agent, password managers — failed inside with
// EFAULT. So the engine answers the request and marks the process's tag (procs.h
// set_dumpable), and refuses what the kernel would have refused the process's siblings:
// debugging it (debug.cc: ptrace, process_vm_*, /proc/<pid>/mem and its other private /proc
// entries). PR_GET_DUMPABLE reports it.
// The tag, not a table of pids: the kernel copies it into a forked child (ssh-agent and
// gpg-agent fork into the background afterwards, and fork is not trapped), it stays across
// exec, and it is in the keeper's memfd, so a restarted supervisor still refuses. Still weaker
// than the kernel in one way, stated in the README: unsandboxed processes of the same user can
// debug it.
#pragma once

namespace sbx {

// (handle_dumpable, the prctl handler, is declared with the others in engine.h.)

}  // namespace sbx
