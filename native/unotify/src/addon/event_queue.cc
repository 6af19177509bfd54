#include "event_queue.h"

namespace sbx {

static std::string fold_key(const Event& e) {
  std::string k;
  k.reserve(e.program.size() + e.syscall.size() + e.target.size() + 48);
  k.append(e.kind).push_back('\0');
  k.append(e.op).push_back('\0');
  k.append(std::to_string(e.pid)).push_back('\0');
  k.append(std::to_string(e.policy)).push_back('\0');
  k.append(std::to_string(e.rule)).push_back('\0');
  k.append(std::to_string(e.err)).push_back('\0');
  k.append(e.program).push_back('\0');
  k.append(e.syscall).push_back('\0');
  k.append(e.target);
  return k;
}

void EventQueue::add(Event&& e) {
  std::string key = fold_key(e);
  auto it = index_.find(key);
  if (it != index_.end()) {
    events_[it->second].count += e.count;
    return;
  }
  if (events_.size() >= kMaxDistinct) {
    if (overflow_ == 0) {
      overflowTime_ = e.time;
      overflowKind_ = e.kind;
    }
    overflow_ += e.count;
    return;
  }
  index_.emplace(std::move(key), events_.size());
  events_.push_back(std::move(e));
}

std::vector<Event> EventQueue::take() {
  std::vector<Event> out;
  out.swap(events_);
  index_.clear();
  if (overflow_ > 0) {
    // Still a record that something was refused, and how often, even if not what.
    Event s;
    s.time = overflowTime_;
    s.kind = overflowKind_;
    s.rule = -2;
    s.syscall = "";
    s.op = "proc";
    s.target = "(not itemised: more distinct events than one flush holds)";
    s.count = overflow_;
    out.push_back(std::move(s));
    overflow_ = 0;
  }
  return out;
}

}  // namespace sbx
