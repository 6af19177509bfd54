// See fs_check.h.
#include "fs_check.h"

#include "bare_repo.h"
#include "hooks_path.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>

namespace sbx {

void use_caller_umask(const Notif& n) {
  ProcStatus st;
  umask(read_status(n.caller.tid, st) ? st.umask & 0777 : 022);
}

// /proc/<pid>/... by its (proven) text: never a protected pid; another process only
// read-only and harmless (proc_entry_allowed). Resolution has already decided every
// component on the way, before following anything; this is the last word on the object.
// *debugged: the object is a debuggable process's memory, decided here alone (writing it is
// what a debugger does, not a file write for the policy's write rules).
static bool proc_refused(Notif& n, const std::string& real, bool need_write, bool* debugged) {
  if (real.compare(0, 6, "/proc/") != 0) return false;
  size_t i = 6;
  while (i < real.size() && isdigit(static_cast<unsigned char>(real[i]))) i++;
  if (i == 6 || (i < real.size() && real[i] != '/')) return false;  // not a pid directory
  int pid = atoi(real.c_str() + 6);
  std::vector<std::string> below;
  for (size_t j = i; j < real.size();) {
    size_t k = real.find('/', j + 1);
    if (k == std::string::npos) k = real.size();
    if (k > j + 1) below.push_back(real.substr(j + 1, k - j - 1));
    j = k;
  }
  // Its own memory (gdb opens its own /proc/<pid>/mem too): no file of the policy's.
  const bool own_mem = !below.empty() && below.back() == "mem";
  if (pid == n.caller.tgid || pid == n.caller.tid) return *debugged = own_mem, false;  // our own (never recycled while we wait)
  ProcStatus st;
  int tgid = read_status(pid, st) ? st.tgid : pid;
  if (n.core->is_protected(tgid)) return refuse(n, Decision{false, -2}, "proc", real, EACCES);
  if (tgid == n.caller.tgid) return *debugged = own_mem, false;
  if (proc_entry_allowed(below, need_write)) return false;
  // A process the caller may debug: what a debugger needs, within the kernel's own check
  // (we open it with our credentials).
  if (may_debug(n.caller, tgid) && proc_debug_entry_allowed(below, need_write) && !kernel_refusal(n.caller.tgid, pid)) {
    *debugged = !below.empty() && below.back() == "mem";
    // A write fd onto its memory: whatever it writes later, recorded now (exec_state.h). A
    // read fd too: it keeps reading that address space after a `commands:` override widens
    // the process (a fresh open would be refused then), so one taken before sbx verified the
    // image is recorded the same way (taint() records nothing for a verified process).
    if (need_write) {
      if (const char* why = override_write_refusal(*n.core, tgid)) return refuse(n, Decision{false, -2}, "proc", real + " (" + why + ")", EACCES);
    }
    if (need_write || *debugged) n.core->execs().taint(tgid);
    return false;
  }
  return refuse(n, Decision{false, -2}, "proc", real, EACCES);
}

bool check_access(Notif& n, bool need_read, bool need_write, const std::string& real) {
  // Resolution proves every name it hands out (path_resolve.h): an empty or relative
  // text here is a bug, not "not a path".
  if (real.empty() || real[0] != '/') return refuse(n, Decision{false, -2}, "identity", real, EACCES);
  bool debugged = false;
  if (proc_refused(n, real, need_write, &debugged)) return true;
  if (need_read && refuse(n, decide_all(n, [&](const Policy& p) { return decide_path(p.read, real); }), "read", real, EACCES)) return true;
  // The memory of a process this caller may debug is not a file under the write rules.
  if (need_write && !debugged &&
      refuse(n, decide_all(n, [&](const Policy& p) { return decide_path(p.write, real); }), "write", real, EACCES))
    return true;
  // A hooks directory or an included config of any repository (hooks_path.h): git outside runs
  // what is there.
  if (need_write && !debugged) {
    const std::string why = hooks_dir_reason(real, false);
    if (!why.empty()) return refuse(n, Decision{false, -2}, "write", real + " (" + why + ")", EACCES);
  }
  return false;
}

bool check_resolved(Notif& n, bool need_read, bool need_write, const Resolved& r) {
  if (!r.unnamed) return check_access(n, need_read, need_write, r.path);
  // An unnamed object of the caller's own: no name to decide on, and no more access than
  // the caller already holds it with.
  const bool can_read = r.held == O_RDONLY || r.held == O_RDWR;
  const bool can_write = r.held == O_WRONLY || r.held == O_RDWR;
  if ((need_read && !can_read) || (need_write && !can_write))
    return refuse(n, Decision{false, -2}, "identity", r.path, EACCES);
  return false;
}

bool git_dir_refused(Notif& n, BareGuard& g, int dirfd, const std::string& real, bool new_empty_dir) {
  const char* why = bare_place_reason(g, dirfd, real, new_empty_dir);
  if (!why) return false;
  if (why == kHeadOverSymlink) return refuse(n, Decision{false, -2}, "write", real + " (" + why + ")", EACCES);
  return refuse(n, Decision{false, kGitDirRule}, "write", real, EACCES);
}

// The directory is found by the file's proven path and must hold this very file by that name
// (else it moved meanwhile: refused). A config next to a HEAD has one link (bare_repo.cc), so
// a config with more is not next to one, and that directory is a config's only one.
bool git_dir_write_refused(Notif& n, BareGuard& g, const std::string& real, const struct stat& st, bool hooks_only) {
  if (!S_ISREG(st.st_mode)) return false;
  const size_t slash = real.rfind('/');
  const std::string name = real.substr(slash + 1);
  Fd dir(open(slash == 0 ? "/" : real.substr(0, slash).c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat here;
  const bool same = dir.ok() && fstatat(dir.get(), name.c_str(), &here, AT_SYMLINK_NOFOLLOW) == 0 &&
                    here.st_dev == st.st_dev && here.st_ino == st.st_ino;
  if (same && (bare_role(name) == BareRole::kCompanion && st.st_nlink > 1 ? true : !bare_write_reason(g, dir.get(), real, hooks_only)))
    return false;
  return refuse(n, Decision{false, kGitDirRule}, "write", real, EACCES);
}

bool resolve_failed(Notif& n, int err, const Resolved& r) {
  if (err >= 0) return false;
  if (err == -EACCES && r.refused_op) return refuse(n, Decision{false, -2}, r.refused_op, r.refused, EACCES);
  reply_error(n.listener(), n.req.id, -err);
  return true;
}

bool in_fixed_dev(const std::string& path) {
  const auto below = [&](const char* dir) { return path.compare(0, strlen(dir), dir) == 0; };
  return below("/dev/") && !below("/dev/shm/") && !below("/dev/mqueue/");
}

bool dev_name_refused(Notif& n, const std::string& real, bool device) {
  return (device || in_fixed_dev(real)) &&
         refuse(n, Decision{false, -2}, "write", real + " (a name in /dev or a device node: written through, never made, removed, moved or replaced)", EPERM);
}

bool hooks_dir_moved(Notif& n, const std::string& real) {
  const std::string why = hooks_dir_reason(real, true);
  return !why.empty() && refuse(n, Decision{false, -2}, "write", real + " (" + why + ")", EACCES);
}

}  // namespace sbx
