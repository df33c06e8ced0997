#include "cpu/official_ln0.h"

// The kernel's results depend on every rounding step, so no multiply-add may be fused into one.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "cpu/float16.h"

namespace rwkv::cpu {

namespace {

constexpr int kLanes = 16;  // torch's Vectorized<BFloat16> on AVX2
constexpr int64_t kChunk = 16;

// Every bf16 operation of the kernel: the fp32 result rounded to bf16 (nearest, ties to even).
inline float r16(float v) { return bf16_to_f32(f32_to_bf16(v)); }
inline float r16(int64_t n) { return r16(static_cast<float>(n)); }

using Lanes = std::array<float, kLanes>;

// Merges the moments (m0_add, m1_add, m2_add) into (m0, m1, m2), as the kernel's AddMoments does.
template <class T>
void add_moments(int64_t m0_add, const T& m1_add, const T& m2_add, int64_t& m0, T& m1, T& m2) {
  const int64_t n = m0 + m0_add;
  const float c = n == 0 ? 0.0f : r16(r16(m0_add) / r16(n));
  const float m0f = r16(m0);
  auto one = [&](float a1, float a2, float& s1, float& s2) {
    const float d = r16(a1 - s1);
    s1 = r16(s1 + r16(c * d));
    s2 = r16(s2 + r16(a2 + r16(r16(r16(d * d) * c) * m0f)));
  };
  if constexpr (std::is_same_v<T, float>) {
    one(m1_add, m2_add, m1, m2);
  } else {
    for (int l = 0; l < kLanes; l++) one(m1_add[l], m2_add[l], m1[l], m2[l]);
  }
  m0 = n;
}

int ceil_log2(int64_t m) {
  int d = 0;
  while ((int64_t{1} << d) < m) d++;
  return d;
}

}  // namespace

void official_bf16_ln0(const float* x, int C, const float* w, const float* b, float* out) {
  const int64_t N = C, n = N / kLanes, m = (n + kChunk - 1) / kChunk;
  const int depth = ceil_log2(m);
  const size_t slots = static_cast<size_t>(depth > 0 ? depth : 1);
  std::vector<int64_t> m0s(slots, 0);
  std::vector<Lanes> m1s(slots, Lanes{}), m2s(slots, Lanes{});
  for (int64_t i = 0; i < m; i++) {
    const int64_t count = std::min(kChunk, n - i * kChunk);
    Lanes a1{}, a2{};
    for (int64_t j = 0; j < count; j++) {
      const float* xv = x + (i * kChunk + j) * kLanes;
      const float c = r16(1.0f / r16(j + 1));
      for (int l = 0; l < kLanes; l++) {
        const float d = r16(xv[l] - a1[l]);
        a1[l] = r16(a1[l] + r16(d * c));
        a2[l] = r16(a2[l] + r16(d * r16(xv[l] - a1[l])));
      }
    }
    add_moments(count, a1, a2, m0s[0], m1s[0], m2s[0]);
    // Pairwise merging: after 2^k chunks, level k-1 folds into level k.
    int64_t mask = i + 1;
    for (int j = 1; j < depth && (mask & 1) == 0; j++, mask >>= 1) {
      add_moments(m0s[j - 1], m1s[j - 1], m2s[j - 1], m0s[j], m1s[j], m2s[j]);
      m0s[j - 1] = 0;
      m1s[j - 1] = Lanes{};
      m2s[j - 1] = Lanes{};
    }
  }
  for (int i = 1; i < depth; i++) add_moments(m0s[i], m1s[i], m2s[i], m0s[0], m1s[0], m2s[0]);
  int64_t m0 = 0;
  float mean = 0.0f, m2 = 0.0f;
  for (int64_t i = n * kLanes; i < N; i++) {  // the scalar tail (C not a multiple of 16)
    const float d = r16(x[i] - mean);
    ++m0;
    mean = r16(mean + r16(d / r16(m0)));
    m2 = r16(m2 + r16(d * r16(x[i] - mean)));
  }
  for (int l = 0; l < kLanes; l++) add_moments(n, m1s[0][l], m2s[0][l], m0, mean, m2);
  const float var = r16(m2 / r16(N));
  const float rstd = r16(1.0f / r16(std::sqrt(r16(var + 1e-5f))));
  const float shift = r16(-rstd * mean);
  for (int c = 0; c < C; c++) out[c] = r16((x[c] * rstd + shift) * w[c] + b[c]);
}

}  // namespace rwkv::cpu
