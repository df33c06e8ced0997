// The CPU engine's copy of an RWKV-4/5/6 model: matrices packed into GEMM panels (packed_matrix.h), vectors
// widened to fp32 and turned into the forms the forward pass uses, so no per-token work repeats what only
// depends on the weights:
//   - every token shift is "mixed = x + (prev − x)·coef": v4/x05x store coef = 1 − time_mix (their
//     interpolation x·mix + prev·(1 − mix) runs the other way), x060 coef = time_maa;
//   - v4: decay = −exp(time_decay); x05x: decay = exp(−exp(time_decay)) per key channel (a per-head value is
//     repeated over the head's channels), bonus = exp(time_first) (x050/x051) or time_faaaa (x052);
//     x060 keeps time_decay (the data-dependent decay is exp(−exp(time_decay + LoRA)) per token).
#pragma once
#include <vector>

#include "core/rwkv456_params.h"
#include "cpu/packed_matrix.h"
#include "cpu/threadpool.h"

namespace rwkv::cpu {

struct Rwkv456CpuLayer {
  std::vector<float> ln1_w, ln1_b, ln2_w, ln2_b;
  std::vector<float> coef_k, coef_v, coef_r, coef_g;        // v4/x05x attention token shift (coef_g if gated)
  std::vector<float> maa_x, maa_w, maa_k, maa_v, maa_r, maa_g;  // x060
  std::vector<float> decay, bonus;                          // (C), see above
  std::vector<float> ln_x_w, ln_x_b;
  std::vector<float> ffn_coef_k, ffn_coef_r;
  PackedMatrix receptance, key, value, output, gate;        // C -> C (gate empty when ungated)
  PackedMatrix maa_w1;                                      // x060: C -> 5·D
  std::vector<PackedMatrix> maa_w2;                         // x060: five D -> C (w, k, v, r, g)
  PackedMatrix decay_w1, decay_w2;                          // x060: C -> Dw, Dw -> C
  PackedMatrix ffn_key, ffn_value, ffn_receptance;          // C -> F, F -> C, C -> C
};

struct Rwkv456CpuWeights {
  TensorView emb;  // (V, C) in the file's dtype, rows read per token
  std::vector<float> ln0_w, ln0_b, ln_out_w, ln_out_b;
  PackedMatrix head;  // C -> V
  std::vector<Rwkv456CpuLayer> layers;
};

Rwkv456CpuWeights build_rwkv456_weights(const Rwkv456Params& p, BType type, ThreadPool& pool);

}  // namespace rwkv::cpu
