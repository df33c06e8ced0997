// The memory one model file may make a reader spend. Everything a reader builds from the file's bytes (the zip
// directory, the pickle's values, the JSON header, the tensor table, and the tensors it has to copy because they
// are transposed, strided or byte-swapped) is charged here before or as it is made, and the total may not
// exceed kPerFileByte × the file's size + kFixed. A hostile file therefore cannot turn a few bytes into
// gigabytes by repeating cheap opcodes, by naming one storage from many entries, or by a huge header: it is
// refused with E_MODEL_LIMIT instead. Views into the memory map cost nothing and are not charged.
//
// Legitimate files use well under the bound: tensors are views (no cost), a big-endian .pth copies each
// tensor once (1×), transposed LoRA matrices and converted rwkv.cpp decays are small, and the bookkeeping of
// a table of a few thousand tensors fits in kFixed.
#pragma once
#include <cstdint>
#include <string>

namespace rwkv::io {

class ReadBudget {
 public:
  static constexpr uint64_t kPerFileByte = 4;
  static constexpr uint64_t kFixed = uint64_t{16} << 20;

  ReadBudget(std::string path, uint64_t file_bytes);

  // Adds `bytes` to what this file has cost; throws E_MODEL_LIMIT, naming `what`, when the total would pass
  // the limit.
  void charge(uint64_t bytes, const char* what);

  // Takes over another file's limit and spending (the shards of one checkpoint become one file).
  void absorb(const ReadBudget& other);

  uint64_t used() const { return used_; }
  uint64_t limit() const { return limit_; }

 private:
  std::string path_;
  uint64_t limit_;
  uint64_t used_ = 0;
};

}  // namespace rwkv::io
