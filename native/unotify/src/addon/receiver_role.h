// When the engine's extra receiving threads receive.
//
// Why not every thread in RECV all the time: the kernel wakes every thread blocked in RECV
// for each notification (its wait there is not exclusive); one takes it and the others go
// back to sleep, on a VM often on the other, halted CPU. Measured on a 2-CPU VM: 500
// process launches took 1.25 s with two threads in RECV and 1.05 s with one (0.80 s
// unsandboxed), and a fresh process's trapped open ~100 µs against ~50.
//
// So thread 0, the primary, always receives. The extra threads receive only:
// - while calls contend (a call from another task than the last one came with another
//   call already waiting behind it, within the last kBusyFor): a parallel workload
//   (ripgrep's threads, make -j) is decided in parallel;
// - while the primary has been inside one decision for kStuckAfter (a slow filesystem, a
//   big hash), so one slow decision never holds up the rest of the session.
// Otherwise they sleep. To notice a stuck decision an extra thread wakes every kStuckAfter
// while decisions happen, and sleeps without a timeout once a whole interval had none: one
// wake per quiet spell from the primary, never one per notification.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace sbx {

class ReceiverRole {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr auto kStuckAfter = std::chrono::milliseconds(25);
  static constexpr auto kBusyFor = std::chrono::milliseconds(50);

  // Before each RECV. The primary (thread 0) goes on at once; an extra thread waits for its
  // turn. False once stopping: the thread leaves.
  bool wait_turn(int me);
  // Around each decision; `contended` = a call from another task than the last one, with
  // another call already waiting behind it.
  void begin_decision(int me, bool contended);
  void end_decision(int me);
  void stop();

 private:
  bool extra_may_receive(Clock::time_point now) const;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stopping_{false};
  bool deciding_ = false;  // the primary is inside a decision (not in RECV)
  uint64_t decisions_ = 0;  // the primary's decisions so far: the same count = the same decision
  uint64_t stuckAt_ = UINT64_MAX;  // the decision found stuck: extras receive while it lasts
  Clock::time_point busyUntil_{};  // extras receive until then
  int sleepers_ = 0;  // extras waiting without a timeout
};

}  // namespace sbx
