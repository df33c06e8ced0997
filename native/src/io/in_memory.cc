#include <cstring>

#include "io/loaded_file.h"
#include "rwkv/error.h"
#include "rwkv/tensor_file.h"

namespace rwkv {

void InMemoryTensorFile::add(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data) {
  uint64_t bytes = 0;
  if (!io::shape_bytes(shape, dtype, &bytes)) {
    throw Error(code::kArgument, "tensor '" + name + "': shape " + io::shape_str(shape) +
                                     " has a negative dimension or too many elements");
  }
  if (bytes && !data) throw Error(code::kArgument, "tensor '" + name + "': no data for shape " + io::shape_str(shape));
  // Copied before the old buffer of the same name is replaced: `data` may point into it.
  std::vector<uint8_t> buf(static_cast<size_t>(bytes));
  if (bytes) std::memcpy(buf.data(), data, static_cast<size_t>(bytes));
  auto& slot = storage_[name];
  slot = std::move(buf);
  TensorView v;
  v.dtype = dtype;
  v.shape = std::move(shape);
  v.data = slot.data();
  views_[name] = std::move(v);
}

}  // namespace rwkv
