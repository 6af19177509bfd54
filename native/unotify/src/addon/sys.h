// Thin wrappers over the syscalls the engine uses, plus small /proc readers.
#pragma once
#include <dirent.h>
#include <sys/syscall.h>
#include <sys/types.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

namespace sbx {

// Owns one fd; closes it on scope exit.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// One fd owned by several tables (a process pidfd the process table and the exec table both
// keep): closed when the last one lets go.
using SharedFd = std::shared_ptr<const Fd>;


int sys_pidfd_open(pid_t pid, unsigned flags);
int sys_pidfd_getfd(int pidfd, int fd, unsigned flags);

// seccomp listener operations (listener = the engine's dup of the fd).
bool notif_id_valid(int listener, uint64_t id);
// Asks for synchronous wake-ups (SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, 6.6+); false when the
// kernel does not know it (nothing changes then).
bool notif_sync_wakeups(int listener);
// The id of the last notification this thread sent an answer for (tried to: it may have been
// gone): what lets Core::handle see a handler that returned without answering.
uint64_t last_answer_sent_here();
int reply_continue(int listener, uint64_t id);
int reply_error(int listener, uint64_t id, int err);  // err: positive errno
int reply_value(int listener, uint64_t id, int64_t val);
// Injects srcfd into the tracee and answers the syscall with the new fd number.
// Injects srcfd (and closes it, whatever happens) then answers with its number in the tracee.
int reply_addfd(int listener, uint64_t id, int srcfd, bool cloexec);
// Answers with `fd` (ours: injected, then closed), or with the error -fd when fd < 0. A caller
// gone meanwhile (ENOENT) is not answered; any other failure is. reply_addfd's result.
int reply_fd(int listener, uint64_t id, int fd, bool cloexec);

// readlink of /proc/self/fd/N: the path the kernel really resolved.
std::string fd_path(int fd);

// Calls visit(pid) for each process in /proc, in pid order, as the directory is read (one made
// during the walk with a higher pid is met too), until visit returns false. false: /proc could
// not be read.
template <class Visit>
bool for_each_pid(Visit visit) {
  DIR* d = opendir("/proc");
  if (!d) return false;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;  // the rest of /proc is not a process
    if (!visit(atoi(e->d_name))) break;
  }
  closedir(d);
  return true;
}
// Our /proc/self/fd directory (O_PATH), opened once: saves the /proc and self lookups.
int self_fd_dir();
// Reopens one of our fds through its /proc/self/fd magic link with new flags.
int reopen_fd(int fd, int flags, mode_t mode = 0);
std::string read_link(const std::string& path);
// The whole file, or false: unreadable, or longer than `max` (what decides on a file's
// contents never decides on a part of it: a variable or argument past the bound was missed).
bool read_file(const std::string& path, std::string& out, size_t max = 1 << 20);
// Bounds a process's argv or environment (/proc/<pid>/cmdline, environ): the kernel lets an
// exec carry at most 6 MiB of strings (3/4 of _STK_LIM, fs/exec.c), so these are read whole.
constexpr size_t kExecStringsMax = 8 << 20;

struct ProcStatus {
  int tgid = -1;
  int ppid = -1;
  unsigned umask = 022;
};
bool read_status(int pid, ProcStatus& st);
// Field 22 of /proc/<pid>/stat; 0 when unreadable.
uint64_t proc_starttime(int pid);
// Process group id (field 5 of /proc/<pid>/stat), -1 when unreadable.
int proc_pgrp(int pid);
// Parent's pid (field 4 of /proc/<pid>/stat), -1 when unreadable.
int proc_ppid(int pid);
// Its session id (the session leader's pid) and its terminal's foreground group (tpgid, -1
// without one); false if unreadable.
bool proc_session_tty(int pid, int* session, int* foreground);

bool is_procfs(int fd);
// The process (or thread) behind a pidfd has not exited: its pidfd is not readable yet.
// False for no pidfd (-1): nothing pins it, so nothing says it is the same process.
bool pidfd_alive(int pidfd);
// Is `fd`, just opened, in the top quarter of this process's fd table? The kernel hands out
// the lowest free number, so a number that high means the table is mostly in use: a cache
// that would keep it (one pidfd per thread or process seen) lets it go instead, and so the
// supervisor, which every session shares, keeps a quarter of its fds for the work itself
// (helper-95 #04: thousands of idle threads, each pinned, took them all).
bool fd_table_running_short(int fd);
inline bool pidfd_alive(const SharedFd& fd) { return fd && pidfd_alive(fd->get()); }
bool is_proc_root(int fd);

}  // namespace sbx
