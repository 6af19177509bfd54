// See fs_check.h.
#include "fs_check.h"

#include <sys/stat.h>

#include <cstring>

namespace sbx {

std::string clean_path(const std::string& p, bool unlinked) {
  static const char suffix[] = " (deleted)";
  const size_t n = sizeof suffix - 1;
  if (unlinked && p.size() > n && p.compare(p.size() - n, n, suffix) == 0) return p.substr(0, p.size() - n);
  return p;
}

void use_caller_umask(const Notif& n) {
  ProcStatus st;
  umask(read_status(n.caller.tid, st) ? st.umask & 0777 : 022);
}

// Entries of another process that reveal nothing dangerous and allow no control.
static bool harmless_proc_entry(const std::string& rest) {
  static const char* ok[] = {"stat", "status", "cmdline", "comm", "statm", "limits", "cgroup", "oom_score",
                             "oom_score_adj", "wchan", "sched", "schedstat", "loginuid", "sessionid", "stat"};
  if (rest.empty() || rest == "task") return true;
  std::string r = rest;
  if (r.compare(0, 5, "task/") == 0) {  // task/<tid>[/entry]
    size_t s = r.find('/', 5);
    if (s == std::string::npos) return true;
    r = r.substr(s + 1);
  }
  for (const char* e : ok)
    if (r == e) return true;
  return false;
}

// /proc/<pid>/...: never a protected pid; another process only read-only and harmless.
static bool proc_refused(Notif& n, const std::string& real, bool need_write) {
  if (real.compare(0, 6, "/proc/") != 0) return false;
  size_t i = 6;
  while (i < real.size() && isdigit(static_cast<unsigned char>(real[i]))) i++;
  if (i == 6 || (i < real.size() && real[i] != '/')) return false;  // not a pid directory
  int pid = atoi(real.c_str() + 6);
  ProcStatus st;
  int tgid = read_status(pid, st) ? st.tgid : pid;
  if (n.core->is_protected(tgid)) return refuse(n, Decision{false, -2}, "proc", real, EACCES);
  if (tgid == n.caller.tgid) return false;
  std::string rest = i + 1 < real.size() ? real.substr(i + 1) : std::string();
  if (need_write || !harmless_proc_entry(rest)) return refuse(n, Decision{false, -2}, "proc", real, EACCES);
  return false;
}

bool check_access(Notif& n, bool need_read, bool need_write, const std::string& real) {
  if (real.empty() || real[0] != '/') return false;  // pipe:[..], socket:[..]: not a path
  if (proc_refused(n, real, need_write)) return true;
  if (need_read && refuse(n, decide_path(n.pol->read, real), "read", real, EACCES)) return true;
  if (need_write && refuse(n, decide_path(n.pol->write, real), "write", real, EACCES)) return true;
  return false;
}

}  // namespace sbx
