// Looking up model tensors by official name with their shapes checked, for the parameter tables of every RWKV
// version: every failure names the tensor and what was expected (E_MODEL_SHAPE, E_MODEL_DTYPE).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "rwkv/model.h"
#include "rwkv/tensor_file.h"

namespace rwkv {

std::string shape_text(const std::vector<int64_t>& s);
[[noreturn]] void shape_error(const std::string& name, const std::string& expected, const std::vector<int64_t>& found);

// 1 + the largest i of the keys "blocks.<i>.*"; 0 when there are none. Throws E_MODEL_SHAPE when an index
// below the largest has no tensors.
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
  // A (rows, D) matrix whose D (a low-rank dimension) is read from the file; returns D.
  int rank_of(const std::string& name, int64_t rows) const;

 private:
  const std::map<std::string, TensorView>& t_;
};

// The weight dtype as ModelConfig.file_dtype names it.
const char* dtype_label(DType d);

// ChatRWKV's pre-converted files (transposed or quantized weights) carry these entries: refused with E_MODEL_FORMAT.
void refuse_preconverted(const std::map<std::string, TensorView>& tensors);

// The tensors outside the blocks, the same in every RWKV version (each version's parameter table extends this).
struct SharedTensors {
  TensorView emb;           // (V, C)
  TensorView ln0_w, ln0_b;  // block 0's ln0
  TensorView ln_out_w, ln_out_b;
  TensorView head;  // (V, C)
};

// The shared tensors with the dimensions they and the first FFN define (vocabulary V, width C, FFN width F),
// and the layer count L.
struct SharedParams {
  int64_t V = 0, C = 0, F = 0;
  int L = 0;
  SharedTensors tensors;
};
SharedParams read_shared_params(const ParamTable& t, const std::map<std::string, TensorView>& tensors);

// Sets the config's dimensions from the shared ones and the heads (H heads of N channels; 0 for RWKV-4).
void set_dimensions(ModelConfig& c, const SharedParams& s, int64_t H, int64_t N);

}  // namespace rwkv
