// See procs.h.
#include "procs.h"

#include "journal.h"
#include "live_set.h"
#include "shm_region.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_set>
#include <vector>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

namespace sbx {

namespace {

// Tags below this would leave no room to hand out fresh ones (the hard core limit can
// only go down).
constexpr uint64_t kMinHard = 1ull << 24;
constexpr uint64_t kMaxSpan = 1ull << 48;
// In memory only (no store): as many tags as a store of the keeper's size holds.
constexpr size_t kMemoryTags = 24000;
// The store is swept (not before) once this many records are in use: one page's worth.
constexpr uint32_t kSweepFloor = 128;

// The store: "SBXTAGS1", record count, the next tag; then the records.
const char kMagic[8] = {'S', 'B', 'X', 'T', 'A', 'G', 'S', '1'};
constexpr size_t kHeader = 64;
constexpr size_t kNextAt = 16;
enum : uint32_t { kFree = 0, kWriting = 1, kLive = 2 };
enum : uint32_t { kFollows = 1, kSealed = 2, kFiltered = 4, kUndumpable = 8 };
// Not a tag: the hash of an interactive shell's environment block (in `tag`; policy -1), kept
// so that a restarted supervisor still knows its forks (holds_shell_environ).
constexpr uint32_t kShellEnviron = 16;
// At most this many such hashes are stored (one per exec of a shell: the launcher's, an
// `exec bash`); more stay in memory only.
constexpr size_t kStoredEnvirons = 256;

uint64_t random64() {
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof r)) {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r = (static_cast<uint64_t>(ts.tv_nsec) << 20) ^ static_cast<uint64_t>(ts.tv_sec) ^ (static_cast<uint64_t>(getpid()) << 40);
  }
  return r;
}

// The hard RLIMIT_CORE of pid (its tag). false when it cannot be read (gone, another user).
bool read_tag(int pid, uint64_t& tag) {
  struct rlimit r;
  if (prlimit(pid, RLIMIT_CORE, nullptr, &r) != 0) return false;
  tag = r.rlim_max;
  return true;
}

}  // namespace

struct ProcTable::Rec {
  uint32_t state;
  int32_t policy;
  uint64_t tag;
  int32_t owner;
  uint32_t flags;
  uint64_t ownerStart;
};


bool ProcTable::open_store(int fd, size_t offset, size_t size) {
  static_assert(sizeof(Rec) == 32, "store record layout");
  std::lock_guard<std::mutex> g(mu_);
  if (!store_.open(fd, static_cast<off_t>(offset), size, kMagic, kHeader, sizeof(Rec), 64)) return false;
  recs_ = reinterpret_cast<Rec*>(store_.at(kHeader));
  storedNext_ = reinterpret_cast<std::atomic<uint64_t>*>(store_.at(kNextAt));
  next_ = storedNext_->load();
  freeHint_ = 0;
  // What a previous engine handed out. A record caught mid-write by its death is dropped:
  // its tag was never applied (the record is written before the prlimit). Only pages that
  // hold data are read: a read of a hole would add a page to our memory (shm_region.h).
  const auto ranges = shm_data_records(fd, static_cast<off_t>(offset), size, kHeader, sizeof(Rec), store_.count);
  for (const auto& range : ranges) {
    for (uint32_t k = range.first; k < range.second; k++) {
      Rec& r = recs_[k];
      uint32_t s = __atomic_load_n(&r.state, __ATOMIC_ACQUIRE);
      if (s == kWriting) __atomic_store_n(&r.state, kFree, __ATOMIC_RELEASE);
      if (s != kLive) continue;
      if (r.flags & kShellEnviron) {
        shell_environs_[r.tag] = static_cast<int>(k);
        continue;
      }
      tags_[r.tag] = Tag{r.policy, r.owner, r.ownerStart, (r.flags & kFollows) != 0, static_cast<int>(k), (r.flags & kSealed) != 0,
                         (r.flags & kFiltered) != 0, (r.flags & kUndumpable) != 0};
      for (auto [flag, map] : {std::pair{kFollows, &followers_}, std::pair{kSealed, &sealed_}}) {
        if (!(r.flags & flag) || map->count(r.owner)) continue;
        Fd pfd(sys_pidfd_open(r.owner, 0));
        // The same process (not a later one with its pid): same start time, taken after the pidfd.
        if (pfd.ok() && proc_starttime(r.owner) == r.ownerStart && pidfd_alive(pfd.get()))
          map->emplace(r.owner, Follower{std::move(pfd)});
      }
    }
  }
  return true;
}

