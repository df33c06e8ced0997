// AVX2 + FMA kernels: a 3 x 32 register tile (12 accumulators of 8 floats), plus the shared element-wise
// source vectorized for 256-bit registers. BF16/F16/I8 panels are widened in registers when one tile reads
// them (decoding, where the weight stream is the cost and a widened copy would double the traffic through
// L1/L2); for many tiles the caller widens each panel block once into fp32 and the tiles share it.
#include <immintrin.h>

#include "cpu/float16.h"
#include "cpu/kernels.h"

namespace rwkv::cpu::avx2 {
namespace {

#include "cpu/ops_impl.h"

// The WKV state (n x n, n = 64 in released models) in 8 x 8 blocks through registers: element copies cost
// the AVX2 decode about 5% of a step (two transpositions of every head's state per token; measured with
// perf on the 0.1B shape), the blocks a fraction of that.
static inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
  }
  // u[4g + e] holds rows 4g..4g+3 of columns e and e+4 (one per 128-bit lane).
  for (int e = 0; e < 4; e++) {
    r[e] = _mm256_permute2f128_ps(u[e], u[4 + e], 0x20);
    r[e + 4] = _mm256_permute2f128_ps(u[e], u[4 + e], 0x31);
  }
}

static void transpose_square(const float* __restrict src, float* __restrict dst, int n) {
  if (n % 8 != 0) return transpose_square_scalar(src, dst, n);
  for (int bi = 0; bi < n; bi += 8)
    for (int bj = 0; bj < n; bj += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + static_cast<size_t>(bi + i) * n + bj);
      transpose8(r);
      for (int j = 0; j < 8; j++) _mm256_storeu_ps(dst + static_cast<size_t>(bj + j) * n + bi, r[j]);
    }
}

constexpr int kMr = 3;

// The four 8-float vectors of panel row k, widened in registers from the stored type (exact for every type).
// BF16 comes out as columns {0, 2, .., 14}, {1, 3, .., 15}, {16, 18, .., 30}, {17, .., 31}: a 32-bit lane of a
// plain load holds two bf16 values, the even column in its low half (shifted up) and the odd one in its high
// half (masked), which saves the zero-extending shuffles; tile_m puts the sums back in column order once.
template <BType BT>
inline void load_b(const void* b, int k, __m256 v[4]) {
  if constexpr (BT == BType::F32) {
    const float* p = static_cast<const float*>(b) + static_cast<size_t>(k) * kPanel;
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) v[q] = _mm256_loadu_ps(p + 8 * q);
  } else if constexpr (BT == BType::I8) {
    const int8_t* p = static_cast<const int8_t*>(b) + static_cast<size_t>(k) * kPanel;
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
      v[q] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 8 * q))));
  } else if constexpr (BT == BType::BF16) {
    const uint16_t* p = static_cast<const uint16_t*>(b) + static_cast<size_t>(k) * kPanel;
    const __m256i high = _mm256_set1_epi32(static_cast<int>(0xffff0000u));
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16 * h));
      v[2 * h] = _mm256_castsi256_ps(_mm256_slli_epi32(x, 16));
      v[2 * h + 1] = _mm256_castsi256_ps(_mm256_and_si256(x, high));
    }
  } else {
    const uint16_t* p = static_cast<const uint16_t*>(b) + static_cast<size_t>(k) * kPanel;
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) v[q] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 8 * q)));
  }
}

// Even/odd column vectors (load_b for BF16) back to columns 0-7 and 8-15.
inline void interleave_columns(__m256& even, __m256& odd) {
  const __m256 lo = _mm256_unpacklo_ps(even, odd);  // columns 0-3 | 8-11
  const __m256 hi = _mm256_unpackhi_ps(even, odd);  // columns 4-7 | 12-15
  even = _mm256_permute2f128_ps(lo, hi, 0x20);
  odd = _mm256_permute2f128_ps(lo, hi, 0x31);
}

template <int M, BType BT>
void tile_m(const TileArgs& t) {
  __m256 c[M][4];
#pragma GCC unroll 4
  for (int i = 0; i < M; i++)
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) c[i][q] = _mm256_setzero_ps();
  const float* a = t.a;
  const char* bp = static_cast<const char*>(t.b);
  constexpr int row_bytes = kPanel * (BT == BType::F32 ? 4 : BT == BType::I8 ? 1 : 2);
  for (int k = 0; k < t.kc; k++) {
    __m256 b[4];
    // One row: the panel comes from memory (decoding) and the loads wait on it; asking for the lines
    // kPrefetchBytes ahead keeps enough misses in flight (the hardware prefetchers alone reached ~0.6 of
    // the read bandwidth, measured with bench:engine).
    if constexpr (M == 1) {
      _mm_prefetch(bp + static_cast<size_t>(k) * row_bytes + kPrefetchBytes, _MM_HINT_T0);
      if constexpr (row_bytes > 64)
        _mm_prefetch(bp + static_cast<size_t>(k) * row_bytes + kPrefetchBytes + 64, _MM_HINT_T0);
    }
    load_b<BT>(t.b, k, b);
#pragma GCC unroll 4
    for (int i = 0; i < M; i++) {
      __m256 ai = _mm256_broadcast_ss(a + i);
#pragma GCC unroll 4
      for (int q = 0; q < 4; q++) c[i][q] = _mm256_fmadd_ps(ai, b[q], c[i][q]);
    }
    a += M;
  }
  if constexpr (BT == BType::BF16) {
#pragma GCC unroll 4
    for (int i = 0; i < M; i++) {
      interleave_columns(c[i][0], c[i][1]);
      interleave_columns(c[i][2], c[i][3]);
    }
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
      if (t.scale) v = _mm256_mul_ps(v, _mm256_loadu_ps(t.scale + 8 * q));
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

template <BType BT>
void tile_bt(const TileArgs& t) {
  switch (t.m) {
    case 1: return tile_m<1, BT>(t);
    case 2: return tile_m<2, BT>(t);
    default: return tile_m<3, BT>(t);
  }
}

void tile(const TileArgs& t) {
  switch (t.btype) {
    case BType::F32: return tile_bt<BType::F32>(t);
    case BType::BF16: return tile_bt<BType::BF16>(t);
    case BType::F16: return tile_bt<BType::F16>(t);
    case BType::I8: return tile_bt<BType::I8>(t);
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
  } else if (type == BType::I8) {
    const int8_t* q = static_cast<const int8_t*>(src);
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(
          dst + i, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + i)))));
    for (; i < n; i++) dst[i] = static_cast<float>(q[i]);
  } else {
    const float* f = static_cast<const float*>(src);
    for (; i < n; i++) dst[i] = f[i];
  }
}

constexpr CpuKernels kTable = {Isa::Avx2,  kMr,        true,      tile,         pack_a_rows,     widen,
                               stream_sum, layer_norm, shift_mix, tanh_inplace, sigmoid_inplace, wkv};

}  // namespace
}  // namespace rwkv::cpu::avx2

namespace rwkv::cpu {
const CpuKernels& kernels_avx2() { return avx2::kTable; }
}  // namespace rwkv::cpu
