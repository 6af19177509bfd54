// A journal of received-but-unanswered notifications in a memfd the keeper holds, so an
// engine started after a supervisor crash can finish what the dead one had received
// (any holder of the listener may answer a notification by id).
#pragma once
#include <linux/seccomp.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sbx {

// The journal takes the first kJournalBytes of the keeper's memfd; the rest holds the
// process tags (procs.h).
constexpr size_t kJournalBytes = 256 * 1024;
// The process tags take the memfd up to here (procs.h); the IPC records (ipc.h) the rest. A
// keeper from before the IPC records made its memfd this size: its sessions keep their tags.
constexpr size_t kTagStoreEnd = 1024 * 1024;
// How many bytes of a memfd of `memfdSize` the process tags take, from kJournalBytes on (0: none).
inline size_t tag_store_bytes(size_t memfdSize) {
  return memfdSize > kJournalBytes ? (memfdSize < kTagStoreEnd ? memfdSize : kTagStoreEnd) - kJournalBytes : 0;
}
class Journal {
 public:
  ~Journal();
  // Maps the memfd's first kJournalBytes (≥ 64 KiB); initialises a blank journal. false:
  // unusable (left unmapped).
  bool open(int fd);
  bool ok() const { return slots_ != nullptr; }
  // Records a notification; returns its slot (-1 when full or unmapped).
  int claim(const seccomp_notif& n);
  // For receiving straight into the journal: a zeroed slot (-1 when full or unmapped) to
  // pass to NOTIF_RECV, then publish(). The kernel's copy into the slot cannot be cut in
  // half by our death, so a crash right after RECV leaves a whole record, not a gap.
  int reserve();
  seccomp_notif* at(int slot) { return &slots_[slot].notif; }
  void publish(int slot);
  void release(int slot);
  // Entries a previous engine left live, or received into and not yet published (the
  // caller checks each with NOTIF_ID_VALID). Their slots stay live, owned by the caller,
  // who releases each once it is answered: an engine killed while it recovers leaves them
  // on record for the next one (freeing them here lost them: found by the kill test).
  struct Taken {
    seccomp_notif notif;
    int slot;
  };
  std::vector<Taken> take_live();

 private:
  enum : uint32_t { kFree = 0, kWriting = 1, kLive = 2, kReceiving = 3 };  // Slot::state
  struct Slot {
    uint32_t state;
    uint32_t pad;
    seccomp_notif notif;
  };
  int take_slot(uint32_t state);
  void* base_ = nullptr;
  size_t size_ = 0;
  Slot* slots_ = nullptr;
  uint32_t count_ = 0;
  int fd_ = -1;  // the memfd (not ours): take_live asks it which pages hold data
};

}  // namespace sbx
