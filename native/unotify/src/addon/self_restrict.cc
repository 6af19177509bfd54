// A seccomp filter or Landlock ruleset a sandboxed process adds to itself stays on every
// program it execs, and answers before sbx does: a seccomp errno of 0 makes chdir() "succeed"
// without moving, a refused open sends a program to its fallback. Below a process that can
// start a program with a `commands:` override, that program would be steered with rights the
// filter's author lacks: refused there. Elsewhere it only narrows its own descendants, and
// goes ahead (the kernel reads the filter after we answer; nothing here depends on it) — with
// the process's tag marked filtered first (procs.h mark_filtered): a policy that gains
// commands: later (the shell moving into a project that has them, an edited policy file)
// still gives no override under that filter (exec.cc).
#include <linux/prctl.h>
#include <sys/prctl.h>

#include "engine.h"

namespace sbx {

void handle_self_restrict(Notif& n) {
  const bool overrides = n.core->override_base(n.policyId) != nullptr || chain_any(n, [](const Policy& p) { return !p.commands.empty(); });
  if (overrides) {
    refuse(n, Decision{false, -2}, "proc",
           "seccomp/landlock (a filter of its own where a commands: override can start: it would steer that program)", EPERM);
    return;
  }
  // Marked before the filter exists (it is added after our answer), so nothing forked under it
  // carries an unmarked tag. Not marked: not added.
  if (n.core->procs().mark_filtered(n.caller.tgid, n.policyId) < 0) {
    refuse(n, Decision{false, -2}, "proc", "seccomp/landlock (its process could not be marked as holding a filter of its own)", EPERM);
    return;
  }
  reply_continue(n.listener(), n.req.id);
}

void handle_prctl(Notif& n) {
  if (static_cast<int>(n.req.data.args[0]) == PR_SET_SECCOMP) return handle_self_restrict(n);
  handle_dumpable(n);
}

}  // namespace sbx
