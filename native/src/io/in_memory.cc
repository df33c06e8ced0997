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
  auto& buf = storage_[name];
  buf.assign(static_cast<size_t>(bytes), 0);
  if (bytes) std::memcpy(buf.data(), data, static_cast<size_t>(bytes));
  TensorView v;
  v.dtype = dtype;
  v.shape = std::move(shape);
  v.data = buf.data();
  views_[name] = std::move(v);
}

}  // namespace rwkv
