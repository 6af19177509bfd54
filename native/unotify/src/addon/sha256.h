// SHA-256 (FIPS 180-4), self-contained: the engine hashes exec images to recognise
// copies of a denied program (exec_rules.cc). No dependency for one small function.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace sbx {

using Sha256 = std::array<uint8_t, 32>;

class Sha256Ctx {
 public:
  Sha256Ctx();
  void update(const void* data, size_t len);
  Sha256 finish();

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t used_ = 0;
  uint64_t total_ = 0;
};

Sha256 sha256(const void* data, size_t len);
std::string sha256_hex(const Sha256& d);
// Lower-case hex (64 chars) → digest; false when malformed.
bool sha256_from_hex(const std::string& hex, Sha256& out);

}  // namespace sbx
