#include "session_pause.h"

#include <dirent.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unordered_set>

#include "procs.h"

namespace sbx {

namespace {

constexpr int kMaxScans = 20;   // a scan finds the children forked during the last one
// How long stopping everything may take in all (a fork storm inside, or a loaded machine
// where stopped tasks wait for a CPU to stop on): the person waits that long for a refusal.
// It runs on a thread of its own (addon.cc enginePause), not the JavaScript one.
constexpr int kPauseMs = 5000;
// How long every count must hold still before the pause counts as done.
constexpr int kSettleMs = 20;

// The state letter of a stat file (after the command name, which may hold ") "), or 0.
char state_at(const std::string& path) {
  std::string s;
  if (!read_file(path, s, 4096)) return 0;
  size_t close = s.rfind(')');
  return close != std::string::npos && close + 2 < s.size() && s[close + 1] == ' ' ? s[close + 2] : 0;
}

char state_of(int pid) { return state_at("/proc/" + std::to_string(pid) + "/stat"); }

// voluntary + nonvoluntary context switches of a task: a stopped task that is woken and
// runs switches at least once when it stops or sleeps again.
bool switches_of(const std::string& task, unsigned long long& out) {
  std::string s;
  if (!read_file(task + "/status", s, 8192)) return false;
  unsigned long long total = 0;
  int seen = 0;
  for (const char* key : {"voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"}) {
    size_t at = s.find(std::string("\n") + key);
    if (at == std::string::npos) return false;
    total += strtoull(s.c_str() + at + 1 + strlen(key), nullptr, 10);
    seen++;
  }
  out = total;
  return seen == 2;
}

bool send(int pidfd, int sig) { return syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) == 0; }

bool stopped_state(char st) { return st == 'T' || st == 't' || st == 'Z' || st == 'X'; }

// "thread 123 (sleep)": a thread named for the person who reads why a question was refused.
std::string thread_named(int tid) {
  std::string comm;
  read_file("/proc/" + std::to_string(tid) + "/comm", comm, 64);
  while (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return "thread " + std::to_string(tid) + (comm.empty() ? std::string() : " (" + comm + ")");
}

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
    if (st == 0 || stopped_state(st)) continue;
    Fd fd = procs.pin_member(pid);
    if (!fd.ok()) continue;  // gone, or the pid reused since the scan
    found_now.push_back(Paused{std::move(fd), pid});
  }
  for (auto& p : found_now) {
    if (!send(p.pidfd.get(), SIGSTOP)) continue;  // exited meanwhile
    found = true;
    paused_.push_back(std::move(p));
  }
  return true;
}

// A member found running: ours to stop and to continue. false: gone, or its pid reused.
bool SessionPause::adopt(ProcTable& procs, int pid) {
  for (const auto& p : paused_)
    if (p.pid == pid) return true;
  Fd fd = procs.pin_member(pid);
  if (!fd.ok()) return false;
  paused_.push_back(Paused{std::move(fd), pid});
  return true;
}

// Every thread of every member (the shell aside), with its context switches; running: one
// that is not stopped (the asking thread aside), else 0. false: /proc could not be read.
bool SessionPause::snapshot(ProcTable& procs, std::map<int, unsigned long long>& out, int& running) {
  running = 0;
  out.clear();
  for (int pid : procs.members_now()) {
    if (procs.follows_cd(pid)) continue;
    const std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* d = opendir(dir.c_str());
    if (!d) continue;  // gone since the scan
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      const int tid = atoi(e->d_name);
      const std::string task = dir + "/" + e->d_name;
      const char st = state_at(task + "/stat");
      if (st == 0) continue;  // gone
      if (tid != asking_ && !stopped_state(st)) {
        running = tid;
        // A process-wide SIGSTOP goes to one thread, the leader first; a leader blocked in a
        // killable wait (the request being answered) never takes it, so its siblings would
        // never hear of the stop: each is sent its own (the pidfd keeps the tgid ours). A
        // process forked since the last scan is adopted first, so resume() continues it (the
        // next scan would take it, stopped, for a job the user suspended).
        if ((st == 'R' || st == 'S') && adopt(procs, pid)) syscall(SYS_tgkill, pid, tid, SIGSTOP);
      }
      unsigned long long n = 0;
      if (st == 'Z' || st == 'X') n = kZombie;
      else if (!switches_of(task, n)) {
        closedir(d);
        return false;
      }
      out[tid] = n;
    }
    closedir(d);
  }
  return true;
}

// The thread still running, or 0 when all are stopped; -1: /proc could not be read.
int SessionPause::first_running(ProcTable& procs) {
  int running = 0;
  return snapshot(procs, switches_, running) ? running : -1;
}

std::string SessionPause::pause(ProcTable& procs, int asking) {
  std::lock_guard<std::mutex> g(mu_);
  asking_ = asking;
  switches_.clear();
  // Each scan stops what the last one could not see (children forked meanwhile), then waits
  // until nothing of ours runs: a scan that finds nothing new after that is complete. Then
  // the counts must hold still for kSettleMs: /proc shows a thread stopped as soon as it is
  // marked so, before it has switched out (which counts once more), and a busy machine can
  // keep it on its run queue a while. The settled snapshot is the one quiet() compares with.
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(kPauseMs);
  const auto late = [&until] { return std::chrono::steady_clock::now() > until; };
  const std::string waited = " after " + std::to_string(kPauseMs / 1000) + " s";
  for (int scan = 0; scan < kMaxScans; scan++) {
    bool found = false;
    if (!stop_new(procs, found)) return "/proc could not be read";
    for (int running; (running = first_running(procs)) != 0;) {
      if (running < 0) return "/proc could not be read";
      if (late()) return thread_named(running) + " had not stopped" + waited;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (found || scan == 0) continue;
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kSettleMs));
      std::map<int, unsigned long long> later;
      int running = 0;
      if (!snapshot(procs, later, running)) return "/proc could not be read";
      const std::string moved = running ? thread_named(running) + " was running again" : changed(later);
      if (moved.empty()) return std::string();
      if (late()) return moved + waited;
      switches_ = std::move(later);  // still settling (or woken and stopped again): once more
    }
  }
  return "new processes kept starting (" + std::to_string(kMaxScans) + " scans each found more)";
}

std::string SessionPause::changed(const std::map<int, unsigned long long>& now) const {
  // No thread added or switched since, none gone but a zombie (a thread that ran could exit).
  for (const auto& [tid, n] : now) {
    auto it = switches_.find(tid);
    if (it == switches_.end()) return thread_named(tid) + " appeared";
    if (it->second != n && it->second != kZombie) return thread_named(tid) + " ran";
  }
  for (const auto& [tid, n] : switches_)
    if (n != kZombie && !now.count(tid)) return "thread " + std::to_string(tid) + " ran and exited";
  return std::string();
}

std::string SessionPause::quiet(ProcTable& procs) {
  std::lock_guard<std::mutex> g(mu_);
  std::map<int, unsigned long long> now;
  int running = 0;
  if (switches_.empty()) return "nothing was paused";
  if (!snapshot(procs, now, running)) return "/proc could not be read";
  if (running) return thread_named(running) + " is running";
  return changed(now);
}

void SessionPause::resume() {
  std::lock_guard<std::mutex> g(mu_);
  for (auto& p : paused_) send(p.pidfd.get(), SIGCONT);
  paused_.clear();
  switches_.clear();
}

}  // namespace sbx