int ProcTable::max_stored_policy(int memfd) {
  struct stat st;
  const size_t len = fstat(memfd, &st) == 0 ? tag_store_bytes(static_cast<size_t>(st.st_size)) : 0;
  if (len <= kHeader) return -1;
  const off_t base = static_cast<off_t>(kJournalBytes);
  char head[kHeader];
  if (pread(memfd, head, sizeof head, base) != static_cast<ssize_t>(sizeof head) || memcmp(head, kMagic, sizeof kMagic) != 0)
    return -1;
  uint32_t count = 0;
  memcpy(&count, head + 8, sizeof count);
  count = std::min<uint32_t>(count, static_cast<uint32_t>((len - kHeader) / sizeof(Rec)));
  int best = -1;
  // Only the pages that hold data (a read of a hole would cost nothing, but there is no need).
  for (const auto& range : shm_data_records(memfd, base, len, kHeader, sizeof(Rec), count)) {
    std::vector<Rec> recs(range.second - range.first);
    const off_t at = base + static_cast<off_t>(kHeader + static_cast<size_t>(range.first) * sizeof(Rec));
    const ssize_t want = static_cast<ssize_t>(recs.size() * sizeof(Rec));
    if (pread(memfd, recs.data(), static_cast<size_t>(want), at) != want) continue;
    for (const Rec& r : recs)
      if (r.state == kLive || r.state == kWriting) best = std::max(best, static_cast<int>(r.policy));
  }
  return best;
}

uint64_t ProcTable::fresh_tag_locked(uint64_t hard) {
  // Every tag handed out is above next_, so a process of ours always has room below its
  // tag; a first use (or a tag someone outside lowered) seeds next_ below `hard`, at a
  // random depth so two sessions' ranges do not meet.
  if (next_ == 0 || next_ >= hard) {
    if (hard < kMinHard) return 0;
    uint64_t span = hard / 2 < kMaxSpan ? hard / 2 : kMaxSpan;
    next_ = hard - 1 - random64() % span;
  }
  uint64_t tag = next_--;
  if (storedNext_) storedNext_->store(next_);  // before the tag is used: never handed out twice
  return tag;
}

