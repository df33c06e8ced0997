// Building the device weight arena (see cuda_weights.h). The layout is described once, by layout(), and run
// twice: first to size the arena, then to hand out real pointers and record what fills each region, either a
// checkpoint tensor (uploaded in its own dtype and converted on the device) or a seeded uniform draw.
#include <algorithm>
#include <cmath>
#include <string>

#include "cuda/cuda_check.h"
#include "cuda/cuda_weights.h"
#include "cuda/kernels.h"
#include "util/hash.h"

namespace rwkv::cuda {

size_t weight_type_size(WeightType t) { return t == WeightType::F32 ? 4 : 2; }

namespace {

struct Fill {
  char* dst = nullptr;
  bool f32 = false;
  size_t n = 0;
  int tr_rows = 0, tr_cols = 0;  // transpose a [tr_rows][tr_cols] source
  const TensorView* src = nullptr;
  std::string name;
  float lo = 0, hi = 0;
};

class Builder {
 public:
  Builder(WeightType type, char* base) : type_(type), base_(base) {}

  float* vec(const std::string& name, size_t n, const TensorView* src, float lo, float hi, bool packed = false) {
    return reinterpret_cast<float*>(region(name, n, true, src, lo, hi, 0, 0, packed));
  }
  void* mat(const std::string& name, size_t n, const TensorView* src, float lo, float hi, bool packed = false,
            int tr_rows = 0, int tr_cols = 0) {
    matrix_bytes_ += n * weight_type_size(type_);
    return region(name, n, false, src, lo, hi, tr_rows, tr_cols, packed);
  }
  void uncount_matrix(size_t n) { matrix_bytes_ -= n * weight_type_size(type_); }

  size_t total() const { return total_; }
  size_t matrix_bytes() const { return matrix_bytes_; }
  std::vector<Fill>& fills() { return fills_; }

 private:
  // `packed` places the region right after the previous one (no alignment gap), for tensors that kernels
  // index as one array ([6][C] mixes, [3][C][C] R/K/V).
  char* region(const std::string& name, size_t n, bool f32, const TensorView* src, float lo, float hi, int tr_rows,
               int tr_cols, bool packed) {
    if (!packed) total_ = (total_ + 255) / 256 * 256;
    char* p = base_ ? base_ + total_ : nullptr;
    total_ += n * (f32 ? 4 : weight_type_size(type_));
    if (base_) fills_.push_back(Fill{p, f32, n, tr_rows, tr_cols, src, name, lo, hi});
    return p;
  }

