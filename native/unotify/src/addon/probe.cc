// Kernel probing for real: children install filters and a parent answers them. Children
// only make raw syscalls (no allocation) before _exit. They share our memory (clone with
// CLONE_VM) unless they must not: a fork of Node costs ~10 ms in page-table copies and
// copy-on-write faults, and `sbx exec` probes at every start.
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "fdpass.h"
#include "sys.h"

namespace sbx {

namespace {

sock_filter trap_getppid[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};
sock_filter allow_all[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};

long install(sock_filter* f, unsigned short len, unsigned long flags) {
  sock_fprog prog{len, f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

// Exit status of a child, or -1 when it had to be killed / was signalled. Waits on a pidfd,
// so a probe costs its children's run time, not a polling interval.
int reap(pid_t pid, int timeout_ms) {
  Fd pidfd(sys_pidfd_open(pid, 0));
  if (pidfd.ok()) {
    pollfd p{pidfd.get(), POLLIN, 0};
    while (poll(&p, 1, timeout_ms) < 0 && errno == EINTR) {
    }
  }
  int st;
  pid_t w = waitpid(pid, &st, WNOHANG | __WALL);
  if (w == 0 && !pidfd.ok()) {  // no pidfd (older kernel): poll the old way
    for (int waited = 0; w == 0 && waited < timeout_ms; waited += 10) {
      usleep(10000);
      w = waitpid(pid, &st, WNOHANG | __WALL);
    }
  }
  if (w == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  if (w == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, __WALL);
  }
  return -1;
}

// A child on its own stack in our memory (its own fd table: no CLONE_FILES), or -1. With
// `wait_exit` we are suspended until it exits (CLONE_VFORK). Filters, no_new_privs and fds
// are per task; what is per memory (dumpable, the ptrace target's marker) needs fork().
struct VmChild {
  pid_t pid = -1;
  void* stack = MAP_FAILED;
  static constexpr size_t kStack = 64 * 1024;
  VmChild(int (*fn)(void*), void* arg, bool wait_exit) {
    stack = mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return;
    int flags = CLONE_VM | SIGCHLD | (wait_exit ? CLONE_VFORK : 0);
    pid = clone(fn, static_cast<char*>(stack) + kStack, flags, arg);
  }
  ~VmChild() {  // only once reaped: the stack is the child's until it exits
    if (stack != MAP_FAILED) munmap(stack, kStack);
  }
  VmChild(const VmChild&) = delete;
  VmChild& operator=(const VmChild&) = delete;
};

struct SimpleArgs {
  unsigned long flags;
  bool notif;
};

int simple_child_main(void* p) {
  auto* a = static_cast<SimpleArgs*>(p);
  long r = a->notif ? install(trap_getppid, 4, a->flags) : install(allow_all, 1, a->flags);
  _exit(r >= 0 ? 0 : 1);
}

bool simple_child(unsigned long flags, bool notif) {
  SimpleArgs args{flags, notif};
  VmChild child(simple_child_main, &args, true);
  if (child.pid < 0) return false;
  return reap(child.pid, 2000) == 0;
}

// The child traps getppid twice; we answer the first with a plain ADDFD (+ its number as
// the return value) and the second with ADDFD_FLAG_SEND. Exit code bits report which
// returned a valid fd; 0x10 says both replies arrived at all.
int notify_child_main(void* p) {
  int sock = *static_cast<int*>(p);
  long lis = install(trap_getppid, 4, SECCOMP_FILTER_FLAG_NEW_LISTENER);
  if (lis < 0) _exit(1);
  if (send_fd_bytes(sock, static_cast<int>(lis), "l", 1) < 0) _exit(1);
  close(static_cast<int>(lis));
  long a = syscall(SYS_getppid);
  long b = syscall(SYS_getppid);
  int code = 0x10;
  if (a > 2 && fcntl(static_cast<int>(a), F_GETFD) >= 0) code |= 1;
  if (b > 2 && fcntl(static_cast<int>(b), F_GETFD) >= 0) code |= 2;
  _exit(code);
}

void probe_notify(KernelFeatures& k) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return;
  VmChild child(notify_child_main, &sv[1], false);  // runs while we answer it
  pid_t pid = child.pid;
  if (pid < 0) {
    close(sv[0]);
    close(sv[1]);
    return;
  }
  close(sv[1]);
  Fd sock(sv[0]);
  Fd lis(recv_fd(sock.get(), 2000));
  if (lis.ok()) {
    Fd devnull(open("/dev/null", O_RDONLY | O_CLOEXEC));
    for (int round = 0; round < 2; round++) {
      pollfd p{lis.get(), POLLIN, 0};
      if (poll(&p, 1, 2000) != 1) break;
      seccomp_notif req{};
      if (ioctl(lis.get(), SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) break;
      seccomp_notif_addfd a{};
      a.id = req.id;
      a.srcfd = static_cast<uint32_t>(devnull.get());
      if (round == 1) {
        a.flags = SECCOMP_ADDFD_FLAG_SEND;
        if (ioctl(lis.get(), SECCOMP_IOCTL_NOTIF_ADDFD, &a) >= 0) continue;  // answered
        reply_error(lis.get(), req.id, ENOSYS);
      } else {
        int nfd = ioctl(lis.get(), SECCOMP_IOCTL_NOTIF_ADDFD, &a);
        reply_value(lis.get(), req.id, nfd >= 0 ? nfd : -ENOSYS);
      }
    }
  }
  int code = reap(pid, 3000);
  if (code >= 0 && (code & 0x10)) {
    k.userNotify = true;
    k.addfd = code & 1;
    k.addfdSend = code & 2;
  }
}

// What the supervisor does to every sandboxed process: read the memory of a process of the
// same user that is neither it nor its descendant (process_vm_readv for every path a program
// opens; pidfd_getfd needs the same access). Two siblings act it out: R reads a marker in T.
// Yama ptrace_scope 1 refuses this without CAP_SYS_PTRACE, 2 for everyone but root, 3 always.
volatile long ptrace_marker = 0;

// The reader may share our memory (its own task reads another process); the target may not:
// it makes its memory dumpable, which would make ours so.
int read_marker_main(void* p) {
  pid_t target = *static_cast<pid_t*>(p);
  long got = 0;
  iovec local{&got, sizeof got};
  iovec remote{const_cast<long*>(&ptrace_marker), sizeof got};
  ssize_t n = process_vm_readv(target, &local, 1, &remote, 1, 0);
  _exit(n == static_cast<ssize_t>(sizeof got) && got == 0x5b785b78 ? 0 : 1);
}

bool probe_ptrace_others() {
  ptrace_marker = 0x5b785b78;
  int ready[2], hold[2];
  if (pipe2(ready, O_CLOEXEC) < 0) return false;
  if (pipe2(hold, O_CLOEXEC) < 0) return close(ready[0]), close(ready[1]), false;
  pid_t target = fork();
  if (target == 0) {
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);  // as a sandboxed program is, whatever our own state
    close(hold[1]);
    char c = 'r';
    while (write(ready[1], &c, 1) < 0 && errno == EINTR) {
    }
    while (read(hold[0], &c, 1) < 0 && errno == EINTR) {
    }
    _exit(0);  // the hold pipe closed: the reader is done
  }
  close(ready[1]);
  close(hold[0]);
  char c;
  ssize_t got_ready;
  while ((got_ready = read(ready[0], &c, 1)) < 0 && errno == EINTR) {
  }
  close(ready[0]);
  int code = -1;
  if (target > 0 && got_ready == 1) {  // the target is dumpable now: read it
    VmChild reader(read_marker_main, &target, true);
    if (reader.pid > 0) code = reap(reader.pid, 2000);
  }
  close(hold[1]);
  if (target > 0) reap(target, 2000);
  return code == 0;
}

}  // namespace

KernelFeatures probe_kernel() {
  KernelFeatures k;
  utsname u;
  if (uname(&u) == 0) k.kernel = u.release, k.arch = u.machine;
  k.seccompFilter = simple_child(0, false);
  if (k.seccompFilter) {
    probe_notify(k);
    k.waitKillableRecv =
        simple_child(SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, true);
  }
  Fd pidfd(sys_pidfd_open(getpid(), 0));
  k.pidfdOpen = pidfd.ok();
  if (pidfd.ok()) {
    Fd got(sys_pidfd_getfd(pidfd.get(), pidfd.get(), 0));
    k.pidfdGetfd = got.ok();
  }
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  k.landlockAbi = abi > 0 ? static_cast<int>(abi) : 0;
  k.ptraceOthers = probe_ptrace_others();
  return k;
}

}  // namespace sbx
