// See journal.h. Layout: a 64-byte header ("SBXJRN01", slot count) then fixed slots.
#include "journal.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <cstring>

#include "shm_region.h"

namespace sbx {

namespace {
const char kMagic[8] = {'S', 'B', 'X', 'J', 'R', 'N', '0', '1'};
const size_t kHeader = 64;
}  // namespace

Journal::~Journal() {
  if (base_) munmap(base_, size_);
}

bool Journal::open(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_size < 64 * 1024) return false;
  size_ = static_cast<size_t>(st.st_size) < kJournalBytes ? static_cast<size_t>(st.st_size) : kJournalBytes;
  void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return false;
  base_ = p;
  auto* h = static_cast<char*>(base_);
  uint32_t count = static_cast<uint32_t>((size_ - kHeader) / sizeof(Slot));
  uint32_t stored = 0;
  memcpy(&stored, h + 8, sizeof stored);
  if (memcmp(h, kMagic, sizeof kMagic) != 0 || stored != count) {  // blank or another layout
    shm_zero(fd, 0, size_, h);
    memcpy(h + 8, &count, sizeof count);
    memcpy(h, kMagic, sizeof kMagic);
  }
  fd_ = fd;
  count_ = count;
  slots_ = reinterpret_cast<Slot*>(h + kHeader);
  return true;
}

// The lowest free slot, switched to `state` (-1 when full or unmapped). Lowest first: the
// slots in use stay in the first pages, so an idle or busy session keeps a page or two of
// the memfd in the supervisor's memory instead of all of it (a round robin touched every
// page in turn). The scan passes only the slots in flight: each receiver's, a few more.
int Journal::take_slot(uint32_t state) {
  if (!slots_) return -1;
  for (uint32_t k = 0; k < count_; k++) {
    uint32_t expect = kFree;
    if (__atomic_load_n(&slots_[k].state, __ATOMIC_RELAXED) == kFree &&
        __atomic_compare_exchange_n(&slots_[k].state, &expect, state, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
      return static_cast<int>(k);
  }
  return -1;
}

int Journal::claim(const seccomp_notif& n) {
  int k = take_slot(kWriting);
  if (k < 0) return -1;
  slots_[k].notif = n;
  __atomic_store_n(&slots_[k].state, kLive, __ATOMIC_RELEASE);
  return k;
}

int Journal::reserve() {
  int k = take_slot(kReceiving);
  if (k >= 0) memset(&slots_[k].notif, 0, sizeof slots_[k].notif);  // NOTIF_RECV wants a zeroed buffer
  return k;
}

void Journal::publish(int slot) {
  if (slots_ && slot >= 0) __atomic_store_n(&slots_[slot].state, kLive, __ATOMIC_RELEASE);
}

void Journal::release(int slot) {
  if (slots_ && slot >= 0) __atomic_store_n(&slots_[slot].state, kFree, __ATOMIC_RELEASE);
}

std::vector<Journal::Taken> Journal::take_live() {
  std::vector<Taken> out;
  if (!slots_) return out;
  // Only the pages that hold data: reading a hole of the shared memfd would add a page.
  // A slot whose state word lies in a hole is free (a written state makes its page data).
  const auto ranges = shm_data_records(fd_, 0, size_, kHeader, sizeof(Slot), count_);
  for (const auto& r : ranges) {
    for (uint32_t k = r.first; k < r.second; k++) {
      uint32_t s = __atomic_load_n(&slots_[k].state, __ATOMIC_ACQUIRE);
      // kReceiving with an id: the kernel had filled it (whole: a copy inside a syscall is not
      // cut short by SIGKILL) when the engine died. kWriting may be a torn copy: dropped.
      if (s == kLive || (s == kReceiving && slots_[k].notif.id != 0)) {
        __atomic_store_n(&slots_[k].state, kLive, __ATOMIC_RELEASE);
        out.push_back(Taken{slots_[k].notif, static_cast<int>(k)});
      } else if (s != kFree) {
        __atomic_store_n(&slots_[k].state, kFree, __ATOMIC_RELEASE);
      }
    }
  }
  return out;
}

}  // namespace sbx
