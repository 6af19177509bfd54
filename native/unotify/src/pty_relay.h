/* The command's own pseudo-terminal and its relay outside the sandbox: see pty_relay.c. */
#ifndef SBX_PTY_RELAY_H
#define SBX_PTY_RELAY_H

/*
 * Called by sbx-launch before the keeper, the filter and everything it hands to the
 * sandbox. Returns 0 when no relay is needed (no stdio fd is a terminal, or the launcher
 * leads the terminal's session) and, when one is, in the forked child, which goes on to
 * become the command: its own session, the pty as its controlling terminal on those of fds
 * 0-2 that were the outer terminal. The parent relays and exits with the child's status; it
 * never returns. Failure: -errno, with *step naming what failed (the caller refuses to run
 * the command; nothing ran).
 */
int pty_relay_start(const char **step);

#endif
