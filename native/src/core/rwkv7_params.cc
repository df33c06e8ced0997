#include "core/rwkv7_params.h"

#include <algorithm>
#include <cstdlib>

#include "rwkv/error.h"

namespace rwkv {

namespace {

std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); i++) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + ")";
}

[[noreturn]] void shape_error(const std::string& name, const std::string& expected, const std::vector<int64_t>& found) {
  throw Error(code::kModelShape, "tensor " + name + ": expected shape " + expected + ", found " + shape_text(found));
}

class Table {
 public:
  explicit Table(const std::map<std::string, TensorView>& t) : t_(t) {}

  const TensorView& get(const std::string& name) const {
    auto it = t_.find(name);
    if (it == t_.end()) throw Error(code::kModelShape, "missing tensor " + name);
    const TensorView& v = it->second;
    if (v.dtype != DType::F32 && v.dtype != DType::F16 && v.dtype != DType::BF16) {
      throw Error(code::kModelDtype, std::string("tensor ") + name + " has dtype " + dtype_name(v.dtype) +
                                         "; model weights must be f32, f16 or bf16");
    }
    return v;
  }
  bool has(const std::string& name) const { return t_.count(name) != 0; }

  // A vector of n values, stored as (n), (1, n) or (1, 1, n) (the official files use (1, 1, C)).
  TensorView vec(const std::string& name, int64_t n) const {
    TensorView v = get(name);
    bool ok = !v.shape.empty() && v.shape.back() == n && v.numel() == n;
    if (!ok) shape_error(name, shape_text({n}) + " or " + shape_text({1, 1, n}), v.shape);
    v.shape = {n};
    return v;
  }

  TensorView mat(const std::string& name, int64_t rows, int64_t cols) const {
    const TensorView& v = get(name);
    if (v.shape.size() != 2 || v.shape[0] != rows || v.shape[1] != cols) {
      shape_error(name, shape_text({rows, cols}), v.shape);
    }
    return v;
  }

  // A (rows, D) matrix whose D is read from the file; returns D.
  int rank_of(const std::string& name, int64_t rows) const {
    const TensorView& v = get(name);
    if (v.shape.size() != 2 || v.shape[0] != rows || v.shape[1] <= 0) {
      std::string expected = "(";
      expected += std::to_string(rows);
      expected += ", rank)";
      shape_error(name, expected, v.shape);
    }
    return static_cast<int>(v.shape[1]);
  }

 private:
  const std::map<std::string, TensorView>& t_;
};

// 1 + the largest i of the keys "blocks.<i>.*"; 0 when there are none.
int count_layers(const std::map<std::string, TensorView>& tensors) {
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

const char* dtype_label(DType d) {
  switch (d) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    default: return dtype_name(d);
  }
}

}  // namespace

