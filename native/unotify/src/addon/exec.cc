// execve/execveat: a pre-check on the resolved binary, then CONTINUE with verification:
// a tracer (a CLONE_VM helper process, so its ptrace stops are never seen by Node's own
// waitpid calls) seizes the caller with PTRACE_O_TRACEEXEC and PTRACE_INTERRUPT before
// the reply; at the exec stop — before the new program runs a single instruction — we
// re-decide on the kernel's copies (/proc/<pid>/exe, cmdline, AT_EXECFN) and SIGKILL a
// denied program. A failed exec stops at the interrupt and is simply detached.
//
// Relies on SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (the launcher sets it): PTRACE_INTERRUPT
// must not interrupt the caller's wait for our reply.
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "engine.h"
#include "exec_rules.h"
#include "memory.h"

namespace sbx {

namespace {

struct TraceJob {
  int tid = 0;
  int to_parent = -1;  // eventfd: tracer → engine
  int to_child = -1;   // eventfd: engine → tracer
  volatile int seized = 0;
  volatile int event = 0;  // 1 exec stop, 2 other stop (detached), 3 gone
  volatile int pid = 0;
  volatile int kill_it = 0;
};

void poke(int efd) {
  uint64_t one = 1;
  while (write(efd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

void wait_poke(int efd) {
  uint64_t v;
  while (read(efd, &v, sizeof v) < 0 && errno == EINTR) {
  }
}

// The engine side of wait_poke: also returns (false) when the tracer is gone without
// poking. It blocks every signal, but SIGKILL cannot be blocked, and a thread stuck here
// would hang the engine's shutdown.
bool wait_poke_or_exit(int efd, int tracer_pidfd) {
  pollfd p[2] = {{efd, POLLIN, 0}, {tracer_pidfd, POLLIN, 0}};
  const nfds_t n = tracer_pidfd >= 0 ? 2 : 1;
  for (;;) {
    if (poll(p, n, -1) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (p[0].revents & POLLIN) {
      uint64_t v;
      return read(efd, &v, sizeof v) == sizeof v;
    }
    if (n == 2 && p[1].revents) return false;
  }
}

// Runs in the CLONE_VM helper: syscalls only, no allocation.
int tracer_main(void* arg) {
  auto* j = static_cast<TraceJob*>(arg);
  // If the supervisor dies mid-verification we die too, and EXITKILL takes the tracee
  // with us: an unverified exec must never go on.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (ptrace(PTRACE_SEIZE, j->tid, nullptr, reinterpret_cast<void*>(PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL)) == 0 &&
      ptrace(PTRACE_INTERRUPT, j->tid, nullptr, nullptr) == 0)
    j->seized = 1;
  poke(j->to_parent);
  if (!j->seized) return 0;
  for (;;) {
    int st = 0;
    pid_t w = waitpid(-1, &st, __WALL);
    if (w < 0) {
      if (errno == EINTR) continue;
      j->event = 3;
      break;
    }
    if (WIFEXITED(st) || WIFSIGNALED(st)) {
      j->event = 3;
      break;
    }
    if (!WIFSTOPPED(st)) continue;
    if ((st >> 8) == (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
      j->pid = w;
      j->event = 1;
      poke(j->to_parent);
      wait_poke(j->to_child);
      if (j->kill_it)
        kill(w, SIGKILL);
      else
        ptrace(PTRACE_DETACH, w, nullptr, nullptr);
      return 0;
    }
    // The interrupt (exec failed) or a signal: detach, re-injecting a signal.
    int sig = (st >> 16) == PTRACE_EVENT_STOP ? 0 : WSTOPSIG(st);
    ptrace(PTRACE_DETACH, w, nullptr, reinterpret_cast<void*>(static_cast<long>(sig)));
    j->event = 2;
    break;
  }
  poke(j->to_parent);
  return 0;
}

std::vector<std::string> split_nul(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t z = s.find('\0', i);
    if (z == std::string::npos) z = s.size();
    out.push_back(s.substr(i, z - i));
    i = z + 1;
  }
  return out;
}

// The filename the kernel executed (AT_EXECFN points into the new stack).
std::string exec_fn(int pid) {
  std::string auxv;
  if (!read_file("/proc/" + std::to_string(pid) + "/auxv", auxv, 8192)) return std::string();
  for (size_t i = 0; i + 16 <= auxv.size(); i += 16) {
    uint64_t k, v;
    memcpy(&k, auxv.data() + i, 8);
    memcpy(&v, auxv.data() + i + 8, 8);
    if (k == AT_EXECFN) {
      std::string fn;
      read_string(pid, v, fn, 4096);
      return fn;
    }
    if (k == AT_NULL) break;
  }
  return std::string();
}

void post_event(Notif& n, int pid, const char* kind, Decision d, const std::string& target, const char* op = "exec") {
  Event e;
  e.time = now_ms();
  e.kind = kind;
  e.policy = n.policyId;
  e.rule = d.rule;
  e.pid = pid;
  e.program = target;
  e.syscall = n.syscall;
  e.op = op;
  e.target = target;
  e.err = EACCES;
  n.core->emit(std::move(e));
}

// Decision at the exec stop, on what the kernel actually loaded. true = kill.
bool verify(Notif& n, int pid) {
  std::string exe = read_link("/proc/" + std::to_string(pid) + "/exe");
  std::string cmd;
  read_file("/proc/" + std::to_string(pid) + "/cmdline", cmd, 1 << 20);
  std::vector<std::string> argv = split_nul(cmd);
  std::string fn = exec_fn(pid);
  if (exe.empty()) {
    post_event(n, pid, "error", Decision{false, -2}, "/proc/" + std::to_string(pid) + "/exe");
    return true;
  }
  // The image itself (read-only to hash it; O_PATH when the file is exec-only).
  const std::string exe_link = "/proc/" + std::to_string(pid) + "/exe";
  Fd image(open(exe_link.c_str(), O_RDONLY | O_CLOEXEC));
  if (!image.ok()) image.reset(open(exe_link.c_str(), O_PATH | O_CLOEXEC));
  Caller self;
  self.tid = self.tgid = pid;
  self.core = n.core.get();
  ExecImage img;
  img.fd = image.get();
  img.path = exe;
  img.asked = fn;
  img.argv = argv;
  img.caller = &self;
  // Every policy this process is within (a nested sbx exec) must allow the image.
  ExecVerdict v;
  const Decision d = decide_all(n, [&](const Policy& p) {
    v = decide_exec_image(p, img);
    return v.d;
  });
  if (!d.allow) {
    if (n.pol->audit && d.rule != -2) {
      n.core->audits++;
      post_event(n, pid, "audit", d, v.target);
    } else {
      n.core->denials++;
      post_event(n, pid, "deny", d, v.target, v.op);
      return true;
    }
  }
  // A `commands:` override: a fresh tag for this process (procs.h); children it forked
  // before the exec keep the policy they were born with. Not applied: never run it under
  // the policy it came from (the override may be the narrower one).
  int ov = command_override(*n.pol, exe, fn);
  if (ov >= 0 && n.core->procs().assign(pid, ov, false) < 0) {
    post_event(n, pid, "error", Decision{false, -2}, exe);
    return true;
  }
  return false;
}

// Reads argv[0..max) (pointer array in tracee memory) for the pre-check.
int read_argv(int tid, uint64_t p, std::vector<std::string>& argv, size_t max) {
  for (size_t i = 0; p && i < max; i++) {
    uint64_t ptr = 0;
    if (read_mem(tid, p + i * 8, &ptr, 8) < 0) return -EFAULT;
    if (!ptr) break;
    std::string s;
    int e = read_string(tid, ptr, s, 128 * 1024);
    if (e < 0) return e == -ENAMETOOLONG ? -E2BIG : e;
    argv.push_back(std::move(s));
  }
  return 0;
}

// Would exec of this file change credentials without no_new_privs? Set-id bits on a
// regular file, or a security.capability xattr (file capabilities, e.g. ping).
bool gains_privileges(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) return false;
  if (st.st_mode & (S_ISUID | S_ISGID)) return true;
  // fd is O_PATH (fgetxattr refuses those): go through its /proc/self/fd link.
  std::string self = "/proc/self/fd/" + std::to_string(fd);
  return getxattr(self.c_str(), "security.capability", nullptr, 0) > 0;
}

}  // namespace

void handle_exec(Notif& n) {
  const auto& a = n.req.data.args;
  const bool at = n.req.data.nr == SYS_execveat;
  const int dirfd = at ? static_cast<int>(a[0]) : AT_FDCWD;
  const uint64_t pathp = at ? a[1] : a[0], argvp = at ? a[2] : a[1];
  const int flags = at ? static_cast<int>(a[4]) : 0;
  std::string path;
  std::vector<std::string> argv;
  int e = read_string(n.caller.tid, pathp, path);
  if (e < 0) return void(reply_error(n.listener(), n.req.id, -e));
  if ((e = read_argv(n.caller.tid, argvp, argv, 64)) < 0) return void(reply_error(n.listener(), n.req.id, -e));
  if (!n.valid()) return;

  // Pre-check: the binary as resolved now (a racing thread can still change the
  // buffers, which is why the exec stop below decides again).
  Fd base;
  Resolved r;
  int re = -ENOENT;
  if (path.empty() && (flags & AT_EMPTY_PATH)) {
    re = resolve_fd(n.caller, dirfd, r);
  } else if (!path.empty()) {
    if (path[0] != '/') re = open_base(n.caller, dirfd, base);
    if (path[0] == '/' || re == 0) re = resolve(n.caller, base.get(), path, !(flags & AT_SYMLINK_NOFOLLOW), 0, false, r);
  }
  if (!n.valid()) return;
  // Refused by resolution itself (another process's /proc/<pid>/exe, an unprovable name).
  if (re == -EACCES && r.refused_op) return void(refuse(n, Decision{false, -2}, r.refused_op, r.refused, EACCES));
  // Nothing to run (execvp walking PATH): answer like the kernel, no tracer needed. A
  // file created right after we looked is the same as one created after the exec.
  if (re == -ENOENT || re == -ENOTDIR || re == -ELOOP || re == -ENAMETOOLONG)
    return void(reply_error(n.listener(), n.req.id, -re));
  if (re == 0 && r.fd.ok()) {
    ExecImage img;
    img.fd = r.fd.get();
    img.path = resolved_path(r);
    img.asked = path;
    img.argv = argv;
    img.caller = &n.caller;
    ExecVerdict v;
    const Decision d = decide_all(n, [&](const Policy& p) {
      v = decide_exec_image(p, img);
      return v.d;
    });
    if (refuse(n, d, v.op, v.target, EACCES)) return;
    const std::string& bin = img.path;
    // A set-id or file-capability program runs, but without its privileges (no_new_privs):
    // say so, once per program, so `sudo` failing is not a mystery (the supervisor prints it).
    if (gains_privileges(r.fd.get())) {
      Event ev;
      ev.time = now_ms();
      ev.kind = "privileged";
      ev.policy = n.policyId;
      ev.rule = -2;
      ev.pid = n.caller.tgid;
      ev.program = bin;
      ev.syscall = n.syscall;
      ev.op = "exec";
      ev.target = bin;
      n.core->emit(std::move(ev));
    }
  }

  TraceJob job;
  job.tid = n.caller.tid;
  job.to_parent = eventfd(0, EFD_CLOEXEC);
  job.to_child = eventfd(0, EFD_CLOEXEC);
  const size_t stack_size = 64 * 1024;
  char* stack = static_cast<char*>(malloc(stack_size));
  pid_t tracer = -1;
  if (job.to_parent >= 0 && job.to_child >= 0 && stack)
  {
    // The tracer is a process in the supervisor's process group: a terminal ^C or ^Z sent
    // to that group must not kill or stop it mid-verification. It starts with every
    // signal blocked (the mask is inherited), and keeps them blocked.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    tracer = clone(tracer_main, stack + stack_size, CLONE_VM | CLONE_FILES | CLONE_UNTRACED, &job);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  Fd tracer_pidfd(tracer >= 0 ? sys_pidfd_open(tracer, 0) : -1);
  if (tracer < 0) {
    report_error(n, "exec", path, EACCES);
  } else {
    // seize done (or failed); a tracer gone without a word has verified nothing
    if (!wait_poke_or_exit(job.to_parent, tracer_pidfd.get()) || !job.seized) {
      report_error(n, "exec", path, EACCES);  // cannot verify: fail closed
    } else {
      reply_continue(n.listener(), n.req.id);
      // exec stop, other stop, or gone (a dead tracer's EXITKILL took the tracee along)
      if (wait_poke_or_exit(job.to_parent, tracer_pidfd.get()) && job.event == 1) {
        job.kill_it = verify(n, job.pid) ? 1 : 0;
        poke(job.to_child);
      }
    }
    while (waitpid(tracer, nullptr, __WALL) < 0 && errno == EINTR) {
    }
  }
  free(stack);
  if (job.to_parent >= 0) close(job.to_parent);
  if (job.to_child >= 0) close(job.to_child);
}

}  // namespace sbx
