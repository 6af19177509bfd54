// EventQueue: engine events on their way to JavaScript.
//
// Identical events (same kind, process, syscall, target and rule) fold into one with a
// count, and at most kMaxDistinct different ones wait at a time; the rest are counted in
// one summary event. A denial storm then costs JS a few objects per flush instead of one
// per syscall, and the queue's memory stays bounded. Not thread-safe: Core's evMu_ guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine_event.h"

namespace sbx {

class EventQueue {
 public:
  static constexpr size_t kMaxDistinct = 4096;

  // Adds (or folds) one event.
  void add(Event&& e);
  // Distinct events waiting.
  size_t size() const { return events_.size() + (overflow_ ? 1 : 0); }
  bool empty() const { return size() == 0; }
  // Everything waiting, in arrival order of first occurrence; the queue is empty after.
  std::vector<Event> take();

 private:
  std::vector<Event> events_;
  std::unordered_map<std::string, size_t> index_;  // fold key → position in events_
  uint64_t overflow_ = 0;                          // events not itemised (cap reached)
  double overflowTime_ = 0;
  const char* overflowKind_ = "deny";
};

}  // namespace sbx
