// ln0 of a bf16 embedding row as the official `rwkv` package computes it for RWKV-4/5/6 files: that package
// folds blocks.0.ln0 into emb.weight while loading with F.layer_norm on the tensor as stored, so on a bf16
// file the LayerNorm runs in torch's bf16 CPU kernel. The published official outputs (the package with torch
// 1.13 on an AVX2 CPU) come from that kernel's arithmetic, which is not "exact LayerNorm, then round":
//   - the mean and variance come from a Welford pass over 16-lane vectors of bf16 (16 vectors per chunk, the
//     chunks merged pairwise, then the lanes and a scalar tail merged), every operation rounded to bf16;
//   - rstd = 1 / sqrt(var + 1e-5) and the shift −rstd·mean are rounded to bf16 step by step;
//   - y = (x·rstd + shift)·w + b runs in fp32 and is rounded to bf16 once.
// Reproducing it moves the logits by up to ~0.03 on bf16 checkpoints, which is the gap between the exact
// function and the official numbers; compute stays fp32 everywhere else.
#pragma once

namespace rwkv::cpu {

// x: the row's C values (bf16 values held as fp32); w, b: ln0's weight and bias; out may alias x.
void official_bf16_ln0(const float* x, int C, const float* w, const float* b, float* out);

}  // namespace rwkv::cpu