// Records t under tag; the slot, -1 in memory only, -2 when full even after a sweep.
int ProcTable::store_put_locked(uint64_t tag, const Tag& t) {
  if (!recs_) {
    if (tags_.size() >= kMemoryTags) sweep_locked();
    return tags_.size() >= kMemoryTags ? -2 : -1;
  }
  // Lowest free record first (every record below freeHint_ is taken): the live records
  // stay in the first pages of the memfd, which are all the supervisor keeps in memory.
  // Records of exited processes are swept once the records in use double (not only when
  // the store is full), so a long session's cd's do not walk over the whole memfd.
  if (freeHint_ >= sweepAt_) {
    sweep_locked();
    sweepAt_ = std::max<uint32_t>(kSweepFloor, 2 * static_cast<uint32_t>(tags_.size()));
  }
  for (int round = 0; round < 2; round++) {
    for (uint32_t k = freeHint_; k < store_.count; k++) {
      uint32_t expect = kFree;
      if (!__atomic_compare_exchange_n(&recs_[k].state, &expect, kWriting, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        continue;
      Rec& r = recs_[k];
      r.policy = t.policy;
      r.tag = tag;
      r.owner = t.owner;
      r.flags = (t.follows ? static_cast<uint32_t>(kFollows) : 0u) | (t.sealed ? static_cast<uint32_t>(kSealed) : 0u) |
                (t.filtered ? static_cast<uint32_t>(kFiltered) : 0u) | (t.undumpable ? static_cast<uint32_t>(kUndumpable) : 0u);
      r.ownerStart = t.ownerStart;
      __atomic_store_n(&r.state, kLive, __ATOMIC_RELEASE);
      freeHint_ = k + 1;
      return static_cast<int>(k);
    }
    if (round == 0) sweep_locked();
  }
  return -2;
}

void ProcTable::store_free_locked(int slot) {
  if (!recs_ || slot < 0 || static_cast<uint32_t>(slot) >= store_.count) return;
  __atomic_store_n(&recs_[slot].state, kFree, __ATOMIC_RELEASE);
  if (static_cast<uint32_t>(slot) < freeHint_) freeHint_ = static_cast<uint32_t>(slot);
}

// Forgets tags no process carries any more: one pass over /proc reading hard core limits.
// A tag dropped while a process still carried it would only make that process unplaced
// (strict), never laxer.
void ProcTable::sweep_locked() {
  std::unordered_set<uint64_t> live;
  const bool read = for_each_pid([&](int pid) {
    uint64_t tag;
    if (read_tag(pid, tag)) live.insert(tag);
    return true;
  });
  if (!read) return;
  for (auto it = tags_.begin(); it != tags_.end();) {
    if (live.count(it->first)) {
      ++it;
      continue;
    }
    store_free_locked(it->second.slot);
    it = tags_.erase(it);
  }
  gen_++;
}

int ProcTable::mark_filtered(int tgid, int policy) { return assign_tag(tgid, policy, follows_cd(tgid), false, true, -1, true); }

int ProcTable::set_dumpable(int tgid, int policy, bool dumpable) {
  return assign_tag(tgid, policy, follows_cd(tgid), false, false, dumpable ? 0 : 1, true);
}

bool ProcTable::undumpable(int tgid) {
  uint64_t tag;
  if (!read_tag(tgid, tag)) return true;  // cannot tell: as non-dumpable (the caller refuses)
  std::lock_guard<std::mutex> g(mu_);
  auto it = tags_.find(tag);
  return it != tags_.end() && it->second.undumpable;
}

bool ProcTable::filtered(int tgid) {
  uint64_t tag;
  if (!read_tag(tgid, tag)) return true;  // cannot tell: as filtered (the caller refuses)
  std::lock_guard<std::mutex> g(mu_);
  auto it = tags_.find(tag);
  return it != tags_.end() && it->second.filtered;
}

int ProcTable::assign(int tgid, int policy, bool followsCd, bool sealed) { return assign_tag(tgid, policy, followsCd, sealed, false, -1, false); }

int ProcTable::assign_tag(int tgid, int policy, bool followsCd, bool sealed, bool filtered, int undumpable, bool samePolicy) {
  std::lock_guard<std::mutex> one(assignMu_);
  struct rlimit cur;
  if (prlimit(tgid, RLIMIT_CORE, nullptr, &cur) != 0) return -errno;
  Tag t{policy, tgid, proc_starttime(tgid), followsCd, -1, sealed, filtered, undumpable == 1};
  uint64_t tag;
  {
    std::lock_guard<std::mutex> g(mu_);
    // The tag it carries now (its own, or the one it was forked with) passes a filter and
    // non-dumpability on; a seal is for life. Every mark is in the store, so a restarted
    // supervisor knows it too.
    auto was = tags_.find(cur.rlim_max);
    // A mark keeps the policy the caller's notification was decided under: a thread's exec
    // that took an override meanwhile (its assignment came first, under assignMu_) is not undone.
    if (samePolicy && (was == tags_.end() || was->second.policy != policy)) return -EAGAIN;
    if (was != tags_.end() && was->second.filtered) t.filtered = true;
    if (was != tags_.end() && was->second.undumpable && undumpable < 0) t.undumpable = true;
    auto seal = sealed_.find(tgid);
    if (seal != sealed_.end() && seal->second.pidfd.ok() && pidfd_alive(seal->second.pidfd.get())) t.sealed = true;
    tag = fresh_tag_locked(cur.rlim_max);
    if (!tag) return -ERANGE;
    t.slot = store_put_locked(tag, t);
    if (t.slot == -2) return -ENOSPC;
    tags_[tag] = t;
  }
  // Bound before it is applied: a crash in between leaves a tag nobody carries.
  struct rlimit next;
  next.rlim_max = tag;
  next.rlim_cur = cur.rlim_cur < tag ? cur.rlim_cur : tag;
  if (prlimit(tgid, RLIMIT_CORE, &next, nullptr) != 0) {
    int e = errno;
    std::lock_guard<std::mutex> g(mu_);
    store_free_locked(t.slot);
    tags_.erase(tag);
    return -e;
  }
  gen_++;  // cached policies are read again
  std::lock_guard<std::mutex> g(mu_);
  // Sealed for life once sealed (a later assignment, an override at its exec, keeps it).
  if (sealed) {
    if (sealed_.size() >= 64)  // the ones gone (each nested sbx exec is one)
      for (auto i = sealed_.begin(); i != sealed_.end();) i = pidfd_alive(i->second.pidfd.get()) ? std::next(i) : sealed_.erase(i);
    sealed_[tgid] = Follower{Fd(sys_pidfd_open(tgid, 0))};
  }
  if (followsCd) {
    // A shell placed again (a cd) keeps what it had; a new one is the launcher, which execs it.
    auto was = followers_.find(tgid);
    const bool known = was != followers_.end() && was->second.pidfd.ok() && pidfd_alive(was->second.pidfd.get());
    const int left = known ? was->second.execs_left : 1;
    followers_[tgid] = Follower{Fd(sys_pidfd_open(tgid, 0)), left};
  } else {
    // No longer the shell (it exec'd a program with an override).
    drop_follower_locked(tgid);
  }
  return 0;
}

void ProcTable::drop_follower_locked(int tgid) {
  if (!followers_.erase(tgid)) return;
  // Its older records must not make it the shell again after a restart.
  for (auto& kv : tags_) {
    if (kv.second.owner != tgid || !kv.second.follows) continue;
    kv.second.follows = false;
    // Only that flag: a record's seal stays.
    if (recs_ && kv.second.slot >= 0) __atomic_and_fetch(&recs_[kv.second.slot].flags, ~static_cast<uint32_t>(kFollows), __ATOMIC_RELEASE);
  }
}

namespace {
uint64_t environ_hash(const std::string& block) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a: a collision only protects a process more
  for (unsigned char c : block) h = (h ^ c) * 1099511628211ULL;
  return h ^ block.size();
}
}  // namespace

void ProcTable::exec_starts(int tgid) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (!followers_.count(tgid)) return;
  }
  // The block this shell (or the launcher about to become it: it passes its own on) was
  // started with, before the exec replaces it: its forks keep it (holds_shell_environ).
  std::string block;
  const bool read = read_file("/proc/" + std::to_string(tgid) + "/environ", block, kExecStringsMax);
  std::lock_guard<std::mutex> g(mu_);
  if (read) note_shell_environ_locked(environ_hash(block));
  auto it = followers_.find(tgid);
  if (it == followers_.end()) return;
  if (it->second.execs_left > 0) it->second.execs_left--;
  else drop_follower_locked(tgid);
}

