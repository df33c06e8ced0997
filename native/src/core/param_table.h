// Looking up model tensors by official name with their shapes checked, for the parameter tables of the
// RWKV-4/5/6 models: every failure names the tensor and what was expected (E_MODEL_SHAPE, E_MODEL_DTYPE).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "rwkv/tensor_file.h"

namespace rwkv {

std::string shape_text(const std::vector<int64_t>& s);
[[noreturn]] void shape_error(const std::string& name, const std::string& expected, const std::vector<int64_t>& found);

// 1 + the largest i of the keys "blocks.<i>.*"; 0 when there are none.
int count_block_layers(const std::map<std::string, TensorView>& tensors);

class ParamTable {
 public:
  explicit ParamTable(const std::map<std::string, TensorView>& t) : t_(t) {}

  bool has(const std::string& name) const { return t_.count(name) != 0; }
  // The tensor, which must exist and be f32, f16 or bf16.
  const TensorView& get(const std::string& name) const;
  // n values stored in any shape whose dimensions other than one are 1 ((n), (1, 1, n), (n, 1, 1), ...): the
  // official files use (1, 1, C) for vectors and (H) or (H, 1) for per-head scalars. Returned as (n).
  TensorView vec(const std::string& name, int64_t n) const;
  // rows x cols values; extra dimensions of size 1 are dropped (rwkv.cpp adds trailing ones). Returned as 2-D.
  TensorView mat(const std::string& name, int64_t rows, int64_t cols) const;
  // Exactly this shape.
  TensorView exact(const std::string& name, const std::vector<int64_t>& shape) const;

 private:
  const std::map<std::string, TensorView>& t_;
};

}  // namespace rwkv
