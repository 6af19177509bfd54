// The engine core shared by its threads: listener, policy snapshots, process table,
// event queue and the ThreadSafeFunctions that carry results to JavaScript.
#pragma once
#include <linux/seccomp.h>
#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine_event.h"
#include "event_queue.h"
#include "exec_state.h"
#include "dumpable.h"
#include "fs_tty.h"
#include "ipc.h"
#include "journal.h"
#include "net_registry.h"
#include "path_resolve.h"
#include "policy.h"
#include "procs.h"
#include "receiver_role.h"
#include "session_pause.h"
#include "terminal_release.h"

namespace sbx {

struct HintMsg {
  std::string id, verb, arg, cwd;
  int pid = 0, tgid = 0, policy = 0;
};

struct EngineConfig {
  int listener = -1;  // already dup'ed, owned by Core
  int strictPolicy = 0;  // for a process the engine cannot place, and an unknown policy id
  int threads = 2;
  std::vector<int> protectedPids;
  int journalFd = -1;  // not owned; mapped
  std::string launcherPath;  // sbx-launch: its image is sbx's own, never decided (exec.cc)
};

class Core : public std::enable_shared_from_this<Core> {
 public:
  Core(const EngineConfig& cfg, Napi::ThreadSafeFunction ev, Napi::ThreadSafeFunction hint,
       Napi::ThreadSafeFunction closed);
  ~Core();
  void start();
  // JS thread; idempotent. sessionOver: no engine will serve this listener again (an in-process
  // `sbx exec` whose program exited): what the session made goes, as when its last process exits.
  void stop(bool sessionOver = false);

  void set_policy(std::shared_ptr<const Policy> p);
  void drop_policy(int id);
  // The snapshot with this id; the strict policy for an id not (or no longer) set.
  std::shared_ptr<const Policy> policy(int id);
  bool has_policy(int id);
  // The policy whose `commands:` entry `id` is (the one a process under that override came
  // from), or null when `id` is no override.
  std::shared_ptr<const Policy> override_base(int id);
  int assign(int pid, int policy, bool followsCd, bool sealed = false) { return procs_.assign(pid, policy, followsCd, sealed); }
  int reply_hint(uint64_t id, bool has_content, const std::string& content, int err);
  void stats(uint64_t& decisions, uint64_t& denials, uint64_t& audits, size_t& processes, int64_t& pending);
  // Traps so far by syscall name (only the ones seen).
  std::vector<std::pair<const char*, uint64_t>> traps_by_syscall();

