// See shm_region.h.
#include "shm_region.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sbx {

ShmStore::~ShmStore() {
  if (map) munmap(map, len);
}

bool ShmStore::open(int fd, off_t off, size_t size, const char (&magic)[8], size_t header, size_t rec, uint32_t minRecords) {
  if (size < header + minRecords * rec || off % sysconf(_SC_PAGESIZE) != 0) return false;
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
  if (p == MAP_FAILED) return false;
  auto* h = static_cast<char*>(p);
  const uint32_t n = static_cast<uint32_t>((size - header) / rec);
  uint32_t stored = 0;
  memcpy(&stored, h + 8, sizeof stored);
  if (memcmp(h, magic, sizeof magic) != 0 || stored != n) {
    shm_zero(fd, off, size, h);
    memcpy(h + 8, &n, sizeof n);
    memcpy(h, magic, sizeof magic);
  }
  map = p;
  len = size;
  count = n;
  return true;
}

void shm_zero(int fd, off_t off, size_t len, void* map) {
  if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, static_cast<off_t>(len)) == 0) return;
  memset(map, 0, len);
}

void shm_for_each_data(int fd, off_t off, size_t len, const std::function<void(size_t, size_t)>& fn) {
  const off_t end = off + static_cast<off_t>(len);
  off_t at = off;
  while (at < end) {
    off_t data = lseek(fd, at, SEEK_DATA);
    if (data < 0) {
      if (errno != ENXIO) fn(static_cast<size_t>(at - off), len);  // no hole support: scan all
      return;                                                     // ENXIO: no data past `at`
    }
    if (data >= end) return;
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0 || hole > end) hole = end;
    fn(static_cast<size_t>(data - off), static_cast<size_t>(hole - off));
    at = hole;
  }
}

std::vector<std::pair<uint32_t, uint32_t>> shm_data_records(int fd, off_t off, size_t len, size_t header, size_t rec,
                                                            uint32_t count) {
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  shm_for_each_data(fd, off, len, [&](size_t b, size_t e) {
    size_t first = b <= header ? 0 : (b - header + rec - 1) / rec;
    size_t last = e <= header ? 0 : (e - header + rec - 1) / rec;
    if (last > count) last = count;
    if (first < last) ranges.emplace_back(static_cast<uint32_t>(first), static_cast<uint32_t>(last));
  });
  return ranges;
}

}  // namespace sbx
