#include "io/read_budget.h"

#include "io/byte_order.h"
#include "io/io_error.h"

namespace rwkv::io {

ReadBudget::ReadBudget(std::string path, uint64_t file_bytes) : path_(std::move(path)) {
  uint64_t scaled = 0;
  if (!checked_mul(file_bytes, kPerFileByte, &scaled) || !checked_add(scaled, kFixed, &limit_)) limit_ = UINT64_MAX;
}

void ReadBudget::charge(uint64_t bytes, const char* what) {
  uint64_t total = 0;
  if (!checked_add(used_, bytes, &total) || total > limit_) {
    fail(code::kModelLimit, path_,
         std::string("reading ") + what + " would take more than " + std::to_string(limit_ >> 20) +
             " MiB, the most a model file may cost (" + std::to_string(kPerFileByte) + " × its size + " +
             std::to_string(kFixed >> 20) + " MiB); a real model never needs this, so the file is refused");
  }
  used_ = total;
}

void ReadBudget::absorb(const ReadBudget& other) {
  if (!checked_add(limit_, other.limit_, &limit_)) limit_ = UINT64_MAX;
  used_ += other.used_;
}

}  // namespace rwkv::io