  // Used by the handlers.
  int listener() const { return listener_; }
  // Unique in this process: whose a process-wide record's entry is (port_squat.cc).
  uint64_t serial() const { return serial_; }
  bool is_protected(int tgid) const;
  // A snapshot: the set is swapped whole (set_protected) while handlers read it.
  std::shared_ptr<const std::vector<int>> protected_pids() const;
  void set_protected(std::vector<int> pids);  // this process is always added
  void emit(Event&& e);
  // Files unlinked at the next denial (before its reply): the shells' fresh markers, so the
  // hook asks at its very next prompt and hears about it (src/hook/fresh.ts). Disarmed after.
  void set_notice_files(std::vector<std::string> files);
  // The events queued for JS right now; inFlight = an older batch is on its way to JS.
  std::vector<Event> take_events(bool& inFlight);
  void post_hint(uint64_t id, bool cloexec, int slot, HintMsg&& m);
  // A deferred answer (hint, helper thread) frees its journal slot when it is sent.
  void journal_release(int slot) { journal_.release(slot); }
  ProcTable& procs() { return procs_; }
  ExecTable& execs() { return execs_; }  // which processes run a verified image (exec.cc)
  // Is this open file sbx's own launcher (same dev/ino as launcherPath at start)?
  bool is_launcher(int fd) const;
  PtyTable& ptys() { return ptys_; }  // ptys this session allocated (fs_tty.cc)
  ServedSockets& served() { return served_; }  // socket files this session bound (net.cc)
  IpcTable& ipc() { return ipc_; }  // SysV objects and message queues this session made (ipc.cc)
  SessionPause& pauser() { return pause_; }  // its processes stopped while a person answers
  // The session's command or shell: its terminals are recorded now, and when it exits what it
  // left is killed as terminal_release.h says. JS thread.
  // terminalFds: the terminals the root started on, as its keeper recorded them before the
  // root ran anything (dup'd here); null: read them from the root now (it has run nothing yet).
  void watch_root(int pid, const std::vector<int>* terminalFds);
  SessionTerminals& terminals() { return terminals_; }
  // Has the session's command ended (terminal_release.h)? Terminals from outside are refused then.
  bool terminals_released() const { return terminalsReleased_.load(); }
  std::atomic<uint64_t> decisions{0}, denials{0}, audits{0};
  std::atomic<int64_t> pending{0};
  // What is trapped, by syscall number (one relaxed increment per notification), and how
  // often an image was verified (exec.cc): the bench counts traps per workload with these.
  static constexpr int kCountedNrs = 512;
  std::atomic<uint64_t> trapsByNr[kCountedNrs] = {};
  std::atomic<uint64_t> verifiedAfterExec{0}, verifiedFirstSight{0};
  // Calls waiting on helper threads (net.cc run_call: connects and sends; accept.cc: accepts;
  // fs_open.cc: FIFO opens):
  // each holds a thread and fds for as long as its peer keeps it waiting, and may outlive the
  // session. Beyond kMaxBlockedCalls a call of this session that would wait fails at once.
  static constexpr int kMaxBlockedCalls = 256;
  std::atomic<int> blockedCalls{0};
  std::atomic<int> heldFds{0};       // passed fds those sends hold (net.cc Msg)

