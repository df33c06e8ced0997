// The table of CPU kernels for one instruction set. Each of kernels_generic.cc, kernels_avx2.cc and
// kernels_avx512.cc fills one table; the model picks the table at load time (isa.h). This header is included
// by those per-ISA files, so it holds only plain data types (no library templates that could be instantiated
// once per instruction set and merged by the linker).
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu/isa.h"

namespace rwkv::cpu {

// Element type of a packed weight matrix. I8: symmetric int8 with one fp32 scale per output column (a weight
// is q * scale); the product is summed over the int8 values widened to fp32 and scaled when a tile is stored.
enum class BType : uint8_t { F32, BF16, F16, I8 };

inline constexpr int kPanel = 32;  // columns per packed weight panel (the micro-kernel's width)
// How far ahead of its loads a one-row tile prefetches a panel streamed from memory (software prefetch keeps
// more cache misses in flight than the hardware prefetchers, which stop at page boundaries); the bandwidth
// probe reads with the same distance. Chosen with bench:engine among 1, 2, 4 and 8 KiB.
inline constexpr int kPrefetchBytes = 4096;

// One register tile of C (m rows x up to kPanel columns) += A (m x kc, packed) * B (kc x kPanel, one panel).
struct TileArgs {
  int m = 0;                     // rows, 1..mr
  int kc = 0;                    // depth
  const float* a = nullptr;      // packed A: element (i, k) at a[k * m + i]
  const void* b = nullptr;       // panel rows [k0, k0+kc): element (k, j) at b[k * kPanel + j], of type btype
  BType btype = BType::F32;      // I8 panels may also arrive widened to F32 (exact), still with `scale`
  const float* scale = nullptr;  // kPanel column scales of an I8 panel (else null): C (+)= scale * (A*B)
  float* const* c = nullptr;     // m row pointers, each at the panel's first column
  int n = kPanel;                // valid columns, 1..kPanel
  bool accumulate = false;       // C += A*B instead of C = A*B
  bool relu_square = false;      // store max(v, 0)^2 (only on the last depth block)
};

// The per-head WKV recurrence of one run of consecutive tokens of one sequence, fused with the per-channel
// preparation before it (decay, in-context rate, removal key, value residual) and the output after it
// (GroupNorm, bonus, gate). All row pointers are at the head's first channel and advance by `stride` floats
// per token. Exact math: docs/rwkv7-spec.md section 3.2 steps 4-12.
struct WkvArgs {
  int n_tokens = 0;
  int head_size = 0;          // N
  size_t stride = 0;          // floats between consecutive tokens' rows (C)
  const float* r = nullptr;   // receptance
  const float* k = nullptr;   // key (raw)
  float* v = nullptr;         // value; replaced by the mixed value in layers > 0
  const float* zw = nullptr;  // decay LoRA output (before w0)
  const float* za = nullptr;  // in-context-rate LoRA output (before a0)
  const float* zv = nullptr;  // value-gate LoRA output (before v0); null in layer 0
  float* v_first = nullptr;   // layer 0 writes its value here, later layers read it
  const float* g = nullptr;   // output gate
  float* out = nullptr;       // (GroupNorm(y) + bonus) * g
  // Per-channel parameters at the head's first channel (N values each), r_k is the head's row of (H, N).
  const float *w0 = nullptr, *a0 = nullptr, *v0 = nullptr, *k_k = nullptr, *k_a = nullptr, *r_k = nullptr;
  const float *ln_w = nullptr, *ln_b = nullptr;
  float* state = nullptr;    // the head's N x N state, row i = value channel, column j = key channel
  float* scratch = nullptr;  // at least wkv_scratch_floats(N) floats, 64-byte aligned
};

static constexpr size_t wkv_scratch_floats(int n) {
  return static_cast<size_t>(n) * n + 16 * static_cast<size_t>(n) + 64;
}

// Layer norm of consecutive rows followed by the token-shift interpolations of one sequence's run of tokens.
struct ShiftMixArgs {
  int n_tokens = 0;
  int dim = 0;               // C
  size_t stride = 0;         // floats between rows of x, u and the outputs
  const float* x = nullptr;  // residual rows
  const float* ln_w = nullptr;
  const float* ln_b = nullptr;
  const float* prev = nullptr;  // the normed row before the first token (state x_prev or recomputed)
  float* u = nullptr;           // normed rows out
  int n_mix = 0;                // 1..6
  const float* coef[6] = {};    // interpolation coefficients (C each)
  float* mix[6] = {};           // outputs: u + (prev - u) * coef
};

struct CpuKernels {
  Isa isa;
  int mr;              // rows per GEMM register tile
  bool direct_narrow;  // tile() reads BF16/F16/I8 panels directly (else the caller converts them)
  void (*tile)(const TileArgs& t);
  // Packs rows[0..m) x depth [0, kc) of A for tile(): element (i, k) to dst[k * m + i].
  void (*pack_a)(const float* const* rows, int m, int kc, float* dst);
  // Widens n elements of a packed panel to fp32, exactly (null when tile() always reads narrow panels). A
  // table with both uses the direct reads for one register tile (decoding: one pass over the weights) and
  // widens once per panel block when many tiles sweep it; both give the same bits.
  void (*widen)(const void* src, BType type, size_t n, float* dst);
  // Sum of n floats read front to back with the widest loads: the bench's measure of read bandwidth.
  float (*stream_sum)(const float* x, size_t n);
  void (*layer_norm)(const float* x, int n, const float* w, const float* b, float* out);
  void (*shift_mix)(const ShiftMixArgs& a);
  void (*tanh_inplace)(float* x, size_t n);
  void (*sigmoid_inplace)(float* x, size_t n);
  void (*wkv)(const WkvArgs& a);
};

const CpuKernels& kernels_generic();
const CpuKernels& kernels_avx2();
const CpuKernels& kernels_avx512();
// The table for an instruction set this CPU supports (isa_supported).
const CpuKernels& kernels_for(Isa isa);

}  // namespace rwkv::cpu
