// AVX-512 kernels: a 14 x 32 register tile for the GEMM (28 accumulators of 16 floats, B read once per depth
// step as two vectors, A broadcast from memory), BF16/F16/I8 panels widened in registers, plus the shared
// element-wise source vectorized for 512-bit registers.
// GCC 12's AVX-512 headers set off a false -Wmaybe-uninitialized in inlined intrinsics (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <cpuid.h>
#include <immintrin.h>

#include "cpu/kernels.h"

namespace rwkv::cpu::avx512 {
namespace {

#include "cpu/ops_impl.h"

constexpr int kMr = 14;

template <BType BT>
inline void load_b(const void* b, int k, __m512& b0, __m512& b1) {
  if constexpr (BT == BType::F32) {
    const float* p = static_cast<const float*>(b) + static_cast<size_t>(k) * kPanel;
    b0 = _mm512_loadu_ps(p);
    b1 = _mm512_loadu_ps(p + 16);
  } else if constexpr (BT == BType::I8) {
    const int8_t* p = static_cast<const int8_t*>(b) + static_cast<size_t>(k) * kPanel;
    b0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
    b1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16))));
  } else {
    const uint16_t* p = static_cast<const uint16_t*>(b) + static_cast<size_t>(k) * kPanel;
    __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16));
    if constexpr (BT == BType::BF16) {
      b0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(lo), 16));
      b1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(hi), 16));
    } else {
      b0 = _mm512_cvtph_ps(lo);
      b1 = _mm512_cvtph_ps(hi);
    }
  }
}

template <int M, BType BT>
void tile_m(const TileArgs& t) {
  __m512 c0[M], c1[M];
#pragma GCC unroll 16
  for (int i = 0; i < M; i++) {
    c0[i] = _mm512_setzero_ps();
    c1[i] = _mm512_setzero_ps();
  }
  const float* a = t.a;
  const char* bp = static_cast<const char*>(t.b);
  constexpr int row_bytes = kPanel * (BT == BType::F32 ? 4 : BT == BType::I8 ? 1 : 2);
  for (int k = 0; k < t.kc; k++) {
    __m512 b0, b1;
    if constexpr (M == 1) {  // decoding streams the panel from memory (kernels.h kPrefetchBytes)
      _mm_prefetch(bp + static_cast<size_t>(k) * row_bytes + kPrefetchBytes, _MM_HINT_T0);
      if constexpr (row_bytes > 64)
        _mm_prefetch(bp + static_cast<size_t>(k) * row_bytes + kPrefetchBytes + 64, _MM_HINT_T0);
    }
    load_b<BT>(t.b, k, b0, b1);
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) {
      __m512 ai = _mm512_set1_ps(a[i]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
    a += M;
  }
  const __mmask16 m0 = t.n >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << t.n) - 1u);
  const __mmask16 m1 = t.n >= 32  ? static_cast<__mmask16>(0xffff)
                       : t.n > 16 ? static_cast<__mmask16>((1u << (t.n - 16)) - 1u)
                                  : static_cast<__mmask16>(0);
  const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 16
  for (int i = 0; i < M; i++) {
    float* cr = t.c[i];
    __m512 v0 = c0[i], v1 = c1[i];
    if (t.scale) {
      v0 = _mm512_mul_ps(v0, _mm512_loadu_ps(t.scale));
      v1 = _mm512_mul_ps(v1, _mm512_loadu_ps(t.scale + 16));
    }
    if (t.accumulate) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cr));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cr + 16));
    }
    if (t.relu_square) {
      v0 = _mm512_max_ps(v0, zero);
      v1 = _mm512_max_ps(v1, zero);
      v0 = _mm512_mul_ps(v0, v0);
      v1 = _mm512_mul_ps(v1, v1);
    }
    _mm512_mask_storeu_ps(cr, m0, v0);
    _mm512_mask_storeu_ps(cr + 16, m1, v1);
  }
}

template <BType BT>
void tile_bt(const TileArgs& t) {
  switch (t.m) {
    case 1: return tile_m<1, BT>(t);
    case 2: return tile_m<2, BT>(t);
    case 3: return tile_m<3, BT>(t);
    case 4: return tile_m<4, BT>(t);
    case 5: return tile_m<5, BT>(t);
    case 6: return tile_m<6, BT>(t);
    case 7: return tile_m<7, BT>(t);
    case 8: return tile_m<8, BT>(t);
    case 9: return tile_m<9, BT>(t);
    case 10: return tile_m<10, BT>(t);
    case 11: return tile_m<11, BT>(t);
    case 12: return tile_m<12, BT>(t);
    case 13: return tile_m<13, BT>(t);
    default: return tile_m<14, BT>(t);
  }
}

