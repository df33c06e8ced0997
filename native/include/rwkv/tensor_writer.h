// Writing tensors as safetensors: the portable format for converted and generated models (the random
// benchmark models of the official shapes, conversions between dtypes).
#pragma once
#include <map>
#include <string>

#include "rwkv/tensor_file.h"

namespace rwkv {

// Writes every tensor under its name, in the tensor's own dtype, with optional string metadata. The file is
// written to a temporary name and renamed, so a reader never sees a partial file. Throws E_IO.
void write_safetensors(const std::string& path, const std::map<std::string, TensorView>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace rwkv
