#include "session_pause.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unordered_set>

#include "procs.h"

namespace sbx {

namespace {

constexpr int kMaxScans = 20;       // a scan finds the children forked during the last one
constexpr int kSettleMs = 300;      // how long a signalled process may take to stop

// The state letter of a stat file (after the command name, which may hold ") "), or 0.
char state_at(const char* path) {
  Fd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) return 0;
  char buf[512];
  ssize_t n = read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char* close = strrchr(buf, ')');
  return close && close[1] == ' ' ? close[2] : 0;
}

char state_of(int pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  return state_at(path);
}

bool send(int pidfd, int sig) { return syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) == 0; }

}  // namespace

// One scan of /proc: every member not yet stopped by us (nor by anyone: state T/t) is
// stopped, except the interactive shell. found: a member was stopped in this scan.
bool SessionPause::stop_new(ProcTable& procs, bool& found) {
  found = false;
  std::unordered_set<int> mine;
  for (const auto& p : paused_) mine.insert(p.pid);
  std::vector<Paused> found_now;
  for (int pid : procs.members_now()) {
    if (mine.count(pid) || procs.follows_cd(pid)) continue;
    const char st = state_of(pid);
    if (st == 0 || st == 'T' || st == 't' || st == 'Z' || st == 'X') continue;
    Fd fd(sys_pidfd_open(static_cast<pid_t>(pid), 0));
    if (!fd.ok()) continue;  // gone
    // The pid may have been reused between the scan and the pidfd: check the task it holds.
    if (procs.member_policy(pid) < 0) continue;
    found_now.push_back(Paused{std::move(fd), pid});
  }
  for (auto& p : found_now) {
    if (!send(p.pidfd.get(), SIGSTOP)) continue;  // exited meanwhile
    found = true;
    paused_.push_back(std::move(p));
  }
  return true;
}

// None of ours runs: every thread of each is stopped, dead, or in an uninterruptible wait
// (it stops before running another instruction of its own). A thread still running is sent
// the stop itself: a process-wide SIGSTOP goes to one thread, the leader first, and a leader
// blocked in a killable wait (the request being answered) never takes it, so its siblings
// would never hear of the stop.
bool SessionPause::all_stopped() {
  for (const auto& p : paused_) {
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", p.pid);
    DIR* d = opendir(dir);
    if (!d) continue;  // gone
    bool running = false;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      const std::string path = std::string(dir) + "/" + e->d_name + "/stat";
      const char st = state_at(path.c_str());
      if (st == 'R' || st == 'S') {
        running = true;
        syscall(SYS_tgkill, p.pid, atoi(e->d_name), SIGSTOP);  // the pidfd keeps the tgid ours
      }
    }
    closedir(d);
    if (running) return false;
  }
  return true;
}

bool SessionPause::pause(ProcTable& procs) {
  std::lock_guard<std::mutex> g(mu_);
  // Each scan stops what the last one could not see (children forked meanwhile), then waits
  // until nothing of ours runs: a scan that finds nothing new after that is complete.
  for (int scan = 0; scan < kMaxScans; scan++) {
    bool found = false;
    if (!stop_new(procs, found)) return false;
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(kSettleMs);
    while (!all_stopped()) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (!found && scan > 0) return true;
  }
  return false;
}

void SessionPause::resume() {
  std::lock_guard<std::mutex> g(mu_);
  for (auto& p : paused_) send(p.pidfd.get(), SIGCONT);
  paused_.clear();
}

}  // namespace sbx
