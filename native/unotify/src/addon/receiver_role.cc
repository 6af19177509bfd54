#include "receiver_role.h"

namespace sbx {

bool ReceiverRole::extra_may_receive(Clock::time_point now) const {
  return now < busyUntil_ || (deciding_ && decisions_ == stuckAt_);
}

bool ReceiverRole::wait_turn(int me) {
  if (me == 0) return !stopping_;
  std::unique_lock<std::mutex> lk(mu_);
  auto ready = [&] { return stopping_ || extra_may_receive(Clock::now()); };
  for (;;) {
    if (ready()) return !stopping_;
    if (!deciding_) {
      // The primary is in RECV: nothing to watch until its next decision.
      sleepers_++;
      cv_.wait(lk);
      sleepers_--;
      if (ready()) return !stopping_;
    }
    // Decisions are happening: look again after a whole interval.
    const uint64_t seen = decisions_;
    if (cv_.wait_until(lk, Clock::now() + kStuckAfter, ready)) return !stopping_;
    if (deciding_ && decisions_ == seen) {
      stuckAt_ = seen;  // one decision for the whole interval: receive beside it
      return true;
    }
  }
}

void ReceiverRole::begin_decision(int me, bool contended) {
  std::lock_guard<std::mutex> g(mu_);
  if (contended) {
    const bool already = Clock::now() < busyUntil_;
    busyUntil_ = Clock::now() + kBusyFor;
    if (!already) cv_.notify_all();  // the extras receive from now
  }
  if (me != 0) return;
  decisions_++;
  deciding_ = true;
  if (sleepers_ > 0) cv_.notify_all();  // someone to watch this decision
}

void ReceiverRole::end_decision(int me) {
  if (me != 0) return;
  std::lock_guard<std::mutex> g(mu_);
  deciding_ = false;
}

void ReceiverRole::stop() {
  std::lock_guard<std::mutex> g(mu_);
  stopping_ = true;
  cv_.notify_all();
}

}  // namespace sbx
