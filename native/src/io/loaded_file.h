// The TensorFile every reader fills: views into one or more memory-mapped files, plus the few buffers a reader
// had to make (transposes, non-contiguous tensors, misaligned data). A view's data is always aligned to its
// element size, so backends may read it as float/uint16_t arrays directly.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/mapped_file.h"
#include "io/read_budget.h"
#include "rwkv/tensor_file.h"

namespace rwkv::io {

class LoadedTensorFile final : public TensorFile {
 public:
  // `file_bytes` sets the memory budget (read_budget.h) of everything built from the file.
  LoadedTensorFile(std::string format, std::string path, uint64_t file_bytes)
      : format_(std::move(format)), path_(std::move(path)), budget_(path_, file_bytes) {}

  const std::string& format() const override { return format_; }
  const std::map<std::string, TensorView>& tensors() const override { return tensors_; }

  const std::string& path() const { return path_; }
  void keep_alive(std::shared_ptr<const MappedFile> file) { files_.push_back(std::move(file)); }

  // What reading this file may still cost; readers charge their parse structures here.
  ReadBudget& budget() { return budget_; }

  // A zero-filled buffer owned by this file, aligned for any element type (and for SIMD loads), charged to
  // the budget before it is allocated (E_MODEL_LIMIT).
  uint8_t* allocate(size_t bytes);

  // Adds a tensor whose bytes live in a kept-alive mapping or an owned buffer; data that is not aligned to the
  // element size is copied. A second tensor with the same name is refused (E_MODEL_FORMAT); the table entry is
  // charged to the budget.
  void add(const std::string& name, TensorView view);

  // Replaces the whole table (used when names are normalized); the views must point into memory owned here.
  void replace_all(std::map<std::string, TensorView> tensors) { tensors_ = std::move(tensors); }

  // Moves the mappings, buffers and tensors of `other` into this file (sharded checkpoints).
  void absorb(LoadedTensorFile&& other);

 private:
  struct AlignedFree {
    void operator()(uint8_t* p) const;
  };
  std::string format_;
  std::string path_;
  ReadBudget budget_;
  std::map<std::string, TensorView> tensors_;
  std::vector<std::shared_ptr<const MappedFile>> files_;
  std::vector<std::unique_ptr<uint8_t, AlignedFree>> buffers_;
};

// What one entry of a tensor table costs: the map node, its name and its shape (charged per tensor).
uint64_t table_entry_cost(const std::string& name, const std::vector<int64_t>& shape);

// numel * element size of a shape read from a file, or false when it overflows 64 bits.
bool shape_bytes(const std::vector<int64_t>& shape, DType dtype, uint64_t* bytes);

// "(6, 1, 64)", for messages.
std::string shape_str(const std::vector<int64_t>& shape);

// A row-major copy of the 2-D tensor `t` transposed, owned by `file`.
TensorView transposed(LoadedTensorFile& file, const TensorView& t);

}  // namespace rwkv::io