void ProcTable::note_shell_environ_locked(uint64_t hash) {
  if (shell_environs_.count(hash)) return;
  int slot = -1;
  // Stored like a tag record, never swept (a handful per session): a restarted supervisor
  // must still know the forks of a shell that has exec'd away.
  if (recs_ && shell_environs_.size() < kStoredEnvirons) {
    for (uint32_t k = freeHint_; k < store_.count; k++) {
      uint32_t expect = kFree;
      if (!__atomic_compare_exchange_n(&recs_[k].state, &expect, kWriting, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) continue;
      Rec& r = recs_[k];
      r.policy = -1;
      r.tag = hash;
      r.owner = 0;
      r.flags = kShellEnviron;
      r.ownerStart = 0;
      __atomic_store_n(&r.state, kLive, __ATOMIC_RELEASE);
      freeHint_ = k + 1;
      slot = static_cast<int>(k);
      break;
    }
  }
  shell_environs_[hash] = slot;
}

int ProcTable::tag_policy(int pid, bool* ok) {
  uint64_t tag;
  *ok = false;
  if (!read_tag(pid, tag)) return -1;
  std::lock_guard<std::mutex> g(mu_);
  auto it = tags_.find(tag);
  if (it == tags_.end()) return -1;
  *ok = true;
  return it->second.policy;
}

int ProcTable::lookup(int tid, int* tgid_out, uint64_t* task_out, SharedFd* pin_out) {
  const uint64_t gen = gen_.load();
  if (task_out) *task_out = 0;
  if (pin_out) pin_out->reset();
  {
    std::lock_guard<std::mutex> g(idMu_);
    auto it = ids_.find(tid);
    if (it != ids_.end() && it->second.gen == gen && pidfd_alive(it->second.pidfd)) {
      *tgid_out = it->second.tgid;
      if (task_out) *task_out = it->second.serial;
      if (pin_out && it->second.process) *pin_out = it->second.pidfd;
      return it->second.policy;
    }
  }
  uint64_t serial = 0;
  SharedFd pin;
  *tgid_out = tgid_of(tid, &serial, &pin);
  bool ok;
  int pol = tag_policy(tid, &ok);  // rlimits are per process: a thread reads its group's
  if (!ok) pol = strict_;
  std::lock_guard<std::mutex> g(idMu_);
  auto it = ids_.find(tid);
  // Only the entry tgid_of pinned: one made meanwhile by another thread may be a later task.
  if (it != ids_.end() && serial != 0 && it->second.serial == serial) {
    it->second.policy = pol;
    it->second.gen = gen;  // read before the tag: an assignment meanwhile makes it stale
    // Pinned when its tgid was read (tgid_of): the task this answer is about, as long as the
    // caller's notification is still valid (checked by every decision that acts).
    if (task_out) *task_out = it->second.serial;
    if (pin_out) *pin_out = std::move(pin);
  }
  return pol;
}

int ProcTable::member_policy(int tgid) {
  bool ok;
  int pol = tag_policy(tgid, &ok);
  return ok ? pol : -1;
}

Fd ProcTable::pin_member(int tgid) {
  Fd fd(sys_pidfd_open(static_cast<pid_t>(tgid), 0));
  if (fd.ok() && member_policy(tgid) < 0) fd.reset();
  return fd;
}

std::vector<int> ProcTable::members_now() {
  std::vector<int> out;
  for_each_pid([&](int pid) {
    if (member_policy(pid) >= 0) out.push_back(pid);
    return true;
  });
  return out;
}

ProcTable::ProcTable(int strictPolicy) : strict_(strictPolicy) { LiveSet<ProcTable>::join(this); }

ProcTable::~ProcTable() { LiveSet<ProcTable>::leave(this); }

std::vector<int> ProcTable::followers_of_every_session() {
  std::vector<int> out;
  LiveSet<ProcTable>::for_each([&](ProcTable* t) {
    const std::vector<int> f = t->followers();
    out.insert(out.end(), f.begin(), f.end());
  });
  return out;
}

std::vector<int> ProcTable::followers() {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<int> out;
  for (const auto& [tgid, f] : followers_)
    if (f.pidfd.ok() && pidfd_alive(f.pidfd.get())) out.push_back(tgid);
  return out;
}

bool ProcTable::sealed(int tgid) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = sealed_.find(tgid);
  return it != sealed_.end() && it->second.pidfd.ok() && pidfd_alive(it->second.pidfd.get());
}

