// See ipc.h: the record of the IPC objects a session made, kept in the keeper's memfd.
#include "ipc.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "live_set.h"
#include "sha256.h"
#include "shm_region.h"

namespace sbx {

namespace {
// The store: "SBXIPC01", the record count; then the records.
const char kMagic[8] = {'S', 'B', 'X', 'I', 'P', 'C', '0', '1'};
constexpr size_t kHeader = 64;
enum : uint32_t { kFree = 0, kWriting = 1, kLive = 2 };
// In memory only (no store, or the store full): a bound, so a loop making objects cannot
// grow the supervisor without end. Past it a get is refused (ENOSPC).
constexpr size_t kMemoryRecords = 8192;
}  // namespace

struct IpcTable::Rec {
  uint32_t state;
  uint32_t kind;
  uint64_t ident;
  int64_t key;
  int32_t cpid;
  int32_t policyPlus1;  // IpcRecord::policy + 1: 0 is "not known" (an older engine left it 0)
};

uint64_t ipc_name_hash(const std::string& name) {
  const Sha256 d = sha256(name.data(), name.size());
  uint64_t h;
  memcpy(&h, d.data(), sizeof h);
  return h;
}

IpcTable::IpcTable() { LiveSet<IpcTable>::join(this); }

IpcTable::~IpcTable() { LiveSet<IpcTable>::leave(this); }

void IpcTable::drop_slot(IpcKind kind, uint64_t ident, uint64_t slotMask) {
  std::lock_guard<std::mutex> g(mu_);
  const uint32_t k = static_cast<uint32_t>(kind);
  for (auto it = live_.lower_bound(Key{k, 0}); it != live_.end() && it->first.first == k;) {
    if ((it->first.second & slotMask) != (ident & slotMask)) {
      ++it;
      continue;
    }
    if (it->second.slot >= 0) __atomic_store_n(&recs_[it->second.slot].state, kFree, __ATOMIC_RELEASE);
    it = live_.erase(it);
  }
}

bool IpcTable::open_store(int fd, size_t offset, size_t size) {
  static_assert(sizeof(Rec) == 32, "store record layout");
  std::lock_guard<std::mutex> g(mu_);
  if (!store_.open(fd, static_cast<off_t>(offset), size, kMagic, kHeader, sizeof(Rec), 64)) return false;
  recs_ = reinterpret_cast<Rec*>(store_.at(kHeader));
  // A record caught mid-write by a previous engine's death is dropped: that engine never
  // answered the get, so the caller's call is replayed and finds its object again (or makes
  // a new one). Only pages that hold data are read (shm_region.h).
  for (const auto& range : shm_data_records(fd, static_cast<off_t>(offset), size, kHeader, sizeof(Rec), store_.count)) {
    for (uint32_t k = range.first; k < range.second; k++) {
      Rec& r = recs_[k];
      const uint32_t s = __atomic_load_n(&r.state, __ATOMIC_ACQUIRE);
      if (s == kWriting) __atomic_store_n(&r.state, kFree, __ATOMIC_RELEASE);
      if (s != kLive) continue;
      live_[Key{r.kind, r.ident}] = Entry{IpcRecord{r.key, r.cpid, r.policyPlus1 - 1}, static_cast<int>(k), std::string()};
    }
  }
  return true;
}

int IpcTable::store_put_locked(IpcKind kind, uint64_t ident, const IpcRecord& rec) {
  for (uint32_t k = 0; recs_ && k < store_.count; k++) {
    uint32_t expect = kFree;
    if (!__atomic_compare_exchange_n(&recs_[k].state, &expect, kWriting, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
      continue;
    Rec& r = recs_[k];
    r.kind = static_cast<uint32_t>(kind);
    r.ident = ident;
    r.key = rec.key;
    r.cpid = rec.cpid;
    r.policyPlus1 = rec.policy + 1;
    __atomic_store_n(&r.state, kLive, __ATOMIC_RELEASE);
    return static_cast<int>(k);
  }
  return -1;
}

bool IpcTable::add(IpcKind kind, uint64_t ident, const IpcRecord& rec, uint64_t slotMask) {
  // Another id in the new object's slot names an object that is gone: in every session's
  // table (other tables first, one lock at a time: never ours and another's together).
  if (slotMask) {
    LiveSet<IpcTable>::for_each([&](IpcTable* t) {
      if (t != this) t->drop_slot(kind, ident, slotMask);
    });
  }
  std::lock_guard<std::mutex> g(mu_);
  const Key key{static_cast<uint32_t>(kind), ident};
  for (auto it = live_.lower_bound(Key{key.first, 0}); it != live_.end() && it->first.first == key.first;) {
    const bool stale = it->first.second == ident || (slotMask && (it->first.second & slotMask) == (ident & slotMask));
    if (!stale) {
      ++it;
      continue;
    }
    if (it->second.slot >= 0) __atomic_store_n(&recs_[it->second.slot].state, kFree, __ATOMIC_RELEASE);
    it = live_.erase(it);
  }
  const int slot = store_put_locked(kind, ident, rec);
  if (slot < 0 && live_.size() >= kMemoryRecords) return false;
  live_[key] = Entry{rec, slot, std::string()};
  return true;
}

void IpcTable::set_name(IpcKind kind, uint64_t ident, const std::string& name) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = live_.find(Key{static_cast<uint32_t>(kind), ident});
  if (it != live_.end()) it->second.name = name;
}

bool IpcTable::name_clash(IpcKind kind, uint64_t ident, const std::string& name) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = live_.find(Key{static_cast<uint32_t>(kind), ident});
  return it != live_.end() && !it->second.name.empty() && it->second.name != name;
}

std::vector<std::pair<IpcRecord, std::string>> IpcTable::named(IpcKind kind) {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<std::pair<IpcRecord, std::string>> out;
  for (const auto& [key, e] : live_)
    if (key.first == static_cast<uint32_t>(kind) && !e.name.empty()) out.emplace_back(e.rec, e.name);
  return out;
}

bool IpcTable::find(IpcKind kind, uint64_t ident, IpcRecord* rec) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = live_.find(Key{static_cast<uint32_t>(kind), ident});
  if (it == live_.end()) return false;
  if (rec) *rec = it->second.rec;
  return true;
}

void IpcTable::drop(IpcKind kind, uint64_t ident) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = live_.find(Key{static_cast<uint32_t>(kind), ident});
  if (it == live_.end()) return;
  if (it->second.slot >= 0) __atomic_store_n(&recs_[it->second.slot].state, kFree, __ATOMIC_RELEASE);
  live_.erase(it);
}

void IpcTable::sweep(const std::function<bool(IpcKind, uint64_t, const IpcRecord&)>& gone) {
  std::lock_guard<std::mutex> g(mu_);
  for (auto it = live_.begin(); it != live_.end();) {
    if (!gone(static_cast<IpcKind>(it->first.first), it->first.second, it->second.rec)) {
      ++it;
      continue;
    }
    if (it->second.slot >= 0) __atomic_store_n(&recs_[it->second.slot].state, kFree, __ATOMIC_RELEASE);
    it = live_.erase(it);
  }
}

}  // namespace sbx
