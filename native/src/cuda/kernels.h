// Host-side entry points of the CUDA kernels. Activations are stacked: the rows of every sequence of a call
// (or of one round of a long call) form one [rows, C] matrix, so the projections are single GEMMs; RowLayout
// says which sequence each row belongs to, which lets token shift and the recurrence stay per sequence.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "rwkv/model.h"

namespace rwkv::cuda {

// Device pointers describing one round. Sequence s owns rows [seq_start[s], seq_start[s] + seq_len[s]); its
// state (the model's layout: per layer att_x_prev[C], wkv[H][N][N], ffn_x_prev[C]) is at states[s].
struct RowLayout {
  const int32_t* tokens = nullptr;     // [rows]
  const int32_t* row_seq = nullptr;    // [rows] sequence of each row
  const int32_t* seq_start = nullptr;  // [n_seq]
  const int32_t* seq_len = nullptr;    // [n_seq]
  float* const* states = nullptr;      // [n_seq]
  int rows = 0;
  int n_seq = 0;
};

inline constexpr int kHeadSize = 64;  // N; every released RWKV-7 model uses 64, and the WKV kernels assume it

// x[t] = LayerNorm(emb[tokens[t]]; ln0), fp32.
void launch_embed(WeightType wt, const RowLayout& rl, const void* emb, const float* ln0_w, const float* ln0_b, float* x,
                  int C, cudaStream_t st);

// u = LayerNorm(x[t]), with the token-shift partner p = previous row's u (or the state's x_prev at a
// sequence's first row); writes n_mix planes out[m][t] = u + (p - u) * mix[m] in the storage type, and
// stores the last row's u of each sequence into its state at float offset `xprev_off`.
void launch_ln_shift(WeightType wt, const RowLayout& rl, const float* x, const float* ln_w, const float* ln_b,
                     const float* mix, int n_mix, size_t xprev_off, void* out, size_t plane_stride, int C,
                     cudaStream_t st);

// Low-rank hidden activations, [rows, dsum] fp32 -> storage type: tanh on columns [0, dw) (decay LoRA),
// identity on [dw, dw + da + dv) (a and v LoRAs), sigmoid on the rest (gate LoRA).
void launch_lora_act(WeightType wt, const float* in, void* out, int rows, int dsum, int dw, int da_dv, cudaStream_t st);

// Per-token element-wise stage before the recurrence (spec §3.2 steps 4-9), in place:
//   zw <- decay w;  k <- modified k;  v <- value-residual-mixed v (layer 0: v_first <- v);
//   kk <- kappa-hat (per-head L2-normalized k*k_k);  za <- beta = kappa-hat * a.
struct PrepArgs {
  float* k = nullptr;
  float* v = nullptr;
  float* zw = nullptr;
  float* za = nullptr;
  const float* zv = nullptr;  // unused in layer 0
  float* kk = nullptr;
  float* v_first = nullptr;
  const float *w0 = nullptr, *a0 = nullptr, *v0 = nullptr, *k_k = nullptr, *k_a = nullptr;
  bool layer0 = false;
};
void launch_prep(const PrepArgs& a, int rows, int C, cudaStream_t st);

// The WKV-7 recurrence over each sequence's rows (spec §3.2 step 10): the state is read once, carried in
// registers across the sequence's tokens, and written back at the end. y is fp32 [rows, C].
struct WkvArgs {
  const float *r = nullptr, *w = nullptr, *k = nullptr, *v = nullptr, *kk = nullptr, *b = nullptr;
  float* y = nullptr;
  size_t wkv_off = 0;  // float offset of this layer's wkv block inside a state
};
void launch_wkv_seq(const WkvArgs& a, const RowLayout& rl, int C, int sm_count, cudaStream_t st);

// GroupNorm per head (eps 64e-5) with the ln_x affine, plus the r_k bonus, times the gate g (spec §3.2 steps
// 11-13); writes the O projection's input in the storage type.
struct GroupNormArgs {
  const float *y = nullptr, *r = nullptr, *k = nullptr, *v = nullptr, *g = nullptr;
  const float *ln_w = nullptr, *ln_b = nullptr, *r_k = nullptr;
  void* out = nullptr;
};
void launch_groupnorm(WeightType wt, const GroupNormArgs& a, int rows, int C, cudaStream_t st);

// out = relu(in)^2 in the storage type; in is the fp32 FFN key projection, so only the result is rounded.
// n elements, n multiple of 4.
void launch_relu_sq(WeightType wt, const float* in, void* out, size_t n, cudaStream_t st);

// Small-batch projections for the decode step: y[b][n] = sum_k x[b][k] * W[n][k] for B <= kGemvMaxRows rows,
// several independent problems per launch, each with its own epilogue. One warp per output row streams the
// weight row with 16-byte loads, four in flight per lane, so the step runs at memory bandwidth where a
// general GEMM at this shape would not; the epilogues fuse what would otherwise be separate passes.
inline constexpr int kGemvMaxRows = 8;
inline constexpr int kGemvMaxProblems = 8;
enum class Epilogue : int32_t {
  kStoreF32,  // y (fp32) = acc
  kAddF32,    // y (fp32) += acc (residual connections)
  kStore,     // y (storage type) = acc
  kTanh,      // y (storage type) = tanh(acc)
  kSigmoid,   // y (storage type) = sigmoid(acc)
  kReluSq,    // y (storage type) = relu(acc)^2
};
struct GemvProblem {
  const void* W = nullptr;  // [N][K] storage type
  const void* X = nullptr;  // [rows][ldx] storage type
  void* Y = nullptr;        // [rows][ldy]
  int N = 0, K = 0, ldx = 0, ldy = 0;
  Epilogue epi = Epilogue::kStoreF32;
  int row_begin = 0;  // filled by launch_gemv
};
struct GemvBatch {
  GemvProblem p[kGemvMaxProblems];
  int count = 0;
  int total_rows = 0;  // filled by launch_gemv
  void add(const GemvProblem& q) { p[count++] = q; }
};
// Whether a problem's shapes and alignment allow the vector loads (K and ldx multiples of 16 bytes).
bool gemv_supported(WeightType wt, int K, int ldx, const void* X);
void launch_gemv(WeightType wt, int rows, GemvBatch& g, cudaStream_t st);

// The decode step's recurrence stage fused into one kernel (one token per sequence): the element-wise
// preparation (as launch_prep), the state update (as launch_wkv_seq), GroupNorm, bonus and gate (as
// launch_groupnorm). One block per (sequence, head); the state is read and written once. With `lora_h`
// set, the block also computes its head's slice of the four low-rank "up" projections from the hidden
// activations (instead of reading zw, za, zv, g), which saves a launch per layer at small batch.
struct DecodeArgs {
  const float *r = nullptr, *k = nullptr, *v = nullptr, *zw = nullptr, *za = nullptr, *zv = nullptr, *g = nullptr;
  const void* lora_h = nullptr;  // [rows][ldh] storage type: tanh(w hidden) | a hidden | v hidden | sigmoid(g hidden)
  int ldh = 0, dw = 0, da = 0, dv = 0, dg = 0;
  const void *w2 = nullptr, *a2 = nullptr, *v2 = nullptr, *g2 = nullptr;  // [C][D] storage type
  float* v_first = nullptr;
  const float *w0 = nullptr, *a0 = nullptr, *v0 = nullptr, *k_k = nullptr, *k_a = nullptr, *r_k = nullptr;
  const float *ln_w = nullptr, *ln_b = nullptr;
  void* out = nullptr;
  size_t wkv_off = 0;
  bool layer0 = false;
};
inline constexpr int kDecodeMaxHidden = 2048;  // largest dw+da+dv+dg the fused up projections accept
void launch_wkv_decode(WeightType wt, const DecodeArgs& a, const RowLayout& rl, int C, cudaStream_t st);

// out[i] = LayerNorm(x[rows[i]]; ln_out) in the storage type, for the head GEMM.
void launch_ln_gather(WeightType wt, const float* x, const int32_t* rows, int n, const float* ln_w, const float* ln_b,
                      void* out, int C, cudaStream_t st);

// Conversion of host-format weights on the device: dst[i] = src[i] (any of F32/F16/BF16 in, the storage type
// out); with `transpose`, src is [r, c] and dst is [c, r].
enum class SrcType : uint8_t { F32, F16, BF16 };
void launch_convert(SrcType src_type, const void* src, WeightType dst_type, void* dst, size_t n, cudaStream_t st);
void launch_convert_transpose(SrcType src_type, const void* src, WeightType dst_type, void* dst, int r, int c,
                              cudaStream_t st);
// fp32 destination (small vectors are kept in fp32 whatever the storage type).
void launch_convert_f32(SrcType src_type, const void* src, float* dst, size_t n, cudaStream_t st);

// Deterministic pseudo-random fill, uniform in [lo, hi), for benchmark models built on the device.
void launch_fill_uniform(WeightType dst_type, void* dst, size_t n, float lo, float hi, uint64_t seed, cudaStream_t st);
void launch_fill_uniform_f32(float* dst, size_t n, float lo, float hi, uint64_t seed, cudaStream_t st);

}  // namespace rwkv::cuda
