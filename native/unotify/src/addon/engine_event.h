// One engine event (a denial, an audit, an error) as JavaScript receives it.
#pragma once

#include <cstdint>
#include <string>

namespace sbx {

struct Event {
  double time = 0;
  const char* kind = "deny";
  int policy = 0;
  int rule = -1;
  int pid = 0;
  std::string program;
  std::string syscall;
  const char* op = "read";
  std::string target;
  int err = 0;
  uint64_t count = 1;  // identical events folded into this one (EventQueue)
};

}  // namespace sbx
