// Syscall wrappers and /proc readers (see sys.h).
#include "sys.h"

#include <fcntl.h>
#include <poll.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sbx {

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

int sys_pidfd_open(pid_t pid, unsigned flags) { return static_cast<int>(syscall(SYS_pidfd_open, pid, flags)); }
int sys_pidfd_getfd(int pidfd, int fd, unsigned flags) {
  return static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, fd, flags));
}

bool notif_id_valid(int listener, uint64_t id) {
  return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS  // 6.6; older headers lack it
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

bool notif_sync_wakeups(int listener) {
  return ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) == 0;
}

namespace {
thread_local uint64_t tl_answered = 0;
}  // namespace

uint64_t last_answer_sent_here() { return tl_answered; }

static int send_resp(int listener, seccomp_notif_resp& r) {
  tl_answered = r.id;
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &r) == 0) return 0;
  return -errno;
}

int reply_continue(int listener, uint64_t id) {
  seccomp_notif_resp r{};
  r.id = id;
  r.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  return send_resp(listener, r);
}

int reply_error(int listener, uint64_t id, int err) {
  seccomp_notif_resp r{};
  r.id = id;
  r.error = -err;
  return send_resp(listener, r);
}

int reply_value(int listener, uint64_t id, int64_t val) {
  seccomp_notif_resp r{};
  r.id = id;
  if (val < 0)
    r.error = static_cast<int32_t>(val);
  else
    r.val = val;
  return send_resp(listener, r);
}

int reply_addfd(int listener, uint64_t id, int srcfd, bool cloexec) {
  // Two steps (ADDFD, then SEND with the new number) rather than SECCOMP_ADDFD_FLAG_SEND:
  // with FLAG_SEND the kernel marks the notification answered before the tracee has
  // installed the fd, and if the supervisor is killed while it waits, the pending fd is
  // dropped and the tracee's open() "succeeds" with value 0 — its stdin. Split, a crash
  // between the steps leaves the notification unanswered, so the journal replays it
  // (costing at most one leaked fd in the tracee). The price is a second wake-up of the
  // tracee per open: ~25 → ~35 µs per open+close here (side by side, 5 runs each).
  seccomp_notif_addfd a{};
  a.id = id;
  a.srcfd = static_cast<uint32_t>(srcfd);
  a.newfd_flags = cloexec ? O_CLOEXEC : 0;
  // ADDFD waits, interruptibly, for the program to take the fd; interrupted, the kernel
  // withdraws it (nothing was installed), so asking again is safe. stop()'s wake-up signal
  // is meant for receivers in RECV, but one sent just as RECV returned can land here.
  int newfd;
  do newfd = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
  while (newfd < 0 && errno == EINTR);
  const int err = errno;
  // Our copy is closed before the reply: the program runs on at once (a compiler writes a
  // binary and exits, its parent execs it), and a write reference still held here would make
  // that exec fail with ETXTBSY.
  close(srcfd);
  if (newfd < 0) return -err;
  int r = reply_value(listener, id, newfd);
  return r < 0 ? r : newfd;
}

int reply_fd(int listener, uint64_t id, int fd, bool cloexec) {
  if (fd < 0) return reply_error(listener, id, -fd);
  int r = reply_addfd(listener, id, fd, cloexec);  // closes fd
  if (r < 0 && r != -ENOENT) reply_error(listener, id, -r);
  return r;
}

std::string read_link(const std::string& path) {
  char buf[4097];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
  if (n < 0) return std::string();
  return std::string(buf, static_cast<size_t>(n));
}

int self_fd_dir() {
  static int dir = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
  return dir;
}

std::string fd_path(int fd) {
  char buf[4097];
  ssize_t n = readlinkat(self_fd_dir(), std::to_string(fd).c_str(), buf, sizeof buf - 1);
  if (n < 0) return std::string();
  return std::string(buf, static_cast<size_t>(n));
}

int reopen_fd(int fd, int flags, mode_t mode) {
  return openat(self_fd_dir(), std::to_string(fd).c_str(), flags, mode);
}

bool read_file(const std::string& path, std::string& out, size_t max) {
  Fd f(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!f.ok()) return false;
  out.clear();
  char buf[4096];
  for (;;) {
    ssize_t n = read(f.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max) return false;
  }
  return true;
}

bool read_status(int pid, ProcStatus& st) {
  std::string s;
  if (!read_file("/proc/" + std::to_string(pid) + "/status", s, 8192)) return false;
  auto field = [&](const char* key) -> const char* {
    size_t p = s.find(key);
    return p == std::string::npos ? nullptr : s.c_str() + p + strlen(key);
  };
  if (const char* v = field("\nTgid:")) st.tgid = atoi(v);
  if (const char* v = field("\nPPid:")) st.ppid = atoi(v);
  if (const char* v = field("Umask:")) st.umask = static_cast<unsigned>(strtoul(v, nullptr, 8));
  return st.tgid > 0;
}

static bool stat_fields(int pid, std::string& after) {
  std::string s;
  if (!read_file("/proc/" + std::to_string(pid) + "/stat", s, 4096)) return false;
  size_t p = s.rfind(')');  // comm may contain spaces and parentheses
  if (p == std::string::npos || p + 2 > s.size()) return false;
  after = s.substr(p + 2);  // starts at field 3 (state)
  return true;
}

static std::string nth_field(const std::string& after, int n /* 3-based as in proc(5) */) {
  size_t pos = 0;
  for (int i = 3; i < n; i++) {
    pos = after.find(' ', pos);
    if (pos == std::string::npos) return std::string();
    pos++;
  }
  size_t end = after.find(' ', pos);
  return after.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

uint64_t proc_starttime(int pid) {
  std::string a;
  if (!stat_fields(pid, a)) return 0;
  return strtoull(nth_field(a, 22).c_str(), nullptr, 10);
}

int proc_pgrp(int pid) {
  std::string a;
  if (!stat_fields(pid, a)) return -1;
  return atoi(nth_field(a, 5).c_str());
}

int proc_ppid(int pid) {
  std::string a;
  if (!stat_fields(pid, a)) return -1;
  return atoi(nth_field(a, 4).c_str());
}

bool proc_session_tty(int pid, int* session, int* foreground) {
  std::string a;
  if (!stat_fields(pid, a)) return false;
  *session = atoi(nth_field(a, 6).c_str());
  *foreground = atoi(nth_field(a, 8).c_str());
  return true;
}

bool fd_table_running_short(int fd) {
  struct rlimit r;  // read each time (a cheap call, made once per task first seen): it can be lowered
  const long limit = getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur != RLIM_INFINITY ? static_cast<long>(r.rlim_cur) : 1024L;
  return fd >= limit - limit / 4;
}

bool pidfd_alive(int pidfd) {
  if (pidfd < 0) return false;
  pollfd p{pidfd, POLLIN, 0};
  return poll(&p, 1, 0) == 0;  // readable = exited
}

bool is_procfs(int fd) {
  struct statfs sf;
  return fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

bool is_proc_root(int fd) {
  struct stat st;
  return is_procfs(fd) && fstat(fd, &st) == 0 && st.st_ino == 1;
}

}  // namespace sbx
