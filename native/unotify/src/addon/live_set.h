// Every live instance of one class in this process (one per session's engine), for the few
// facts that span sessions. Lock order: the set's lock first, then an instance's own, never
// the other way; an instance joins in its constructor and leaves in its destructor.
#pragma once

#include <algorithm>
#include <mutex>
#include <vector>

template <class T>
class LiveSet {
 public:
  static void join(T* t) {
    std::lock_guard<std::mutex> g(mu());
    all().push_back(t);
  }
  static void leave(T* t) {
    std::lock_guard<std::mutex> g(mu());
    auto& v = all();
    v.erase(std::remove(v.begin(), v.end(), t), v.end());
  }
  // fn(T*) for each live instance, under the set's lock.
  template <class Fn>
  static void for_each(Fn fn) {
    std::lock_guard<std::mutex> g(mu());
    for (T* t : all()) fn(t);
  }

 private:
  static std::mutex& mu() {
    static std::mutex m;
    return m;
  }
  static std::vector<T*>& all() {
    static std::vector<T*> v;
    return v;
  }
};
