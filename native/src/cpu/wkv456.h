// The recurrences of RWKV-4, RWKV-5 and RWKV-6 over one run of consecutive tokens of one sequence. Row
// pointers advance by `stride` floats per token; the state is read at the start and left at the end.
#pragma once
#include <cstddef>

namespace rwkv::cpu {

// RWKV-4, for `n` channels (any contiguous slice of C): the numerically stable form of the official code,
// which keeps the running sums aa, bb scaled by exp(-pp):
//   wkv = (e^(pp−q)·aa + e^(u+k−q)·v) / (e^(pp−q)·bb + e^(u+k−q)),  q = max(pp, u + k)
//   then aa, bb, pp ← the same sums after decay (w = −exp(time_decay)) and adding k, v.
// out = sigmoid(r)·wkv, with r already passed through the sigmoid.
struct Wkv4Args {
  int n_tokens = 0;
  int n = 0;  // channels
  size_t stride = 0;
  const float* r = nullptr;  // sigmoid(receptance)
  const float* k = nullptr;
  const float* v = nullptr;
  float* out = nullptr;
  const float* decay = nullptr;  // −exp(time_decay)
  const float* first = nullptr;  // time_first
  float *aa = nullptr, *bb = nullptr, *pp = nullptr;
};
void wkv4(const Wkv4Args& a);

// RWKV-5/6, one head of N channels. The state S is N×N, row i = key channel, column j = value channel:
//   y_j = Σ_i r_i·(S_ij + bonus_i·k_i·v_j);  S_ij ← S_ij·w_i + k_i·v_j
// w is the head's per-channel decay multiplier: a constant row (x05x, `decay`) or one row per token
// (x060, `decay_rows`, computed here as exp(−exp(decay_base + z))). The output y is then normalized as a
// GroupNorm group (eps `gn_eps`), scaled and shifted by ln_x, and multiplied by the gate when given.
struct Wkv5Args {
  int n_tokens = 0;
  int head_size = 0;
  size_t stride = 0;
  const float* r = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  const float* decay = nullptr;       // x05x: multipliers (N)
  const float* decay_base = nullptr;  // x060: time_decay (N) ...
  const float* decay_z = nullptr;     // ... plus the LoRA output rows
  const float* bonus = nullptr;       // (N)
  const float* ln_w = nullptr;
  const float* ln_b = nullptr;
  float gn_eps = 64e-5f;
  const float* gate = nullptr;  // silu(G·xg) rows, or null
  float* out = nullptr;
  float* state = nullptr;
  float* scratch = nullptr;  // at least wkv5_scratch_floats(N)
};
inline size_t wkv5_scratch_floats(int n) { return 2 * static_cast<size_t>(n); }
void wkv5(const Wkv5Args& a);

}  // namespace rwkv::cpu
