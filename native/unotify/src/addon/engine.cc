// Engine threads: receivers (blocked in NOTIF_RECV), one watcher (stop, wake, hang-up)
// and one flusher that folds events and batches them to JavaScript (EventQueue).
#include "engine.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "memory.h"
#include "port_squat.h"
#include "sys.h"
#include "syscall_numbers.h"
#include "terminal_release.h"

namespace sbx {

// A batch leaves when this many distinct events wait, or every kFlushEvery.
static constexpr size_t kFlushAt = 256;
static constexpr auto kFlushEvery = std::chrono::milliseconds(50);

static const char* syscall_name(int nr);

double now_ms() {
  using namespace std::chrono;
  return static_cast<double>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

std::string program_of(int pid) {
  std::string p = read_link("/proc/" + std::to_string(pid) + "/exe");
  if (!p.empty()) return p;
  std::string comm;
  read_file("/proc/" + std::to_string(pid) + "/comm", comm, 64);
  while (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

bool Notif::valid() const { return notif_id_valid(core->listener(), req.id); }

static void emit_for(Notif& n, const char* kind, Decision d, const char* op, const std::string& target, int err) {
  Event e;
  e.time = now_ms();
  e.kind = kind;
  e.policy = n.policyId;
  e.rule = d.rule;
  e.pid = n.caller.tgid;
  e.program = program_of(n.caller.tid);
  e.syscall = n.syscall;
  e.op = op;
  e.target = target;
  e.err = err;
  n.core->emit(std::move(e));
}

bool refuse(Notif& n, Decision d, const char* op, const std::string& target, int err) {
  if (d.allow) return false;
  // Audit mode lifts the policy's own rules only (Decision::own): never a floor, a built-in
  // refusal, the git guard, a deputy outside the session, or the enforcement of a policy
  // this one was narrowed within.
  if (n.pol && n.pol->audit && d.own && d.rule != kOuterRule) {
    n.core->audits++;
    emit_for(n, "audit", d, op, target, err);
    return false;
  }
  n.core->denials++;
  emit_for(n, "deny", d, op, target, err);
  reply_error(n.listener(), n.req.id, err);
  return true;
}

void report_refusal(Notif& n, Decision d, const char* op, const std::string& target, int err) {
  n.core->denials++;
  emit_for(n, "deny", d, op, target, err);
}

void report_error(Notif& n, const char* op, const std::string& target, int err) {
  n.core->denials++;
  emit_for(n, "error", Decision{false, -2}, op, target, err);
  reply_error(n.listener(), n.req.id, err);
}

namespace {
uint64_t next_serial() {
  static std::atomic<uint64_t> last{0};
  return ++last;
}
}  // namespace

Core::Core(const EngineConfig& cfg, Napi::ThreadSafeFunction ev, Napi::ThreadSafeFunction hint,
           Napi::ThreadSafeFunction closed)
    : serial_(next_serial()),
      wakefd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      listener_(cfg.listener),
      stopfd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      strict_(cfg.strictPolicy),
      nthreads_(cfg.threads),
      procs_(cfg.strictPolicy),
      tsEvents_(ev),
      tsHint_(hint),
      tsClosed_(closed) {
  set_protected(cfg.protectedPids);
  // Notifications a crashed engine had received: finished once a policy is in place. The
  // rest of the memfd holds the process tags a crashed engine handed out (procs.h), then,
  // in a keeper's memfd of this version or later, the session's IPC objects (ipc.h).
  if (cfg.journalFd >= 0 && journal_.open(cfg.journalFd))
    for (const auto& t : journal_.take_live()) recover_.push_back(Parked{t.notif, t.slot});
  struct stat st;
  const size_t memfdSize = cfg.journalFd >= 0 && fstat(cfg.journalFd, &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
  if (tag_store_bytes(memfdSize) > 0) procs_.open_store(cfg.journalFd, kJournalBytes, tag_store_bytes(memfdSize));
  if (memfdSize > kTagStoreEnd) ipc_.open_store(cfg.journalFd, kTagStoreEnd, memfdSize - kTagStoreEnd);
  if (!cfg.launcherPath.empty() && stat(cfg.launcherPath.c_str(), &st) == 0) {
    launcherDev_ = st.st_dev;
    launcherIno_ = st.st_ino;
  }
}

bool Core::is_launcher(int fd) const {
  struct stat st;
  return launcherIno_ != 0 && fstat(fd, &st) == 0 && st.st_dev == launcherDev_ && st.st_ino == launcherIno_;
}

Core::~Core() {
  if (stopfd_ >= 0) close(stopfd_);
  if (wakefd_ >= 0) close(wakefd_);
  if (listener_ >= 0) close(listener_);
  if (rootPidfd_ >= 0) close(rootPidfd_);
}

// The receiver blocks in NOTIF_RECV itself: one syscall per notification before the handler
// (the earlier epoll_wait + poll(0) + RECV under a mutex cost two more per decision), plus,
// when the caller is another task than the last one, a poll(0) after it that lets the other
// threads receive while calls queue up (receiver_role.h).
// What RECV does not see — the stop request, the wake after a policy set, the listener's
// hang-up — the watcher thread sees, and a blocked RECV is broken by a thread-directed
// signal (its handler does nothing; without SA_RESTART the ioctl returns EINTR), so stop()
// never hangs.
static int wake_signal() { return SIGRTMIN + 5; }
int engine_wake_signal() { return wake_signal(); }

static void install_wake_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = [](int) {};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: the blocked RECV must return
    sigaction(wake_signal(), &sa, nullptr);
  });
}

void Core::start() {
  install_wake_handler();
  // A trapped task wakes the receivers on its own CPU and sleeps; a reply wakes it on the
  // receiver's. Only where threads run changes (no answer does): on a 2-CPU box the two
  // receivers' wake per notification cost 49 -> 41.5 µs CPU per open (bench/results/
  // trapfloor). Kernels before 6.6 refuse it and keep the default.
  notif_sync_wakeups(listener_);
  receiversAlive_ = nthreads_;
  inRecv_.reset(new std::atomic<bool>[static_cast<size_t>(nthreads_)]);
  for (int i = 0; i < nthreads_; i++) inRecv_[i] = false;
  for (int i = 0; i < nthreads_; i++) threads_.emplace_back([this, i] { receive_loop(i); });
  watcher_ = std::thread([this] { watch_loop(); });
  flusher_ = std::thread([this] { flush_loop(); });
}

std::shared_ptr<const std::vector<int>> Core::protected_pids() const {
  std::lock_guard<std::mutex> g(protMu_);
  return protected_;
}

void Core::set_protected(std::vector<int> pids) {
  pids.push_back(getpid());
  auto next = std::make_shared<const std::vector<int>>(std::move(pids));
  std::lock_guard<std::mutex> g(protMu_);
  protected_ = std::move(next);
}

bool Core::is_protected(int tgid) const {
  for (int p : *protected_pids())
    if (p == tgid) return true;
  return false;
}

void Core::set_policy(std::shared_ptr<const Policy> p) {
  if (!p->commands.empty()) note_overrides_configured();  // the override boundary from now on (port_squat.h)
  {
    std::lock_guard<std::mutex> g(polMu_);
    policies_[p->id] = std::move(p);
  }
  uint64_t one = 1;
  if (write(wakefd_, &one, sizeof one) < 0) { /* a receiver also looks at the next notification */ }
}

void Core::recover(const std::shared_ptr<Core>& self) {
  std::vector<Parked> todo;
  {
    std::lock_guard<std::mutex> g(recoverMu_);
    if (recover_.empty() || !has_policy(strict_)) return;
    todo.swap(recover_);
  }
  for (const auto& p : todo) {
    if (notif_id_valid(listener_, p.req.id))
      handle(p.req, self, p.slot);
    else
      journal_.release(p.slot);
  }
}

void Core::drop_policy(int id) {
  std::lock_guard<std::mutex> g(polMu_);
  policies_.erase(id);
}

std::shared_ptr<const Policy> Core::policy(int id) {
  std::lock_guard<std::mutex> g(polMu_);
  auto it = policies_.find(id);
  if (it != policies_.end()) return it->second;
  it = policies_.find(strict_);
  return it == policies_.end() ? nullptr : it->second;
}

std::shared_ptr<const Policy> Core::override_base(int id) {
  std::lock_guard<std::mutex> g(polMu_);
  for (const auto& kv : policies_)
    for (const auto& c : kv.second->commands)
      if (c.policy == id) return kv.second;
  return nullptr;
}

bool Core::has_policy(int id) {
  std::lock_guard<std::mutex> g(polMu_);
  return policies_.count(id) != 0;
}

void Core::stats(uint64_t& d, uint64_t& de, uint64_t& a, size_t& pr, int64_t& pe) {
  d = decisions;
  de = denials;
  a = audits;
  pr = procs_.size();
  pe = pending;
}

std::vector<std::pair<const char*, uint64_t>> Core::traps_by_syscall() {
  std::vector<std::pair<const char*, uint64_t>> out;
  for (int nr = 0; nr < kCountedNrs; nr++) {
    uint64_t c = trapsByNr[nr].load(std::memory_order_relaxed);
    if (c) out.emplace_back(syscall_name(nr), c);
  }
  return out;
}

void Core::emit(Event&& e) {
  const bool root_exit = strcmp(e.kind, "root-exit") == 0;
  // Before the reply goes out: the shell's next prompt sees its marker gone.
  if (strcmp(e.kind, "audit") != 0 && !root_exit) fire_notice_files();  // deny, error, privileged
  std::lock_guard<std::mutex> g(evMu_);
  if (evStop_) return;  // stopped: nobody will read it
  evq_.add(std::move(e));
  if (root_exit || (evq_.size() >= kFlushAt && !jsBusy_->load())) evCv_.notify_one();
}

void Core::set_notice_files(std::vector<std::string> files) {
  std::lock_guard<std::mutex> g(noticeMu_);
  noticeFiles_ = std::move(files);
  noticeArmed_.store(!noticeFiles_.empty());
}

void Core::fire_notice_files() {
  if (!noticeArmed_.exchange(false)) return;  // a denial storm costs one atomic op each
  std::vector<std::string> files;
  {
    std::lock_guard<std::mutex> g(noticeMu_);
    files = noticeFiles_;
  }
  for (const auto& f : files) unlink(f.c_str());
}

std::vector<Event> Core::take_events(bool& inFlight) {
  std::lock_guard<std::mutex> g(evMu_);
  inFlight = jsBusy_->load();
  return evq_.take();
}

// Names and dispatch come from the one syscall table (../syscalls.def).
static const char* syscall_name(int nr) {
  switch (nr) {
#define SBX_SYSCALL(nm, act, chk, h) \
  case __NR_##nm:                    \
    return #nm;
#include "syscalls.def"
#undef SBX_SYSCALL
    default: return "unknown";
  }
}

// A row whose handler is `none` never traps; if the kernel hands us one anyway (a table
// and filter out of step), fail closed.
static void handle_none(Notif& n) { report_error(n, "proc", std::to_string(n.req.data.nr), EPERM); }

static void dispatch(Notif& n) {
  switch (n.req.data.nr) {
#define SBX_SYSCALL(nm, act, chk, h) \
  case __NR_##nm:                    \
    return handle_##h(n);
#include "syscalls.def"
#undef SBX_SYSCALL
    default:
      // The filter trapped something the table does not name: fail closed.
      return report_error(n, "proc", std::to_string(n.req.data.nr), EPERM);
  }
}

void Core::handle(seccomp_notif req, const std::shared_ptr<Core>& self, int slot) {
  Notif n;
  n.core = self;
  n.req = req;
  n.slot = slot == kClaim ? journal_.claim(req) : slot;
  n.caller.tid = static_cast<int>(n.req.pid);
  n.caller.core = this;
  n.policyId = procs_.lookup(n.caller.tid, &n.caller.tgid, &n.caller.task, &n.caller.pin);
  {
    // Nothing is decided before the strict policy is set (the supervisor sets it last: a
    // resumed session's queue drains the moment the engine starts): park it until then.
    std::lock_guard<std::mutex> g(recoverMu_);
    if (!has_policy(strict_)) {
      recover_.push_back(Parked{req, n.slot});
      return;
    }
  }
  // Counted here, not before parking: a parked call comes through here again when replayed.
  pending++;
  decisions++;
  if (req.data.nr >= 0 && req.data.nr < kCountedNrs) trapsByNr[req.data.nr].fetch_add(1, std::memory_order_relaxed);
  if (!has_policy(n.policyId)) n.policyId = strict_;  // dropped meanwhile: strict, never a default
  n.caller.policy = n.policyId;
  n.pol = policy(n.policyId);
  n.syscall = syscall_name(n.req.data.nr);
  if (!n.pol) {
    report_error(n, "proc", "no policy", EACCES);
  } else {
    try {
      // Whatever the syscall: the image making it is verified first (exec.cc).
      if (verify_before_decision(n)) dispatch(n);
    } catch (...) {
      report_error(n, "proc", "internal error", EACCES);
    }
    // A handler that returned without an answer (a failure taken for "the caller is gone")
    // would leave a live caller waiting in the kernel for good, its slot released so no later
    // supervisor replays it: answered here instead. Only a caller still waiting is asked about.
    if (!n.deferred && last_answer_sent_here() != n.req.id && n.valid())
      report_error(n, "proc", std::string(n.syscall ? n.syscall : "syscall") + " (left unanswered by sbx: an internal failure)", EAGAIN);
  }
  pending--;
  if (!n.deferred) journal_.release(n.slot);
}

// Are notifications waiting in the kernel (none of the threads has received them yet)?
static bool notifications_waiting(int listener) {
  pollfd q{listener, POLLIN, 0};
  return poll(&q, 1, 0) == 1 && (q.revents & POLLIN);
}

void Core::receive_loop(int index) {
  // A private fs struct so umask() per operation affects only this thread.
  unshare(CLONE_FS);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, wake_signal());
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  auto self = shared_from_this();
  std::atomic<bool>& inRecv = inRecv_[index];
  uint32_t lastCaller = 0;  // the task this thread answered last
  for (;;) {
    if (!role_.wait_turn(index)) break;  // the primary always; the others when needed
    // Marked before stopping_ is looked at: stop() sets stopping_, then signals every
    // receiver marked, so one that saw stopping_ false is signalled inside RECV.
    inRecv = true;
    if (stopping_) break;
    // Received straight into a journal slot: an engine killed right after RECV leaves
    // the notification on record for the next one (else its caller would wait forever).
    seccomp_notif req{};
    int slot = journal_.reserve();
    seccomp_notif* into = slot >= 0 ? journal_.at(slot) : &req;
    const int got = ioctl(listener_, SECCOMP_IOCTL_NOTIF_RECV, into);
    inRecv = false;
    if (got != 0) {
      int e = errno;
      journal_.release(slot);
      if (e == EINTR) continue;  // stop() or a stray signal: look at stopping_
      if (e == ENOENT) {
        // The caller died after queueing, or (newer kernels) no task uses the filter any
        // more: RECV then fails at once, so leave the hang-up to the watcher, never spin.
        pollfd q{listener_, 0, 0};
        if (poll(&q, 1, 0) == 1 && (q.revents & (POLLHUP | POLLERR))) break;
        continue;
      }
      break;  // the listener is unusable: the watcher reports the hang-up
    }
    if (slot >= 0) req = *into;
    journal_.publish(slot);
    // Another call already waiting behind this one = decisions contend. The task just
    // answered calling again is no contention (a program's opens, one after another), and
    // is not even looked for: one poll saved on most decisions.
    const bool contended = nthreads_ > 1 && req.pid != lastCaller && notifications_waiting(listener_);
    role_.begin_decision(index, contended);
    lastCaller = req.pid;
    handle(req, self, slot >= 0 ? slot : kClaim);
    role_.end_decision(index);
  }
  inRecv = false;
  receiversAlive_--;
}

void Core::watch_root(int pid, const std::vector<int>* terminalFds) {
  if (terminalFds) terminals_.record_given(*this, *terminalFds);
  int fd = sys_pidfd_open(static_cast<pid_t>(pid), 0);
  if (fd < 0) return release_terminals_once();  // already gone
  if (!terminalFds) terminals_.record(*this, pid, fd);
  int old = rootPidfd_.exchange(fd);
  if (old >= 0) close(old);
  uint64_t one = 1;
  if (write(wakefd_, &one, sizeof one) < 0) { /* the watcher polls it at its next wake-up */ }
}

void Core::release_terminals_once() {
  if (!terminalsReleased_.exchange(true)) release_terminals(*this);
}

// Waits for what a receiver blocked in RECV cannot see: stop, wake (a policy arrived for
// parked notifications, or a root to watch), the listener's hang-up and the root's exit.
// poll() asks for no event on the listener, so only POLLHUP/POLLERR wake it, not every
// notification.
void Core::watch_loop() {
  auto self = shared_from_this();
  for (;;) {
    const int root = rootPidfd_.load();
    pollfd q[4] = {{listener_, 0, 0}, {stopfd_, POLLIN, 0}, {wakefd_, POLLIN, 0}, {root, POLLIN, 0}};
    int r = poll(q, root >= 0 ? 4 : 3, -1);
    if (stopping_) return;
    if (r < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (q[1].revents) return;
    if (root >= 0 && (q[3].revents & POLLIN)) {
      int expected = root;
      if (rootPidfd_.compare_exchange_strong(expected, -1)) close(root);
      release_terminals_once();
      // After every event of the root's own calls (each was answered before it could exit):
      // `sbx exec`'s client stops waiting for denial lines at this one (session.ts).
      Event done;
      done.time = now_ms();
      done.kind = "root-exit";
      done.policy = -1;
      done.rule = -2;
      done.op = "exec";
      emit(std::move(done));
    }
    if (q[2].revents & POLLIN) {
      uint64_t v;
      if (read(wakefd_, &v, sizeof v) < 0) { /* nothing to drain */ }
      recover(self);
    }
    if (q[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
      // No sandboxed process is left (or the listener is gone): send the receivers home
      // and let the flusher hand out the last events and call onClosed.
      stopping_ = true;
      interrupt_receivers();
      if ((q[0].revents & POLLHUP) && !ipcEnded_.exchange(true)) ipc_session_ended(*this);
      {
        std::lock_guard<std::mutex> g(evMu_);
        closed_ = true;
        evCv_.notify_one();
      }
      return;
    }
  }
}

// Signals the receivers in RECV until all have left their loop: one that checked stopping_
// just before the signal and then entered RECV gets the next one. One busy in a decision is
// left to finish it (a signal would break the engine's own waits, ADDFD's among them, and fail
// the program's call: a restart must cost nothing) — unless it is still busy after
// kBusyGrace: a call of ours waiting in the kernel there (none should on a receiver: sends and
// connects never do, net.cc) then ends with EINTR and the receiver goes home, rather than this
// loop waiting on it for good. (A thread that has left its loop is not joined yet: its handle
// is still good.)
void Core::interrupt_receivers() {
  role_.stop();  // the threads waiting for their turn leave too
  // Called on the JavaScript thread (a session's end): woken threads leave within
  // microseconds, so look again soon rather than holding the supervisor for a millisecond;
  // a receiver that takes longer is looked at less and less often (never a busy loop).
  constexpr auto kBusyGrace = std::chrono::milliseconds(100);
  auto pause = std::chrono::microseconds(50);
  std::chrono::microseconds waited{0};
  while (receiversAlive_.load() > 0) {
    const bool all = waited >= kBusyGrace;
    for (size_t i = 0; i < threads_.size(); i++)
      if (all || inRecv_[i]) pthread_kill(threads_[i].native_handle(), wake_signal());
    std::this_thread::sleep_for(pause);
    waited += pause;
    if (pause < std::chrono::milliseconds(20)) pause *= 2;
  }
}

void Core::release_tsfns() {
  std::lock_guard<std::mutex> g(tsMu_);
  if (tsReleased_) return;
  tsReleased_ = true;
  tsEvents_.Release();
  tsHint_.Release();
  tsClosed_.Release();
}

void Core::flush_loop() {
  for (;;) {
    std::vector<Event> batch;
    bool closing = false, stop = false;
    {
      std::unique_lock<std::mutex> g(evMu_);
      evCv_.wait_for(g, kFlushEvery, [&] { return (evq_.size() >= kFlushAt && !jsBusy_->load()) || evStop_ || closed_; });
      closing = closed_;
      stop = evStop_;
      // While JS still works on the last batch, keep folding here (the end goes out regardless).
      if (!jsBusy_->load() || closing || stop) batch = evq_.take();
    }
    if (!batch.empty()) post_events(std::move(batch));
    if (closing && !stop) {
      std::lock_guard<std::mutex> g(evMu_);
      if (!evq_.empty()) continue;  // flush what the last receivers queued first
    }
    if (closing) {
      {
        std::lock_guard<std::mutex> g(tsMu_);
        if (!tsReleased_ && closedSeen_.exchange(1) == 0)
          tsClosed_.NonBlockingCall([](Napi::Env env, Napi::Function fn) {
            try {
              fn.Call({});
            } catch (const Napi::Error& err) {
              napi_fatal_exception(env, err.Value());
            }
          });
      }
      release_tsfns();  // nothing more can happen: let Node exit
      return;
    }
    if (stop) return;
  }
}

Napi::Array events_to_js(Napi::Env env, const std::vector<Event>& events) {
  Napi::Array arr = Napi::Array::New(env, events.size());
  for (size_t i = 0; i < events.size(); i++) {
    const Event& e = events[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("time", e.time);
    o.Set("kind", e.kind);
    o.Set("policy", e.policy);
    o.Set("rule", e.rule);
    o.Set("pid", e.pid);
    o.Set("program", e.program);
    o.Set("syscall", e.syscall);
    o.Set("op", e.op);
    o.Set("target", e.target);
    o.Set("errno", e.err);
    o.Set("count", static_cast<double>(e.count));
    arr.Set(static_cast<uint32_t>(i), o);
  }
  return arr;
}

// Hands one batch to JS (one array of plain objects); jsBusy_ stays set until JS takes it.
void Core::post_events(std::vector<Event>&& batch) {
  struct Batch {
    std::vector<Event> events;
    std::shared_ptr<std::atomic<bool>> busy;
  };
  std::lock_guard<std::mutex> g(tsMu_);
  if (tsReleased_) return;
  auto* data = new Batch{std::move(batch), jsBusy_};
  jsBusy_->store(true);
  napi_status st = tsEvents_.NonBlockingCall(data, [](Napi::Env env, Napi::Function fn, Batch* b) {
    std::unique_ptr<Batch> own(b);
    if (env == nullptr) {  // the environment is going away: nobody to tell
      own->busy->store(false);
      return;
    }
    Napi::Array arr = events_to_js(env, own->events);
    try {
      fn.Call({arr});
    } catch (const Napi::Error& err) {
      napi_fatal_exception(env, err.Value());
    }
    own->busy->store(false);  // JS is done with it: the next batch may go
  });
  if (st != napi_ok) {
    jsBusy_->store(false);
    delete data;
  }
}

void Core::post_hint(uint64_t id, bool cloexec, int slot, HintMsg&& m) {
  {
    std::lock_guard<std::mutex> g(hintMu_);
    hints_[id] = PendingHint{cloexec, slot};
  }
  std::lock_guard<std::mutex> g(tsMu_);
  auto* data = new HintMsg(std::move(m));
  if (tsReleased_ || tsHint_.NonBlockingCall(data, [](Napi::Env env, Napi::Function fn, HintMsg* h) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("id", h->id);
        o.Set("pid", h->pid);
        o.Set("tgid", h->tgid);
        o.Set("verb", h->verb);
        o.Set("arg", h->arg);
        o.Set("cwd", h->cwd);
        o.Set("policy", h->policy);
        delete h;
        try {
          fn.Call({o});
        } catch (const Napi::Error& err) {
          napi_fatal_exception(env, err.Value());
        }
      }) != napi_ok) {
    delete data;
    reply_hint(id, false, "", EAGAIN);
  }
}

int Core::reply_hint(uint64_t id, bool has_content, const std::string& content, int err) {
  PendingHint h;
  {
    std::lock_guard<std::mutex> g(hintMu_);
    auto it = hints_.find(id);
    if (it == hints_.end()) return -ENOENT;
    h = it->second;
    hints_.erase(it);
  }
  struct Free {
    Core* c;
    int slot;
    ~Free() { c->journal_.release(slot); }
  } free_slot{this, h.slot};
  if (!has_content) return reply_error(listener_, id, err ? err : EACCES);
  Fd mfd(static_cast<int>(syscall(SYS_memfd_create, "sbx-hint", MFD_CLOEXEC | MFD_ALLOW_SEALING)));
  if (!mfd.ok()) return reply_error(listener_, id, EIO);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t w = write(mfd.get(), content.data() + off, content.size() - off);
    if (w <= 0) return reply_error(listener_, id, EIO);
    off += static_cast<size_t>(w);
  }
  fcntl(mfd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  // Hand over a read-only description positioned at 0.
  Fd ro(reopen_fd(mfd.get(), O_RDONLY | O_CLOEXEC));
  if (!ro.ok()) return reply_error(listener_, id, EIO);
  int r = reply_fd(listener_, id, ro.release(), h.cloexec);
  return r < 0 ? r : 0;
}

void Core::stop(bool sessionOver) {
  if (sessionOver) release_terminals_once();  // an in-process `sbx exec` whose command exited
  if (sessionOver && !ipcEnded_.exchange(true)) {
    stop();
    ipc_session_ended(*this);
    return;
  }
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  uint64_t one = 1;
  if (write(stopfd_, &one, sizeof one) < 0) { /* the watcher also looks at stopping_ */ }
  if (watcher_.joinable()) watcher_.join();
  interrupt_receivers();
  for (auto& t : threads_) t.join();
  {
    std::lock_guard<std::mutex> g(evMu_);
    evStop_ = true;
    evCv_.notify_one();
  }
  if (flusher_.joinable()) flusher_.join();
  // Hints nobody will answer now: fail them instead of leaving the caller blocked.
  std::vector<uint64_t> ids;
  {
    std::lock_guard<std::mutex> g(hintMu_);
    for (auto& kv : hints_) ids.push_back(kv.first);
  }
  for (uint64_t id : ids) reply_hint(id, false, "", EAGAIN);
  release_tsfns();
}

}  // namespace sbx
