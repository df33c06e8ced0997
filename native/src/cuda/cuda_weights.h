// The model's weights on the device, laid out for the kernels: one allocation holds every tensor. Matrices
// are in the storage type and (out, in) row-major, the Linear convention, so every projection is the same
// "TN" GEMM; the low-rank matrices, stored (in, out) in checkpoints, are transposed on upload. The six
// token-shift coefficients are packed in the order of the activation planes (r, k, v, w, a, g), and R, K, V
// are contiguous so the three projections run as one strided-batched GEMM. Small vectors stay fp32.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "cuda/device_memory.h"
#include "model/rwkv7_params.h"
#include "rwkv/model.h"

namespace rwkv::cuda {

// Activation planes written by the time-mix LayerNorm; the first three feed the batched R/K/V GEMM.
enum Plane : int { kPlaneR = 0, kPlaneK = 1, kPlaneV = 2, kPlaneW = 3, kPlaneA = 4, kPlaneG = 5 };

struct LayerWeights {
  int dw = 0, da = 0, dv = 0, dg = 0;  // low-rank widths (dv = 0 in layer 0)
  float *ln1_w = nullptr, *ln1_b = nullptr, *ln2_w = nullptr, *ln2_b = nullptr;
  float* mix = nullptr;  // [6][C], plane order
  float *w0 = nullptr, *a0 = nullptr, *v0 = nullptr, *k_k = nullptr, *k_a = nullptr, *r_k = nullptr;
  float *lnx_w = nullptr, *lnx_b = nullptr, *ffn_mix = nullptr;
  void* rkv = nullptr;                                              // [3][C][C]
  void* out = nullptr;                                              // [C][C]
  void *w1 = nullptr, *a1 = nullptr, *v1 = nullptr, *g1 = nullptr;  // [D][C]
  void *w2 = nullptr, *a2 = nullptr, *v2 = nullptr, *g2 = nullptr;  // [C][D]
  void* ffn_k = nullptr;                                            // [F][C]
  void* ffn_v = nullptr;                                            // [C][F]
  int dsum() const { return dw + da + dv + dg; }
};

struct ModelWeights {
  WeightType type = WeightType::BF16;
  void* emb = nullptr;  // [V][C]
  float *ln0_w = nullptr, *ln0_b = nullptr, *lnout_w = nullptr, *lnout_b = nullptr;
  void* head = nullptr;  // [V][C]
  std::vector<LayerWeights> layers;
  size_t matrix_bytes = 0;  // bytes of all matrices read per decoded token (everything but the embedding)
  size_t total_bytes = 0;
  DeviceBuffer arena;
};

size_t weight_type_size(WeightType t);

// Uploads and converts a checkpoint's tensors (validated by rwkv7_params).
ModelWeights upload_weights(const Rwkv7Params& params, WeightType type, cudaStream_t st);

// Draws every tensor of `cfg` on the device (benchmarks).
ModelWeights random_weights(const ModelConfig& cfg, WeightType type, uint64_t seed, cudaStream_t st);

}  // namespace rwkv::cuda
