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

#include "cpu/packed_matrix.h"
#include "cpu/threadpool.h"
#include "model/rwkv456_params.h"

namespace rwkv::cpu {

struct Rwkv456CpuLayer {
  std::vector<float> ln1_w, ln1_b, ln2_w, ln2_b;
  std::vector<float> coef_k, coef_v, coef_r, coef_g;            // v4/x05x attention token shift (coef_g if gated)
  std::vector<float> maa_x, maa_w, maa_k, maa_v, maa_r, maa_g;  // x060
  std::vector<float> decay, bonus;                              // (C), see above
  std::vector<float> ln_x_w, ln_x_b;
  std::vector<float> ffn_coef_k, ffn_coef_r;
  PackedMatrix receptance, key, value, output, gate;  // C -> C (gate empty when ungated)
  PackedMatrix maa_w1;                                // x060: C -> 5·D
  std::vector<PackedMatrix> maa_w2;                   // x060: five D -> C (w, k, v, r, g)
  PackedMatrix decay_w1, decay_w2;                    // x060: C -> Dw, Dw -> C
  PackedMatrix ffn_key, ffn_value, ffn_receptance;    // C -> F, F -> C, C -> C
};

struct Rwkv456CpuWeights {
  TensorView emb;  // (V, C) in the file's dtype, rows read per token
  std::vector<float> ln0_w, ln0_b, ln_out_w, ln_out_b;
  // The official package folds ln0 into the embedding while loading, with F.layer_norm on the tensor as
  // stored: for a bf16 embedding that LayerNorm runs in bf16 (official_ln0.h) and its bf16 result is what
  // the model reads. Published RWKV-4/5/6 checkpoints are mostly bf16, so the engine does the same to give
  // their official outputs (the logits move by up to ~0.03 otherwise). Not for f16 or fp32 embeddings:
  // fp32 is exact, and for f16 the official result depends on the torch version (torch 1.13 refuses a CPU
  // f16 LayerNorm and the package falls back to fp32; later versions compute it in f16), so the exact fp32
  // LayerNorm is kept. RWKV-7's loader converts to fp32 first, so it is exact for every dtype.
  bool official_bf16_ln0 = false;
  PackedMatrix head;  // C -> V
  std::vector<Rwkv456CpuLayer> layers;
};

Rwkv456CpuWeights build_rwkv456_weights(const Rwkv456Params& p, BType type, ThreadPool& pool);

}  // namespace rwkv::cpu