bool ProcTable::holds_shell_environ(int tgid) {
  const std::string self = "/proc/" + std::to_string(tgid);
  std::string env;
  if (!read_file(self + "/environ", env, kExecStringsMax)) return true;  // cannot tell: protect
  {
    std::lock_guard<std::mutex> g(mu_);
    if (shell_environs_.count(environ_hash(env))) return true;
  }
  struct stat t;
  if (stat((self + "/exe").c_str(), &t) != 0) return false;
  for (int f : followers()) {
    if (f == tgid) return true;
    const std::string shell = "/proc/" + std::to_string(f);
    struct stat s;
    if (stat((shell + "/exe").c_str(), &s) != 0 || s.st_dev != t.st_dev || s.st_ino != t.st_ino) continue;
    std::string shell_env;
    if (!read_file(shell + "/environ", shell_env, kExecStringsMax) || shell_env == env) return true;
  }
  return false;
}

bool ProcTable::follows_cd(int tgid) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = followers_.find(tgid);
  return it != followers_.end() && it->second.pidfd.ok() && pidfd_alive(it->second.pidfd.get());
}

int ProcTable::tgid_of(int tid, uint64_t* serial, SharedFd* pin) {
  std::lock_guard<std::mutex> g(idMu_);
  *serial = 0;
  auto it = ids_.find(tid);
  if (it != ids_.end()) {
    if (pidfd_alive(it->second.pidfd)) {
      *serial = it->second.serial;
      if (it->second.process) *pin = it->second.pidfd;
      return it->second.tgid;
    }
    ids_.erase(it);
  }
  // Pin the task before reading about it: a process pidfd for a leader, a thread pidfd
  // (6.9+) otherwise. A process pidfd is only given for a thread-group leader (the kernel
  // refuses it for any other thread), so when it opens, tid is its own tgid: no need to
  // read /proc/<tid>/status, which is most of a new process's first-sight cost. A leader
  // that dies and whose pid is reused later fails the pidfd's liveness check like any entry.
  Fd pfd(sys_pidfd_open(tid, 0));
  const bool process = pfd.ok();
  int tgid = tid;
  if (!pfd.ok()) {
    pfd = Fd(sys_pidfd_open(tid, PIDFD_THREAD));
    ProcStatus st;
    if (read_status(tid, st)) tgid = st.tgid;
  }
  // Not polled here: the caller waits in its notification, so the pidfd holds it unless it
  // died (or its tid was reused) since; the decision's own NOTIF_ID_VALID finds that out
  // before anything is answered or recorded for it, and every later hit polls the pidfd.
  if (pfd.ok() && fd_table_running_short(pfd.get())) {
    // Not kept: pinned for this notification only (no serial: nothing is keyed by it).
    if (process) *pin = std::make_shared<const Fd>(std::move(pfd));
    return tgid;
  }
  if (pfd.ok()) {
    if (ids_.size() > 8192)
      for (auto i = ids_.begin(); i != ids_.end();) i = pidfd_alive(i->second.pidfd) ? std::next(i) : ids_.erase(i);
    *serial = nextSerial_++;
    auto shared = std::make_shared<const Fd>(std::move(pfd));
    if (process) *pin = shared;
    ids_.emplace(tid, Id{tgid, std::move(shared), -1, 0, *serial, process});
  }
  return tgid;
}

size_t ProcTable::size() {
  std::lock_guard<std::mutex> g(idMu_);
  size_t n = 0;
  for (auto& kv : ids_)
    if (kv.first == kv.second.tgid && pidfd_alive(kv.second.pidfd)) n++;
  return n;
}

size_t ProcTable::tags() {
  std::lock_guard<std::mutex> g(mu_);
  return tags_.size();
}

}  // namespace sbx
