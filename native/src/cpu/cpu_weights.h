// The CPU engine's copy of an RWKV-7 model: every matrix packed into GEMM panels (packed_matrix.h) in the
// chosen element type, every vector widened to fp32. The embedding table is not copied: rows are read from
// the file's tensor (kept alive by the model) and normalized by ln0 per token, which costs C operations per
// token instead of V*C floats of memory. All matrices live in one arena so the whole weight stream of a decode
// step is backed by 2 MiB pages.
#pragma once
#include <vector>

#include "cpu/packed_matrix.h"
#include "cpu/threadpool.h"
#include "model/rwkv7_params.h"

namespace rwkv::cpu {

struct CpuLayer {
  LayerRanks ranks;
  std::vector<float> ln1_w, ln1_b, ln2_w, ln2_b;
  std::vector<float> x_r, x_w, x_k, x_v, x_a, x_g;
  std::vector<float> w0, a0, v0, k_k, k_a, r_k;  // v0 empty in layer 0; r_k is (H, N)
  std::vector<float> ln_x_w, ln_x_b, ffn_x_k;
  PackedMatrix receptance, key, value, output;  // C -> C
  PackedMatrix w1, a1, g1, v1;                  // C -> rank (v1 empty in layer 0)
  PackedMatrix w2, a2, g2, v2;                  // rank -> C
  PackedMatrix ffn_key;                         // C -> F
  PackedMatrix ffn_value;                       // F -> C
  // x070-7a DeepEmbed (empty otherwise): s_emb rows are read from the file per token, like the embedding.
  TensorView s_emb;       // (V, D*D) in the file's dtype
  PackedMatrix s_emb_x;   // C -> D*D (empty when the file has none)
  PackedMatrix s1;        // C -> D
  PackedMatrix s2;        // D -> F
  std::vector<float> s0;  // (F)
};

struct CpuWeights {
  AlignedBuffer arena;  // every packed matrix, in one allocation (huge pages for the weight stream)
  TensorView emb;       // (V, C) in the file's dtype
  std::vector<float> ln0_w, ln0_b, ln_out_w, ln_out_b;
  PackedMatrix head;  // C -> V
  std::vector<CpuLayer> layers;
  int deep_embed_rank = 0;  // D; 0 for plain x070
};

CpuWeights build_cpu_weights(const Rwkv7Params& p, BType type, ThreadPool& pool);

// fp32 copy of a float tensor of any supported dtype.
std::vector<float> to_f32(const TensorView& t);

}  // namespace rwkv::cpu