Rwkv7Params rwkv7_params(const TensorFile& file) {
  const auto& tensors = file.tensors();
  for (const char* key : {"_strategy", "_version", "_rescale_layer"}) {
    if (tensors.count(key)) {
      throw Error(code::kModelFormat, std::string("the entry ") + key +
                                          " marks a ChatRWKV pre-converted file (transposed or quantized weights); "
                                          "load the official checkpoint instead");
    }
  }
  std::string version = detect_version(tensors);
  if (version.empty()) throw Error(code::kModelVersion, "no RWKV block tensors (blocks.N.*) found: not an RWKV model");
  if (version != "x070") {
    throw Error(code::kModelVersion, "model version " + version + " is not supported; this engine runs RWKV-7 (x070) models");
  }

  const Table t(tensors);
  Rwkv7Params p;
  ModelConfig& c = p.config;
  c.version = version;
  c.format = file.format();

  const TensorView& emb = t.get("emb.weight");
  if (emb.shape.size() != 2 || emb.shape[0] <= 0 || emb.shape[1] <= 0) shape_error("emb.weight", "(V, C)", emb.shape);
  const int64_t V = emb.shape[0], C = emb.shape[1];
  const TensorView& rk = t.get("blocks.0.att.r_k");
  if (rk.shape.size() != 2 || rk.shape[0] <= 0 || rk.shape[1] <= 0) shape_error("blocks.0.att.r_k", "(H, N)", rk.shape);
  const int64_t H = rk.shape[0], N = rk.shape[1];
  if (H * N != C) {
    throw Error(code::kModelShape, "tensor blocks.0.att.r_k: shape " + shape_text(rk.shape) + " gives H*N = " +
                                       std::to_string(H * N) + ", but n_embd (from emb.weight) is " + std::to_string(C));
  }
  const TensorView& fk = t.get("blocks.0.ffn.key.weight");
  if (fk.shape.size() != 2 || fk.shape[0] <= 0) shape_error("blocks.0.ffn.key.weight", "(F, " + std::to_string(C) + ")", fk.shape);
  const int64_t F = fk.shape[0];
  const int L = count_layers(tensors);
  constexpr int64_t kMaxDim = int64_t{1} << 30;  // dimensions are kept as int
  if (V > kMaxDim || C > kMaxDim || F > kMaxDim) {
    throw Error(code::kModelShape, "model dimensions V=" + std::to_string(V) + ", C=" + std::to_string(C) +
                                       ", F=" + std::to_string(F) + " are out of range");
  }

  c.n_layer = L;
  c.n_embd = static_cast<int>(C);
  c.n_head = static_cast<int>(H);
  c.head_size = static_cast<int>(N);
  c.vocab_size = static_cast<int>(V);
  c.ffn = static_cast<int>(F);

  p.emb = emb;
  p.ln0_w = t.vec("blocks.0.ln0.weight", C);
  p.ln0_b = t.vec("blocks.0.ln0.bias", C);
  p.ln_out_w = t.vec("ln_out.weight", C);
  p.ln_out_b = t.vec("ln_out.bias", C);
  p.head = t.mat("head.weight", V, C);

  p.layers.resize(static_cast<size_t>(L));
  c.ranks.resize(static_cast<size_t>(L));
  for (int i = 0; i < L; i++) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    Rwkv7LayerParams& l = p.layers[static_cast<size_t>(i)];
    LayerRanks& r = c.ranks[static_cast<size_t>(i)];
    l.ln1_w = t.vec(b + "ln1.weight", C);
    l.ln1_b = t.vec(b + "ln1.bias", C);
    l.ln2_w = t.vec(b + "ln2.weight", C);
    l.ln2_b = t.vec(b + "ln2.bias", C);
    l.x_r = t.vec(b + "att.x_r", C);
    l.x_w = t.vec(b + "att.x_w", C);
    l.x_k = t.vec(b + "att.x_k", C);
    l.x_v = t.vec(b + "att.x_v", C);
    l.x_a = t.vec(b + "att.x_a", C);
    l.x_g = t.vec(b + "att.x_g", C);
    l.w0 = t.vec(b + "att.w0", C);
    l.a0 = t.vec(b + "att.a0", C);
    l.k_k = t.vec(b + "att.k_k", C);
    l.k_a = t.vec(b + "att.k_a", C);
    l.r_k = t.mat(b + "att.r_k", H, N);
    r.w = t.rank_of(b + "att.w1", C);
    r.a = t.rank_of(b + "att.a1", C);
    r.g = t.rank_of(b + "att.g1", C);
    l.w1 = t.mat(b + "att.w1", C, r.w);
    l.w2 = t.mat(b + "att.w2", r.w, C);
    l.a1 = t.mat(b + "att.a1", C, r.a);
    l.a2 = t.mat(b + "att.a2", r.a, C);
    l.g1 = t.mat(b + "att.g1", C, r.g);
    l.g2 = t.mat(b + "att.g2", r.g, C);
    // Layer 0 mixes the value toward itself, so its v0/v1/v2 (present in some files) are never read.
    if (i > 0) {
      r.v = t.rank_of(b + "att.v1", C);
      l.v0 = t.vec(b + "att.v0", C);
      l.v1 = t.mat(b + "att.v1", C, r.v);
      l.v2 = t.mat(b + "att.v2", r.v, C);
    }
    l.receptance = t.mat(b + "att.receptance.weight", C, C);
    l.key = t.mat(b + "att.key.weight", C, C);
    l.value = t.mat(b + "att.value.weight", C, C);
    l.output = t.mat(b + "att.output.weight", C, C);
    l.ln_x_w = t.vec(b + "att.ln_x.weight", C);
    l.ln_x_b = t.vec(b + "att.ln_x.bias", C);
    l.ffn_x_k = t.vec(b + "ffn.x_k", C);
    l.ffn_key = t.mat(b + "ffn.key.weight", F, C);
    l.ffn_value = t.mat(b + "ffn.value.weight", C, F);
  }
  c.file_dtype = dtype_label(p.layers.empty() ? emb.dtype : p.layers[0].receptance.dtype);
  return p;
}

}  // namespace rwkv
