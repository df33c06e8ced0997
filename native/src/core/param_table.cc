#include "core/param_table.h"

#include <algorithm>
#include <cstdlib>

#include "rwkv/error.h"

namespace rwkv {

std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); i++) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + ")";
}

void shape_error(const std::string& name, const std::string& expected, const std::vector<int64_t>& found) {
  throw Error(code::kModelShape, "tensor " + name + ": expected shape " + expected + ", found " + shape_text(found));
}

int count_block_layers(const std::map<std::string, TensorView>& tensors) {
  long max_index = -1;
  for (const auto& [name, view] : tensors) {
    if (name.rfind("blocks.", 0) != 0) continue;
    size_t p = 7, q = p;
    while (q < name.size() && name[q] >= '0' && name[q] <= '9') q++;
    if (q == p || q >= name.size() || name[q] != '.' || q - p > 6) continue;
    max_index = std::max(max_index, std::strtol(name.c_str() + p, nullptr, 10));
  }
  return static_cast<int>(max_index + 1);
}

const TensorView& ParamTable::get(const std::string& name) const {
  auto it = t_.find(name);
  if (it == t_.end()) throw Error(code::kModelShape, "missing tensor " + name);
  const TensorView& v = it->second;
  if (v.dtype != DType::F32 && v.dtype != DType::F16 && v.dtype != DType::BF16) {
    throw Error(code::kModelDtype, std::string("tensor ") + name + " has dtype " + dtype_name(v.dtype) +
                                       "; model weights must be f32, f16 or bf16");
  }
  return v;
}

TensorView ParamTable::vec(const std::string& name, int64_t n) const {
  TensorView v = get(name);
  int64_t big = 1;
  int non_unit = 0;
  for (int64_t s : v.shape) {
    if (s != 1) {
      non_unit++;
      big = s;
    }
  }
  if (v.shape.empty() || non_unit > 1 || big != n) shape_error(name, shape_text({n}) + " or " + shape_text({1, 1, n}), v.shape);
  v.shape = {n};
  return v;
}

TensorView ParamTable::mat(const std::string& name, int64_t rows, int64_t cols) const {
  TensorView v = get(name);
  std::vector<int64_t> s = v.shape;
  while (s.size() > 2 && s.back() == 1) s.pop_back();
  while (s.size() > 2 && s.front() == 1) s.erase(s.begin());
  if (s.size() != 2 || s[0] != rows || s[1] != cols) shape_error(name, shape_text({rows, cols}), v.shape);
  v.shape = s;
  return v;
}

TensorView ParamTable::exact(const std::string& name, const std::vector<int64_t>& shape) const {
  const TensorView& v = get(name);
  if (v.shape != shape) shape_error(name, shape_text(shape), v.shape);
  return v;
}

}  // namespace rwkv
