// Debuggers inside (ptrace, process_vm_readv/writev; /proc/<pid>/mem & co in path_resolve.cc):
// a sandboxed tracer may reach a process of its own session under its own policy, so tracing
// never gains rights. Never one under the session's strictest policy (a process sbx moved
// there keeps what its wider policy gave it: fds, memory, environment). Never the session's
// interactive shell (its policy follows cd: tomorrow it may be wider), never sbx's own
// processes (supervisor, keepers), never anything outside the session. The kernel's own
// check (same uid, dumpable, Yama) applies on top.
//
// Every ptrace request is decided, not only the attach: a tracee can change policy while
// attached (an exec under a `commands:` override), and the kernel runs a request on whatever
// process holds the pid number at that moment. The arguments are registers, so an allowed
// request CONTINUEs. process_vm_readv/writev are done by us on the target's /proc/<pid>/mem,
// opened while a pidfd shows the pid still belongs to the process decided on, so a recycled
// pid is never the one read or written.
#include <fcntl.h>
#include <linux/ptrace.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <string>
#include <vector>

#include "engine.h"
#include "memory.h"
#include "syscall_numbers.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#ifndef PTRACE_O_SUSPEND_SECCOMP
#define PTRACE_O_SUSPEND_SECCOMP (1 << 21)
#endif

