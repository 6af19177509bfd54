// See dumpable.h.
#include "dumpable.h"

#include <sys/prctl.h>

#include "engine.h"

namespace sbx {

namespace {

// prctl(2)'s values (the kernel's SUID_DUMP_DISABLE / SUID_DUMP_USER; 2 is refused from userspace).
constexpr uint64_t kNotDumpable = 0, kDumpable = 1;

}  // namespace

void handle_dumpable(Notif& n) {
  const auto& a = n.req.data.args;
  const int option = static_cast<int>(a[0]);
  ProcTable& procs = n.core->procs();
  if (option == PR_GET_DUMPABLE) {
    if (procs.undumpable(n.caller.tgid)) return void(reply_value(n.listener(), n.req.id, kNotDumpable));
    return void(reply_continue(n.listener(), n.req.id));  // the kernel's answer is ours too
  }
  if (option != PR_SET_DUMPABLE) return void(report_error(n, "proc", "prctl", EPERM));  // never trapped
  if (a[1] != kNotDumpable && a[1] != kDumpable) return void(reply_error(n.listener(), n.req.id, EINVAL));
  // The caller waits in this notification, so tgid is its process while the id is valid (as
  // for every tag the engine moves: procs.h).
  if (!n.valid()) return;
  const bool dumpable = a[1] == kDumpable;
  if (procs.set_dumpable(n.caller.tgid, n.policyId, dumpable) != 0) return void(reply_error(n.listener(), n.req.id, EAGAIN));
  if (!n.valid()) return;
  reply_value(n.listener(), n.req.id, 0);
}

}  // namespace sbx
