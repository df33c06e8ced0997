#include "model/param_table.h"

#include <algorithm>
#include <cstdlib>
#include <set>

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
  std::set<long> indices;
  for (const auto& [name, view] : tensors) {
    if (name.rfind("blocks.", 0) != 0) continue;
    size_t p = 7, q = p;
    while (q < name.size() && name[q] >= '0' && name[q] <= '9') q++;
    if (q == p || q >= name.size() || name[q] != '.' || q - p > 6) continue;
    indices.insert(std::strtol(name.c_str() + p, nullptr, 10));
  }
  // The count sizes the per-layer tables before any layer is read, so every index up to the largest must have
  // tensors: a file naming only blocks.999999.x is refused here instead of making a million empty layers.
  long expected = 0;
  for (long i : indices) {
    if (i != expected) {
      throw Error(code::kModelShape, "expected tensors for every block from 0 to " + std::to_string(*indices.rbegin()) +
                                         ", found none for block " + std::to_string(expected));
    }
    expected++;
  }
  return static_cast<int>(indices.size());
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
  if (v.shape.empty() || non_unit > 1 || big != n)
    shape_error(name, shape_text({n}) + " or " + shape_text({1, 1, n}), v.shape);
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

int ParamTable::rank_of(const std::string& name, int64_t rows) const {
  const TensorView& v = get(name);
  if (v.shape.size() != 2 || v.shape[0] != rows || v.shape[1] <= 0) {
    // Built step by step: GCC 12's -Wrestrict misfires on "(" + std::to_string(...) here.
    std::string expected = "(";
    expected += std::to_string(rows);
    expected += ", rank)";
    shape_error(name, expected, v.shape);
  }
  return static_cast<int>(v.shape[1]);
}

const char* dtype_label(DType d) {
  switch (d) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    default: return dtype_name(d);
  }
}

void refuse_preconverted(const std::map<std::string, TensorView>& tensors) {
  for (const char* key : {"_strategy", "_version", "_rescale_layer"}) {
    if (tensors.count(key)) {
      throw Error(code::kModelFormat, std::string("the entry ") + key +
                                          " marks a ChatRWKV pre-converted file (transposed or quantized weights); "
                                          "load the official checkpoint instead");
    }
  }
}

SharedParams read_shared_params(const ParamTable& t, const std::map<std::string, TensorView>& tensors) {
  SharedParams s;
  const TensorView& emb = t.get("emb.weight");
  if (emb.shape.size() != 2 || emb.shape[0] <= 0 || emb.shape[1] <= 0) shape_error("emb.weight", "(V, C)", emb.shape);
  s.V = emb.shape[0];
  s.C = emb.shape[1];
  const TensorView& fk = t.get("blocks.0.ffn.key.weight");
  if (fk.shape.size() != 2 || fk.shape[0] <= 0)
    shape_error("blocks.0.ffn.key.weight", "(F, " + std::to_string(s.C) + ")", fk.shape);
  s.F = fk.shape[0];
  s.L = count_block_layers(tensors);
  constexpr int64_t kMaxDim = int64_t{1} << 30;  // dimensions are kept as int
  if (s.V > kMaxDim || s.C > kMaxDim || s.F > kMaxDim) {
    throw Error(code::kModelShape, "model dimensions V=" + std::to_string(s.V) + ", C=" + std::to_string(s.C) +
                                       ", F=" + std::to_string(s.F) + " are out of range");
  }
  s.tensors.emb = emb;
  s.tensors.ln0_w = t.vec("blocks.0.ln0.weight", s.C);
  s.tensors.ln0_b = t.vec("blocks.0.ln0.bias", s.C);
  s.tensors.ln_out_w = t.vec("ln_out.weight", s.C);
  s.tensors.ln_out_b = t.vec("ln_out.bias", s.C);
  s.tensors.head = t.mat("head.weight", s.V, s.C);
  return s;
}

void set_dimensions(ModelConfig& c, const SharedParams& s, int64_t H, int64_t N) {
  c.n_layer = s.L;
  c.n_embd = static_cast<int>(s.C);
  c.n_head = static_cast<int>(H);
  c.head_size = static_cast<int>(N);
  c.vocab_size = static_cast<int>(s.V);
  c.ffn = static_cast<int>(s.F);
}

}  // namespace rwkv