namespace sbx {

const char* debug_refusal(Core& core, int tracer, int tracerPolicy, int tracee) {
  if (tracee <= 0) return "no such process";
  if (tracee == tracer) return nullptr;  // its own threads (the kernel refuses an attach)
  return debug_refusal_as(core, tracer, tracerPolicy, tracee, core.procs().member_policy(tracee));
}

const char* debug_refusal_as(Core& core, int tracer, int tracerPolicy, int tracee, int pol) {
  if (core.is_protected(tracee) || core.is_protected(tracer)) return "sbx's own process";
  ProcTable& procs = core.procs();
  if (pol < 0) return "not of this session";
  if (procs.undumpable(tracee)) return "a non-dumpable process (it, or the process it was forked from, asked)";
  if (procs.follows_cd(tracee)) return "the session's shell, whose policy follows cd";
  if (procs.holds_shell_environ(tracee)) return "a fork of the session's shell (its environment block holds what the hook hid)";
  if (procs.sealed(tracee)) return "an sbx exec that narrowed itself (it holds what its flags hide from its command)";
  if (procs.follows_cd(tracer)) return "the session's shell does not debug";
  // A process under the strictest policy may have come there from a wider one (a subshell
  // that left its project: hints.ts) and still hold what that policy gave it: never debugged.
  if (pol == procs.strict()) return "runs under the strictest policy (it may hold what a wider one gave it)";
  if (pol != tracerPolicy) return "runs under another policy";
  return nullptr;
}

bool may_debug(const Caller& c, int tgid) {
  return c.core && debug_refusal(*c.core, c.tgid, c.policy, tgid) == nullptr;
}

const char* traced_refusal(Core& core, int tid, int tgid, int newPolicy) {
  std::string s;
  if (!read_file("/proc/" + std::to_string(tid) + "/status", s, 8192)) return "no such process";
  size_t p = s.find("\nTracerPid:");
  const int tracer = p == std::string::npos ? 0 : atoi(s.c_str() + p + 11);
  if (tracer <= 0) return nullptr;
  const int tpol = core.procs().member_policy(tracer);
  if (tpol < 0 && !core.is_protected(tracer)) return nullptr;  // a debugger outside the sandbox has every right already
  return debug_refusal_as(core, tracer, tpol, tgid, newPolicy);
}

namespace {

// "Uid:\treal\teffective\tsaved\tfs" (or Gid:) of /proc/<pid>/status.
bool ids_of(const std::string& status, const char* key, unsigned long v[4]) {
  size_t p = status.find(key);
  if (p == std::string::npos) return false;
  const char* s = status.c_str() + p + strlen(key);
  for (int i = 0; i < 4; i++) {
    char* end;
    v[i] = strtoul(s, &end, 10);
    if (end == s) return false;
    s = end;
  }
  return true;
}

unsigned long long hex_field(const std::string& status, const char* key) {
  size_t p = status.find(key);
  return p == std::string::npos ? ~0ull : strtoull(status.c_str() + p + strlen(key), nullptr, 16);
}

int yama_scope() {
  std::string s;
  return read_file("/proc/sys/kernel/yama/ptrace_scope", s, 64) ? atoi(s.c_str()) : 0;
}

bool descendant_of(int pid, int ancestor) {
  for (int hops = 0; pid > 1 && hops < 4096; hops++) {
    if (pid == ancestor) return true;
    ProcStatus st;
    if (!read_status(pid, st)) return false;
    pid = st.ppid;
  }
  return false;
}

}  // namespace

// The kernel's check for the caller itself (__ptrace_may_access, real credentials), which a
// copy made by us would otherwise skip when the engine is more privileged than the caller
// (as root): same real uid/gid as the target's real, effective and saved ones, the target's
// capabilities a subset of the caller's, the target dumpable (a non-dumpable process's
// /proc/<pid> belongs to root), Yama. Stricter than the kernel only for Yama exceptions
// (PR_SET_PTRACER), which /proc does not show.
const char* kernel_refusal(int caller_tgid, int target) {
  std::string cs, ts;
  if (!read_file("/proc/" + std::to_string(caller_tgid) + "/status", cs, 8192) ||
      !read_file("/proc/" + std::to_string(target) + "/status", ts, 8192))
    return "no such process";
  unsigned long cu[4], cg[4], tu[4], tg[4];
  if (!ids_of(cs, "\nUid:", cu) || !ids_of(cs, "\nGid:", cg) || !ids_of(ts, "\nUid:", tu) || !ids_of(ts, "\nGid:", tg))
    return "credentials unreadable";
  for (int i = 0; i < 3; i++)
    if (tu[i] != cu[0] || tg[i] != cg[0]) return "another user's process";
  const unsigned long long cp = hex_field(cs, "\nCapPrm:"), tp = hex_field(ts, "\nCapPrm:");
  if ((tp & ~cp) != 0) return "a process with capabilities the caller lacks";
  struct stat st;
  if (stat(("/proc/" + std::to_string(target)).c_str(), &st) != 0) return "no such process";
  if (tu[1] != 0 && st.st_uid != tu[1]) return "a non-dumpable process";
  const int yama = yama_scope();
  if (yama >= 2 || (yama == 1 && !descendant_of(target, caller_tgid))) return "Yama ptrace_scope";
  return nullptr;
}

namespace {

// Requests that change nothing in the tracee's memory or registers (stops, resumes, reads).
// Anything else — pokes, SETREGS/SETREGSET, POKEUSER, ARCH_PRCTL, SETSIGINFO, requests this
// table does not know — taints a tracee sbx has not verified yet.
bool reads_only(long req) {
  static const long ok[] = {PTRACE_PEEKTEXT, PTRACE_PEEKDATA, PTRACE_PEEKUSR, PTRACE_CONT, PTRACE_KILL,
                            PTRACE_SINGLESTEP, PTRACE_GETREGS, PTRACE_GETFPREGS, PTRACE_ATTACH, PTRACE_DETACH,
                            PTRACE_SYSCALL, PTRACE_SETOPTIONS, PTRACE_GETEVENTMSG, PTRACE_GETSIGINFO,
                            PTRACE_GETREGSET, PTRACE_SEIZE, PTRACE_INTERRUPT, PTRACE_LISTEN, PTRACE_PEEKSIGINFO,
                            PTRACE_GETSIGMASK, 0x420c /* SECCOMP_GET_FILTER */, 0x420d /* SECCOMP_GET_METADATA */,
                            0x420e /* GET_SYSCALL_INFO */, 0x420f /* GET_RSEQ_CONFIGURATION */};
  for (long r : ok)
    if (r == req) return true;
  return false;
}

bool deny(Notif& n, const std::string& what, const char* why) {
  return refuse(n, Decision{false, -2}, "proc", what + " (" + why + ")", EPERM);
}

// process_vm_readv/writev(pid, local_iov, liovcnt, remote_iov, riovcnt, flags), done by us.
void vm_copy(Notif& n, bool write) {
  const auto& a = n.req.data.args;
  const int pid = static_cast<int>(a[0]);
  const char* name = write ? "process_vm_writev" : "process_vm_readv";
  if (a[5] != 0 || a[2] > IOV_MAX || a[4] > IOV_MAX) return void(reply_error(n.listener(), n.req.id, EINVAL));
  // Our own process cannot be recycled while this thread waits for us: the kernel may do it.
  if (pid == n.caller.tgid || pid == n.caller.tid) return void(reply_continue(n.listener(), n.req.id));
  if (pid <= 0) return void(reply_error(n.listener(), n.req.id, ESRCH));
  std::vector<iovec> local(a[2]), remote(a[4]);
  if ((a[2] && read_mem(n.caller.tid, a[1], local.data(), local.size() * sizeof(iovec)) < 0) ||
      (a[4] && read_mem(n.caller.tid, a[3], remote.data(), remote.size() * sizeof(iovec)) < 0))
    return void(reply_error(n.listener(), n.req.id, EFAULT));
  // Pin the process first; everything read about pid afterwards is about it as long as the
  // pidfd says it has not exited (a pid is recycled only after its process is reaped).
  Fd pidfd(sys_pidfd_open(pid, 0));
  if (!pidfd.ok()) pidfd.reset(sys_pidfd_open(pid, PIDFD_THREAD));
  if (!pidfd.ok()) return void(reply_error(n.listener(), n.req.id, ESRCH));
  const int tgid = tgid_of(pid);
  const char* why = debug_refusal(*n.core, n.caller.tgid, n.policyId, tgid);
  if (!why) why = kernel_refusal(n.caller.tgid, pid);
  if (!n.valid()) return;
  if (why && deny(n, std::string(name) + " " + std::to_string(pid), why)) return;
  if (write && (why = override_write_refusal(*n.core, tgid)) && deny(n, std::string(name) + " " + std::to_string(pid), why)) return;
  if (write) n.core->execs().taint(tgid);  // before the write (exec_state.h)
  Fd mem(open(("/proc/" + std::to_string(pid) + "/mem").c_str(), (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC));
  const int open_err = errno;
  // Still alive after the decision and the open: both were about the process pinned.
  if (!pidfd_alive(pidfd.get())) return void(reply_error(n.listener(), n.req.id, ESRCH));
  if (!mem.ok()) return void(reply_error(n.listener(), n.req.id, open_err == ENOENT ? ESRCH : EPERM));
  // The mem fd holds the process's address space as of the open: nothing later (its death,
  // the pid recycled) can redirect the copy.
  char buf[65536];
  size_t li = 0, loff = 0;
  int64_t done = 0;
  bool fault = false;
  for (size_t ri = 0; ri < remote.size() && li < local.size() && !fault; ri++) {
    uint64_t raddr = reinterpret_cast<uint64_t>(remote[ri].iov_base);
    size_t rleft = remote[ri].iov_len;
    while (rleft > 0 && li < local.size()) {
      if (loff == local[li].iov_len) {
        li++, loff = 0;
        continue;
      }
      size_t chunk = rleft;
      if (chunk > local[li].iov_len - loff) chunk = local[li].iov_len - loff;
      if (chunk > sizeof buf) chunk = sizeof buf;
      const uint64_t laddr = reinterpret_cast<uint64_t>(local[li].iov_base) + loff;
      ssize_t got;
      if (write) {
        if (read_mem(n.caller.tid, laddr, buf, chunk) < 0) {
          fault = true;
          break;
        }
        got = pwrite(mem.get(), buf, chunk, static_cast<off_t>(raddr));
      } else {
        got = pread(mem.get(), buf, chunk, static_cast<off_t>(raddr));
        if (got > 0 && write_mem(n.caller.tid, laddr, buf, static_cast<size_t>(got)) < 0) got = -1;
      }
      if (got <= 0) {
        fault = true;
        break;
      }
      done += got;
      raddr += static_cast<uint64_t>(got);
      rleft -= static_cast<size_t>(got);
      loff += static_cast<size_t>(got);
      if (static_cast<size_t>(got) < chunk) {
        fault = true;
        break;
      }
    }
  }
  if (!n.valid()) return;
  reply_value(n.listener(), n.req.id, done > 0 || !fault ? done : -EFAULT);
}

// ptrace(request, pid, addr, data)
void ptrace_call(Notif& n) {
  const auto& a = n.req.data.args;
  const long req = static_cast<long>(a[0]);
  const int pid = static_cast<int>(a[1]);
  // Seccomp suspended on the tracee would be the end of the sandbox. The kernel refuses it to
  // a tracer under seccomp (and, since 5.18, on SEIZE too: CVE-2022-30594); we refuse it always.
  if ((req == PTRACE_SEIZE || req == PTRACE_SETOPTIONS) && (a[3] & PTRACE_O_SUSPEND_SECCOMP)) {
    if (!n.valid()) return;
    if (deny(n, "ptrace " + std::to_string(pid), "PTRACE_O_SUSPEND_SECCOMP")) return;
  }
  if (req == PTRACE_TRACEME) {
    // The caller's parent becomes its tracer: decided from the parent's side.
    ProcStatus st;
    const int parent = read_status(n.caller.tgid, st) ? st.ppid : -1;
    const int ppol = parent > 0 ? n.core->procs().member_policy(parent) : -1;
    const char* why = ppol < 0 ? "its parent is not of this session"
                               : debug_refusal(*n.core, parent, ppol, n.caller.tgid);
    if (!n.valid()) return;
    if (why && deny(n, "ptrace traceme by " + std::to_string(parent), why)) return;
    return void(reply_continue(n.listener(), n.req.id));
  }
  // Letting go of a tracee without a signal gives nothing (the kernel allows it only to its
  // tracer): a tracee that changed policy while attached can still be released.
  if (req == PTRACE_DETACH && a[3] == 0) return void(reply_continue(n.listener(), n.req.id));
  const int tgid = tgid_of(pid);
  if (!n.valid()) return;
  // No such process: answer it ourselves (a CONTINUE could meet a recycled pid).
  if (tgid <= 0) return void(reply_error(n.listener(), n.req.id, ESRCH));
  const char* why = debug_refusal(*n.core, n.caller.tgid, n.policyId, tgid);
  if (why && deny(n, "ptrace " + std::to_string(pid), why)) return;
  // Recorded before the kernel carries it out (exec_state.h taint).
  if (!reads_only(req)) {
    if ((why = override_write_refusal(*n.core, tgid)) && deny(n, "ptrace " + std::to_string(pid), why)) return;
    n.core->execs().taint(tgid);
  }
  reply_continue(n.listener(), n.req.id);
}

}  // namespace

void handle_debug(Notif& n) {
  const int nr = n.req.data.nr;
  if (nr == __NR_process_vm_readv) return vm_copy(n, false);
  if (nr == __NR_process_vm_writev) return vm_copy(n, true);
  ptrace_call(n);
}

}  // namespace sbx