  WeightType type_;
  char* base_;
  size_t total_ = 0;
  size_t matrix_bytes_ = 0;
  std::vector<Fill> fills_;
};

// Describes every tensor. `p` is null for random models (then only cfg's shapes are used).
void layout(Builder& b, const ModelConfig& cfg, const Rwkv7Params* p, ModelWeights& w) {
  const size_t C = cfg.n_embd, V = cfg.vocab_size, F = cfg.ffn;
  const float sc = std::sqrt(3.f / C), sf = std::sqrt(3.f / F);
  w.emb = b.mat("emb.weight", V * C, p ? &p->emb : nullptr, -1.f, 1.f);
  b.uncount_matrix(V * C);  // a decoded token reads one row of the embedding, not the matrix
  w.ln0_w = b.vec("blocks.0.ln0.weight", C, p ? &p->ln0_w : nullptr, 0.8f, 1.2f);
  w.ln0_b = b.vec("blocks.0.ln0.bias", C, p ? &p->ln0_b : nullptr, -0.1f, 0.1f);
  w.lnout_w = b.vec("ln_out.weight", C, p ? &p->ln_out_w : nullptr, 0.8f, 1.2f);
  w.lnout_b = b.vec("ln_out.bias", C, p ? &p->ln_out_b : nullptr, -0.1f, 0.1f);
  w.head = b.mat("head.weight", V * C, p ? &p->head : nullptr, -sc, sc);
  w.layers.resize(cfg.n_layer);
  for (int l = 0; l < cfg.n_layer; l++) {
    const Rwkv7LayerParams* lp = p ? &p->layers[l] : nullptr;
    LayerWeights& L = w.layers[l];
    const std::string pre = "blocks." + std::to_string(l) + ".";
    L.dw = cfg.ranks[l].w;
    L.da = cfg.ranks[l].a;
    L.dv = l == 0 ? 0 : cfg.ranks[l].v;
    L.dg = cfg.ranks[l].g;
    auto V_ = [&](const TensorView& v) { return lp ? &v : nullptr; };
    L.ln1_w = b.vec(pre + "ln1.weight", C, lp ? V_(lp->ln1_w) : nullptr, 0.8f, 1.2f);
    L.ln1_b = b.vec(pre + "ln1.bias", C, lp ? V_(lp->ln1_b) : nullptr, -0.1f, 0.1f);
    L.ln2_w = b.vec(pre + "ln2.weight", C, lp ? V_(lp->ln2_w) : nullptr, 0.8f, 1.2f);
    L.ln2_b = b.vec(pre + "ln2.bias", C, lp ? V_(lp->ln2_b) : nullptr, -0.1f, 0.1f);
    // Plane order r, k, v, w, a, g (see Plane).
    L.mix = b.vec(pre + "att.x_r", C, lp ? V_(lp->x_r) : nullptr, 0.f, 1.f);
    b.vec(pre + "att.x_k", C, lp ? V_(lp->x_k) : nullptr, 0.f, 1.f, true);
    b.vec(pre + "att.x_v", C, lp ? V_(lp->x_v) : nullptr, 0.f, 1.f, true);
    b.vec(pre + "att.x_w", C, lp ? V_(lp->x_w) : nullptr, 0.f, 1.f, true);
    b.vec(pre + "att.x_a", C, lp ? V_(lp->x_a) : nullptr, 0.f, 1.f, true);
    b.vec(pre + "att.x_g", C, lp ? V_(lp->x_g) : nullptr, 0.f, 1.f, true);
    L.w0 = b.vec(pre + "att.w0", C, lp ? V_(lp->w0) : nullptr, -3.f, 1.f);
    L.a0 = b.vec(pre + "att.a0", C, lp ? V_(lp->a0) : nullptr, -1.f, 1.f);
    if (l > 0) L.v0 = b.vec(pre + "att.v0", C, lp ? V_(lp->v0) : nullptr, -1.f, 1.f);
    L.k_k = b.vec(pre + "att.k_k", C, lp ? V_(lp->k_k) : nullptr, 0.5f, 1.f);
    L.k_a = b.vec(pre + "att.k_a", C, lp ? V_(lp->k_a) : nullptr, 0.5f, 1.5f);
    L.r_k = b.vec(pre + "att.r_k", C, lp ? V_(lp->r_k) : nullptr, -0.2f, 0.2f);
    L.lnx_w = b.vec(pre + "att.ln_x.weight", C, lp ? V_(lp->ln_x_w) : nullptr, 0.5f, 1.5f);
    L.lnx_b = b.vec(pre + "att.ln_x.bias", C, lp ? V_(lp->ln_x_b) : nullptr, -0.1f, 0.1f);
    L.ffn_mix = b.vec(pre + "ffn.x_k", C, lp ? V_(lp->ffn_x_k) : nullptr, 0.f, 1.f);
    L.rkv = b.mat(pre + "att.receptance.weight", C * C, lp ? V_(lp->receptance) : nullptr, -sc, sc);
    b.mat(pre + "att.key.weight", C * C, lp ? V_(lp->key) : nullptr, -sc, sc, true);
    b.mat(pre + "att.value.weight", C * C, lp ? V_(lp->value) : nullptr, -sc, sc, true);
    L.out = b.mat(pre + "att.output.weight", C * C, lp ? V_(lp->output) : nullptr, -0.5f * sc, 0.5f * sc);
    // Low-rank matrices: checkpoint (C, D) "down" and (D, C) "up", both transposed to (out, in).
    auto lora = [&](const char* nm, int D, const TensorView* down, const TensorView* up, void*& d1, void*& d2) {
      if (D == 0) return;
      const float su = 0.5f * std::sqrt(3.f / D);
      d1 = b.mat(pre + "att." + nm + "1", static_cast<size_t>(D) * C, down, -sc, sc, false, static_cast<int>(C), D);
      d2 = b.mat(pre + "att." + nm + "2", static_cast<size_t>(D) * C, up, -su, su, false, D, static_cast<int>(C));
    };
    lora("w", L.dw, lp ? V_(lp->w1) : nullptr, lp ? V_(lp->w2) : nullptr, L.w1, L.w2);
    lora("a", L.da, lp ? V_(lp->a1) : nullptr, lp ? V_(lp->a2) : nullptr, L.a1, L.a2);
    lora("v", L.dv, lp ? V_(lp->v1) : nullptr, lp ? V_(lp->v2) : nullptr, L.v1, L.v2);
    lora("g", L.dg, lp ? V_(lp->g1) : nullptr, lp ? V_(lp->g2) : nullptr, L.g1, L.g2);
    L.ffn_k = b.mat(pre + "ffn.key.weight", F * C, lp ? V_(lp->ffn_key) : nullptr, -sc, sc);
    L.ffn_v = b.mat(pre + "ffn.value.weight", C * F, lp ? V_(lp->ffn_value) : nullptr, -0.5f * sf, 0.5f * sf);
  }
}

SrcType src_type(const Fill& f) {
  switch (f.src->dtype) {
    case DType::F32: return SrcType::F32;
    case DType::F16: return SrcType::F16;
    case DType::BF16: return SrcType::BF16;
    default: throw Error(code::kModelDtype, f.name + ": only f32, f16 and bf16 tensors can be uploaded to the GPU");
  }
}

size_t src_size(SrcType t) { return t == SrcType::F32 ? 4 : 2; }

void check_shape(const Fill& f) {
  if (f.src->data == nullptr || static_cast<size_t>(f.src->numel()) != f.n)
    throw Error(code::kModelShape, f.name + ": expected " + std::to_string(f.n) + " elements, the file has " +
                                       std::to_string(f.src->numel()));
  if (f.tr_rows && (f.src->shape.size() != 2 || f.src->shape[0] != f.tr_rows || f.src->shape[1] != f.tr_cols))
    throw Error(code::kModelShape,
                f.name + ": expected shape (" + std::to_string(f.tr_rows) + ", " + std::to_string(f.tr_cols) + ")");
}

ModelWeights build(const ModelConfig& cfg, WeightType type, const Rwkv7Params* params, uint64_t seed, cudaStream_t st) {
  ModelWeights w;
  w.type = type;
  Builder sizing(type, nullptr);
  layout(sizing, cfg, params, w);
  w = ModelWeights{};
  w.type = type;
  w.arena = DeviceBuffer(sizing.total(), "model weights");
  Builder b(type, w.arena.as<char>());
  layout(b, cfg, params, w);
  w.matrix_bytes = b.matrix_bytes();
  w.total_bytes = sizing.total();

  if (!params) {
    for (auto& f : b.fills()) {
      const uint64_t s = seed ^ Xxh64::hash(f.name.data(), f.name.size(), 0x5eed);
      if (f.f32)
        launch_fill_uniform_f32(reinterpret_cast<float*>(f.dst), f.n, f.lo, f.hi, s, st);
      else
        launch_fill_uniform(type, f.dst, f.n, f.lo, f.hi, s, st);
    }
    RWKV_CUDA_CHECK(cudaStreamSynchronize(st));
    return w;
  }

  // Checkpoint tensors go through a device staging buffer in their own dtype; large untransposed tensors in
  // slices, so the staging buffer stays small.
  size_t max_bytes = 0;
  for (auto& f : b.fills()) {
    check_shape(f);
    max_bytes = std::max(max_bytes, f.n * src_size(src_type(f)));
  }
  constexpr size_t kSlice = 64ull << 20;
  size_t max_transposed = 0;
  for (auto& f : b.fills())
    if (f.tr_rows) max_transposed = std::max(max_transposed, f.n * src_size(src_type(f)));
  DeviceBuffer staging(std::max(std::min(max_bytes, kSlice), max_transposed), "weight upload staging");
  for (auto& f : b.fills()) {
    const SrcType t = src_type(f);
    const size_t es = src_size(t);
    if (f.tr_rows) {
      RWKV_CUDA_CHECK(cudaMemcpyAsync(staging.get(), f.src->data, f.n * es, cudaMemcpyHostToDevice, st));
      launch_convert_transpose(t, staging.get(), type, f.dst, f.tr_rows, f.tr_cols, st);
      continue;
    }
    const size_t per = staging.bytes() / es;
    const size_t dst_es = f.f32 ? 4 : weight_type_size(type);
    for (size_t off = 0; off < f.n; off += per) {
      const size_t n = std::min(per, f.n - off);
      RWKV_CUDA_CHECK(cudaMemcpyAsync(staging.get(), f.src->data + off * es, n * es, cudaMemcpyHostToDevice, st));
      if (f.f32)
        launch_convert_f32(t, staging.get(), reinterpret_cast<float*>(f.dst) + off, n, st);
      else
        launch_convert(t, staging.get(), type, f.dst + off * dst_es, n, st);
    }
  }
  RWKV_CUDA_CHECK(cudaStreamSynchronize(st));
  return w;
}

}  // namespace

ModelWeights upload_weights(const Rwkv7Params& params, WeightType type, cudaStream_t st) {
  return build(params.config, type, &params, 0, st);
}

ModelWeights random_weights(const ModelConfig& cfg, WeightType type, uint64_t seed, cudaStream_t st) {
  return build(cfg, type, nullptr, seed, st);
}

}  // namespace rwkv::cuda
