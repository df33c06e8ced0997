// AVX2 + FMA kernels: a 3 x 32 register tile (12 accumulators of 8 floats; B taken straight from memory by
// the multiply-adds), 16-bit panels widened into fp32 by the caller, plus the shared element-wise source
// vectorized for 256-bit registers.
#include <immintrin.h>

#include "cpu/float16.h"
#include "cpu/kernels.h"

namespace rwkv::cpu::avx2 {
namespace {

#include "cpu/ops_impl.h"

static void transpose_square(const float* __restrict src, float* __restrict dst, int n) {
  transpose_square_scalar(src, dst, n);
}

constexpr int kMr = 3;

template <int M>
void tile_m(const TileArgs& t) {
  __m256 c[M][4];
#pragma GCC unroll 4
  for (int i = 0; i < M; i++)
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) c[i][q] = _mm256_setzero_ps();
  const float* a = t.a;
  const float* b = static_cast<const float*>(t.b);
  for (int k = 0; k < t.kc; k++) {
#pragma GCC unroll 4
    for (int i = 0; i < M; i++) {
      __m256 ai = _mm256_broadcast_ss(a + i);
#pragma GCC unroll 4
      for (int q = 0; q < 4; q++) c[i][q] = _mm256_fmadd_ps(ai, _mm256_loadu_ps(b + 8 * q), c[i][q]);
    }
    a += M;
    b += kPanel;
  }
  float tmp[kPanel];
  const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (int i = 0; i < M; i++) {
    float* cr = t.c[i];
    const bool full = t.n == kPanel;
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
      __m256 v = c[i][q];
      if (t.accumulate) {
        if (full) {
          v = _mm256_add_ps(v, _mm256_loadu_ps(cr + 8 * q));
        } else {
          _mm256_storeu_ps(tmp + 8 * q, zero);
          for (int j = 8 * q; j < t.n && j < 8 * q + 8; j++) tmp[j] = cr[j];
          v = _mm256_add_ps(v, _mm256_loadu_ps(tmp + 8 * q));
        }
      }
      if (t.relu_square) {
        v = _mm256_max_ps(v, zero);
        v = _mm256_mul_ps(v, v);
      }
      if (full) {
        _mm256_storeu_ps(cr + 8 * q, v);
      } else {
        _mm256_storeu_ps(tmp + 8 * q, v);
        for (int j = 8 * q; j < t.n && j < 8 * q + 8; j++) cr[j] = tmp[j];
      }
    }
  }
}

void tile(const TileArgs& t) {
  switch (t.m) {
    case 1: return tile_m<1>(t);
    case 2: return tile_m<2>(t);
    default: return tile_m<3>(t);
  }
}

void widen(const void* src, BType type, size_t n, float* dst) {
  const uint16_t* s = static_cast<const uint16_t*>(src);
  size_t i = 0;
  if (type == BType::BF16) {
    for (; i + 8 <= n; i += 8) {
      __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
      _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)));
    }
    for (; i < n; i++) dst[i] = bf16_to_f32(s[i]);
  } else if (type == BType::F16) {
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i))));
    for (; i < n; i++) dst[i] = f16_to_f32(s[i]);
  } else {
    const float* f = static_cast<const float*>(src);
    for (; i < n; i++) dst[i] = f[i];
  }
}

constexpr CpuKernels kTable = {Isa::Avx2, kMr, false, tile, pack_a_rows, widen, layer_norm, shift_mix,
                               tanh_inplace, sigmoid_inplace, wkv};

}  // namespace
}  // namespace rwkv::cpu::avx2

namespace rwkv::cpu {
const CpuKernels& kernels_avx2() { return avx2::kTable; }
}  // namespace rwkv::cpu