 private:
  void receive_loop(int index);
  void watch_loop();
  void interrupt_receivers();
  void flush_loop();
  static constexpr int kClaim = -2;  // handle(): take a new journal slot
  void handle(seccomp_notif req, const std::shared_ptr<Core>& self, int slot = kClaim);
  void recover(const std::shared_ptr<Core>& self);
  Journal journal_;
  const uint64_t serial_;
  int wakefd_;
  // Notifications waiting for the first policy (journal leftovers, early arrivals).
  struct Parked {
    seccomp_notif req;
    int slot;
  };
  std::mutex recoverMu_;
  std::vector<Parked> recover_;
  void release_tsfns();
  int listener_;
  int stopfd_;
  int strict_;
  int nthreads_;
  mutable std::mutex protMu_;
  std::shared_ptr<const std::vector<int>> protected_;
  ProcTable procs_;
  ExecTable execs_;
  dev_t launcherDev_ = 0;
  ino_t launcherIno_ = 0;
  PtyTable ptys_;
  ServedSockets served_;
  IpcTable ipc_;
  SessionPause pause_;
  std::atomic<int> rootPidfd_{-1};
  SessionTerminals terminals_;
  std::atomic<bool> terminalsReleased_{false};
  void release_terminals_once();
  std::mutex polMu_;
  std::unordered_map<int, std::shared_ptr<const Policy>> policies_;
  std::vector<std::thread> threads_;
  ReceiverRole role_;  // when threads_ other than the first receive
  std::atomic<int> receiversAlive_{0};
  // Per receiver: is it (about to be) blocked in NOTIF_RECV? stop() signals those first: a
  // signal in the middle of a decision would interrupt the engine's own waits (ADDFD waits,
  // interruptibly, for the program to take the fd) and fail the program's call. Only one
  // still busy after a grace period is signalled too (interrupt_receivers).
  std::unique_ptr<std::atomic<bool>[]> inRecv_;
  std::thread watcher_;
  std::thread flusher_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> closedSeen_{0};
  std::mutex evMu_;
  std::condition_variable evCv_;
  EventQueue evq_;
  // Set while JS works through the last batch: the next one waits (and keeps folding).
  std::shared_ptr<std::atomic<bool>> jsBusy_ = std::make_shared<std::atomic<bool>>(false);
  void post_events(std::vector<Event>&& batch);
  bool evStop_ = false;
  std::mutex noticeMu_;
  std::vector<std::string> noticeFiles_;
  std::atomic<bool> noticeArmed_{false};
  void fire_notice_files();
  bool closed_ = false;
  std::mutex tsMu_;
  bool tsReleased_ = false;
  Napi::ThreadSafeFunction tsEvents_, tsHint_, tsClosed_;
  struct PendingHint {
    bool cloexec;
    int slot;
  };
  std::mutex hintMu_;
  std::unordered_map<uint64_t, PendingHint> hints_;
  bool stopped_ = false;
  std::atomic<bool> ipcEnded_{false};  // ipc_session_ended ran (once: hang-up or stop)
};

// Everything a handler needs about one notification.
struct Notif {
  std::shared_ptr<Core> core;
  seccomp_notif req{};
  Caller caller;
  int policyId = 0;
  std::shared_ptr<const Policy> pol;
  const char* syscall = "?";
  int slot = -1;       // journal slot
  bool deferred = false;  // answered later by someone who then frees `slot`
  int listener() const { return core->listener(); }
  bool valid() const;
};

// Engine events as JavaScript sees them (EngineEvent in native.d.ts).
Napi::Array events_to_js(Napi::Env env, const std::vector<Event>& events);

// A decision under a nested policy holds only if every policy it was narrowed within
// (Policy::within, up the chain) allows it too: the first refusal wins. A missing or too
// deep chain refuses. An outer policy's refusal is reported as rule kOuterRule (its rule
// index means nothing in the nested policy's origins).
constexpr int kOuterRule = -3;
// A refusal by the git-directory guard (bare_repo.h): a HEAD next to a config or commondir git
// would run code from. Like a built-in rule, never lifted by a policy or audit mode.
constexpr int kGitDirRule = -4;
// The caller's policy decides first; every policy it was narrowed within must allow too (a
// refusal by one of those is kOuterRule, which audit mode never lifts). A refusal the caller's
// own audit mode would lift does not end the walk: the outer policies are enforced whatever
// the inner one's mode, else a nested policy in audit mode would lift its outer's refusals.
template <class F>
Decision decide_all(Notif& n, F f) {
  Decision d = f(*n.pol);
  if (!d.allow && !(n.pol->audit && d.own)) return d;
  int w = n.pol->within;
  for (int depth = 0; w >= 0; depth++) {
    std::shared_ptr<const Policy> outer = depth < 8 ? n.core->policy(w) : nullptr;
    if (!outer) return Decision{false, -2};
    Decision o = f(*outer);
    if (!o.allow) {
      o.rule = kOuterRule;
      return o;
    }
    w = outer->within;
  }
  return d;
}

// Does the caller's policy, or any policy it was narrowed within (the chain decide_all
// walks), have this property? A chain that cannot be walked answers yes: callers ask about
// what restricts (or needs more work), so an unknown chain fails closed.
template <class F>
bool chain_any(Notif& n, F f) {
  if (f(*n.pol)) return true;
  int w = n.pol->within;
  for (int depth = 0; w >= 0; depth++) {
    std::shared_ptr<const Policy> outer = depth < 8 ? n.core->policy(w) : nullptr;
    if (!outer || f(*outer)) return true;
    w = outer->within;
  }
  return false;
}

// The signal that breaks a receiver's wait (a handler that does nothing, no SA_RESTART:
// the interrupted call fails with EINTR). Unblocked in receiver threads.
int engine_wake_signal();

// Reply helpers that also keep the stats and emit events.
// Returns true when the caller must stop (a denial was sent); false = go on (allowed/audit).
bool refuse(Notif& n, Decision d, const char* op, const std::string& target, int err);
void report_error(Notif& n, const char* op, const std::string& target, int err);
// A refusal that answers nothing (the call goes on: accept drops one connection and waits
// for the next): counted and reported as refuse() does.
void report_refusal(Notif& n, Decision d, const char* op, const std::string& target, int err);
std::string program_of(int pid);
double now_ms();

// Handlers (each answers the notification, possibly from a helper thread).
void handle_open(Notif& n);
void handle_fs(Notif& n);
void handle_exec(Notif& n);
// Called for every notification before it is decided: verifies the caller's running image
// when an exec is pending or the process is unknown (exec.cc). false: the notification was
// answered (the process killed, or refused) or is gone; decide nothing.
bool verify_before_decision(Notif& n);
// THE exec decision on an image is decide_exec_image (exec_rules.h), at the notification
// (the resolved binary) and at verification (/proc/<pid>/exe).
void handle_net(Notif& n);
void handle_accept(Notif& n);  // accept/accept4 on our copy: clients outside refused (accept.cc)
void handle_signal(Notif& n);
void handle_proc(Notif& n);    // other processes: priority, affinity, limits, F_SETOWN
void handle_fdmeta(Notif& n);  // metadata changes through an fd (fchmod, fsetxattr, chattr)
// The caller's fd `fd` as our own fd on the same open file description (fs_fdmeta.cc): a
// racing thread may replace the caller's entry, ours stays. 0; -ESRCH: the caller is gone
// (answer nothing); -EBADF: no such fd; -ENFILE (-ENOMEM): this process is out of fds (memory).
int copy_caller_fd(Notif& n, int fd, Fd& out);
void handle_async(Notif& n);   // signal-driven I/O switched on (fcntl O_ASYNC, FIOASYNC): proc.cc
void handle_debug(Notif& n);   // ptrace, process_vm_readv/writev (debug.cc)
void handle_dumpable(Notif& n);  // prctl PR_SET_DUMPABLE / PR_GET_DUMPABLE (dumpable.cc)
void handle_prctl(Notif& n);     // prctl: dumpable, or PR_SET_SECCOMP (self_restrict.cc)
void handle_self_restrict(Notif& n);  // seccomp filter, Landlock ruleset of its own (self_restrict.cc)
void handle_ipc(Notif& n);     // SysV IPC and POSIX message queues: the session's own objects (ipc.cc)
// The session is over (no sandboxed process left): its SysV objects are removed.
void ipc_session_ended(Core& core);
// Why `tracer` (under `tracerPolicy`) may not debug process `tracee`; nullptr = it may: a
// process of the same session under the same policy or the strict one, not the shell, not sbx's.
const char* debug_refusal(Core& core, int tracer, int tracerPolicy, int tracee);
bool may_debug(const Caller& c, int tgid);  // debug_refusal for the caller
// The same with the tracee's policy given (`pol`, -1: not of this session).
const char* debug_refusal_as(Core& core, int tracer, int tracerPolicy, int tracee, int pol);
// Thread `tid` of `tgid` is about to take policy `newPolicy` (a `commands:` override at exec):
// why its tracer, if any, may not go on debugging it under that policy; nullptr = fine.
const char* traced_refusal(Core& core, int tid, int tgid, int newPolicy);
// A debugger's write (memory, registers) into process `tgid`: why it is refused, nullptr =
// fine. Refused while tgid's image is not verified yet and is one its policy gives a
// `commands:` override (exec.cc): code written there before the check would run with the
// override's rights — in the process, and in a fork it makes before its first trapped call.
const char* override_write_refusal(Core& core, int tgid);
// The kernel's ptrace access check for the caller on `target` (uid, caps, dumpable, Yama),
// for what the engine does on its behalf with its own credentials; nullptr = allowed.
const char* kernel_refusal(int caller_tgid, int target);
// May the caller act on process `tgid` (signal it, change its limits)? Only its own
// session's processes whose policy is no wider than its own; never sbx's.
bool may_act_on(Notif& n, int tgid);
bool may_act_on_group(Notif& n, int pgrp);  // every member of the process group
// The members of a group the caller may act on; false when one is out of its reach.
// sbx's own members are left out and reported (sbx exec shares its group with the command).
bool group_members(Notif& n, int pgrp, std::vector<int>& members, bool& has_protected);
int tgid_of(int tid);                        // -1 when the thread is gone
int pidfd_target(int tid, int fd);           // the pid pidfd `fd` of process `tid` refers to; 0 if none

}  // namespace sbx
