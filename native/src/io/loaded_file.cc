#include "io/loaded_file.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "io/byte_order.h"
#include "io/io_error.h"

namespace rwkv::io {

namespace {
constexpr size_t kBufferAlign = 64;
}

void LoadedTensorFile::AlignedFree::operator()(uint8_t* p) const {
  ::operator delete(p, std::align_val_t(kBufferAlign));
}

uint8_t* LoadedTensorFile::allocate(size_t bytes) {
  budget_.charge(uint64_t{bytes} + kBufferAlign, "a copy of a tensor");
  auto* p = static_cast<uint8_t*>(::operator new(bytes ? bytes : 1, std::align_val_t(kBufferAlign)));
  std::memset(p, 0, bytes);
  buffers_.emplace_back(p);
  return p;
}

void LoadedTensorFile::add(const std::string& name, TensorView view) {
  if (tensors_.count(name)) {
    fail(code::kModelFormat, path_, "tensor " + quoted(name) + " appears twice; expected unique names");
  }
  budget_.charge(table_entry_cost(name, view.shape), "the tensor table");
  size_t align = dtype_size(view.dtype);
  if (view.data && reinterpret_cast<uintptr_t>(view.data) % align != 0) {
    size_t n = view.nbytes();
    uint8_t* copy = allocate(n);
    std::memcpy(copy, view.data, n);
    view.data = copy;
  }
  tensors_.emplace(name, std::move(view));
}

void LoadedTensorFile::absorb(LoadedTensorFile&& other) {
  budget_.absorb(other.budget_);
  for (auto& f : other.files_) files_.push_back(std::move(f));
  for (auto& b : other.buffers_) buffers_.push_back(std::move(b));
  for (auto& [name, view] : other.tensors_) add(name, view);
  other.files_.clear();
  other.buffers_.clear();
  other.tensors_.clear();
}

uint64_t table_entry_cost(const std::string& name, const std::vector<int64_t>& shape) {
  // A red-black tree node holds three pointers and a colour besides the pair; strings longer than the small
  // buffer and every shape live on the heap, each with an allocator header. Counted twice: a table built one
  // small entry at a time, among the reader's temporaries, was measured to grow the heap by 1.6 times what its
  // entries hold, and the budget is meant to bound resident memory, not only what is in use.
  constexpr uint64_t kNode = 4 * sizeof(void*) + sizeof(std::string) + sizeof(TensorView) + 16;
  return 2 * (kNode + name.size() + 16 + shape.size() * sizeof(int64_t) + 16);
}

bool shape_bytes(const std::vector<int64_t>& shape, DType dtype, uint64_t* bytes) {
  uint64_t n = dtype_size(dtype);
  for (int64_t d : shape) {
    if (d < 0 || !checked_mul(n, static_cast<uint64_t>(d), &n)) return false;
  }
  *bytes = n;
  return true;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); i++) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

namespace {
// The source may be unaligned (ggml records sit at arbitrary offsets), so elements move through memcpy.
template <size_t Size>
void transpose_into(const uint8_t* src, uint8_t* dst, size_t rows, size_t cols) {
  // Tiles keep both the reads and the writes within a few cache lines.
  constexpr size_t kTile = 32;
  for (size_t r0 = 0; r0 < rows; r0 += kTile) {
    for (size_t c0 = 0; c0 < cols; c0 += kTile) {
      size_t r1 = r0 + kTile < rows ? r0 + kTile : rows;
      size_t c1 = c0 + kTile < cols ? c0 + kTile : cols;
      for (size_t r = r0; r < r1; r++)
        for (size_t c = c0; c < c1; c++) std::memcpy(dst + (c * rows + r) * Size, src + (r * cols + c) * Size, Size);
    }
  }
}
}  // namespace

TensorView transposed(LoadedTensorFile& file, const TensorView& t) {
  size_t rows = static_cast<size_t>(t.shape.at(0)), cols = static_cast<size_t>(t.shape.at(1));
  TensorView out;
  out.dtype = t.dtype;
  out.shape = {t.shape[1], t.shape[0]};
  uint8_t* dst = file.allocate(t.nbytes());
  switch (dtype_size(t.dtype)) {
    case 1: transpose_into<1>(t.data, dst, rows, cols); break;
    case 2: transpose_into<2>(t.data, dst, rows, cols); break;
    case 4: transpose_into<4>(t.data, dst, rows, cols); break;
    default: transpose_into<8>(t.data, dst, rows, cols); break;
  }
  out.data = dst;
  return out;
}

}  // namespace rwkv::io
