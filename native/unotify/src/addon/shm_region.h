// Regions of the keeper's memfd (the journal, the process-tag store) that the supervisor
// maps shared. Every page of a shared memfd mapping the supervisor touches — even a read
// of a hole — becomes a page of its RSS, so a blank region is zeroed by punching a hole
// (no page touched) and a scan for records visits only the pages that hold data.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace sbx {
// Makes [off, off+len) of fd read as zeros, freeing its pages; `map` (that range mapped)
// is memset only where the kernel cannot punch a hole.
void shm_zero(int fd, off_t off, size_t len, void* map);
// Calls fn(begin, end) — offsets relative to `off` — for each part of [off, off+len) of fd
// that holds data; the whole range once where the kernel cannot tell holes from data.
void shm_for_each_data(int fd, off_t off, size_t len, const std::function<void(size_t, size_t)>& fn);
// The index ranges [first, last) of the records of a region laid out as a `header` then
// `count` records of `rec` bytes each, whose first byte lies in a part that holds data (a
// record starting in a hole was never written: it is free).
std::vector<std::pair<uint32_t, uint32_t>> shm_data_records(int fd, off_t off, size_t len, size_t header, size_t rec,
                                                            uint32_t count);
// A store in the keeper's memfd, mapped shared: a `header`-byte header (an 8-byte magic, then
// the record count at byte 8) and records of `rec` bytes. Unmapped with its owner.
struct ShmStore {
  void* map = nullptr;
  size_t len = 0;
  uint32_t count = 0;  // records it holds
  ShmStore() = default;
  ShmStore(const ShmStore&) = delete;
  ShmStore& operator=(const ShmStore&) = delete;
  ~ShmStore();
  // Maps [off, off+len) of fd. A region with another magic or count (blank, or another
  // layout) is zeroed and stamped. false (nothing mapped) when fewer than `minRecords` fit,
  // `off` is not page-aligned, or the mapping fails.
  bool open(int fd, off_t off, size_t len, const char (&magic)[8], size_t header, size_t rec, uint32_t minRecords);
  char* at(size_t off) const { return static_cast<char*>(map) + off; }
};
}  // namespace sbx