// AMD Zen 4 (family 19h, the one AMD family with AVX-512 and 256-bit vector units) runs each 512-bit
// instruction as two halves, and its 512-bit widening shuffles cost more than two 256-bit ones. A one-row
// tile over narrow weights (decoding) widens a panel row per depth step and is bound by those instructions
// about as much as by memory, so there the AVX2 table's 256-bit tile (bf16 widened by a shift and a mask,
// without shuffles) streams faster: single-threaded over the 0.1B shape's head, 5 to 7% for bf16, f16 and
// int8, and 3 to 6% over its layer matrices. Every column gets the same multiply-adds in the same order,
// so the bits are the same either way (gemm_row_alone_equals_row_in_a_batch compares them with this
// table's 512-bit tiles).
bool half_width_vector_units() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return false;
  const bool amd = ebx == 0x68747541u && edx == 0x69746e65u && ecx == 0x444d4163u;  // "AuthenticAMD"
  if (!amd || !__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  const unsigned family = ((eax >> 8) & 0xf) + ((eax >> 20) & 0xff);
  return family == 0x19;
}

void tile(const TileArgs& t) {
  static const bool narrow_rows_256 = half_width_vector_units();
  if (narrow_rows_256 && t.m == 1 && t.btype != BType::F32) return kernels_avx2().tile(t);
  switch (t.btype) {
    case BType::F32: return tile_bt<BType::F32>(t);
    case BType::BF16: return tile_bt<BType::BF16>(t);
    case BType::F16: return tile_bt<BType::F16>(t);
    case BType::I8: return tile_bt<BType::I8>(t);
  }
}

// Full tiles (14 rows) are packed 16 depth steps at a time: 16 row vectors (two of them zero) are transposed
// in registers and each column's 14 values stored with a mask, several times faster than element copies.
inline void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    u[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xee);
    u[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xee);
  }
  // u[4g + e] holds rows 4g..4g+3 of depth steps e, e+4, e+8, e+12 (one per 128-bit lane).
  for (int g = 0; g < 16; g += 8) {
    for (int e = 0; e < 4; e++) {
      t[g + e] = _mm512_shuffle_f32x4(u[g + e], u[g + 4 + e], 0x88);      // steps e, e+8
      t[g + 4 + e] = _mm512_shuffle_f32x4(u[g + e], u[g + 4 + e], 0xdd);  // steps e+4, e+12
    }
  }
  for (int e = 0; e < 8; e++) {
    r[e] = _mm512_shuffle_f32x4(t[e], t[8 + e], 0x88);
    r[e + 8] = _mm512_shuffle_f32x4(t[e], t[8 + e], 0xdd);
  }
}

// The WKV state (n x n, n = 64 in released models) in 16 x 16 blocks through registers.
static void transpose_square(const float* __restrict src, float* __restrict dst, int n) {
  if (n % 16 != 0) return transpose_square_scalar(src, dst, n);
  for (int bi = 0; bi < n; bi += 16)
    for (int bj = 0; bj < n; bj += 16) {
      __m512 r[16];
      for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + static_cast<size_t>(bi + i) * n + bj);
      transpose16(r);
      for (int j = 0; j < 16; j++) _mm512_storeu_ps(dst + static_cast<size_t>(bj + j) * n + bi, r[j]);
    }
}

void pack_a(const float* const* rows, int m, int kc, float* dst) {
  if (m != kMr) return pack_a_rows(rows, m, kc, dst);
  int k = 0;
  for (; k + 16 <= kc; k += 16) {
    __m512 r[16];
    for (int i = 0; i < kMr; i++) r[i] = _mm512_loadu_ps(rows[i] + k);
    r[14] = r[15] = _mm512_setzero_ps();
    transpose16(r);
    for (int j = 0; j < 16; j++) _mm512_mask_storeu_ps(dst + static_cast<size_t>(k + j) * kMr, 0x3fff, r[j]);
  }
  const float* rest[kMr];
  for (int i = 0; i < kMr; i++) rest[i] = rows[i] + k;
  pack_a_rows(rest, kMr, kc - k, dst + static_cast<size_t>(k) * kMr);
}

constexpr CpuKernels kTable = {Isa::Avx512, kMr,        true,      tile,         pack_a,          nullptr,
                               stream_sum,  layer_norm, shift_mix, tanh_inplace, sigmoid_inplace, wkv};

}  // namespace
}  // namespace rwkv::cpu::avx512

namespace rwkv::cpu {
const CpuKernels& kernels_avx512() { return avx512::kTable; }
}  // namespace rwkv::cpu
