// Baseline x86-64 kernels (SSE2 at most): a 4 x 32 tile in plain loops and the shared element-wise source.
// Every CPU runs these; the AVX2/AVX-512 tables replace them where supported.
#include "cpu/float16.h"
#include "cpu/kernels.h"

namespace rwkv::cpu::generic {
namespace {

#include "cpu/ops_impl.h"

static void transpose_square(const float* __restrict src, float* __restrict dst, int n) {
  transpose_square_scalar(src, dst, n);
}

constexpr int kMr = 4;

template <int M>
void tile_m(const TileArgs& t) {
  float c[M][kPanel] = {};
  const float* a = t.a;
  const float* b = static_cast<const float*>(t.b);
  for (int k = 0; k < t.kc; k++) {
    for (int i = 0; i < M; i++) {
      const float ai = a[i];
      for (int j = 0; j < kPanel; j++) c[i][j] += ai * b[j];
    }
    a += M;
    b += kPanel;
  }
  for (int i = 0; i < M; i++) {
    float* cr = t.c[i];
    for (int j = 0; j < t.n; j++) {
      float v = c[i][j];
      if (t.scale) v *= t.scale[j];
      if (t.accumulate) v += cr[j];
      if (t.relu_square) {
        v = fmax0(v);
        v = v * v;
      }
      cr[j] = v;
    }
  }
}

void tile(const TileArgs& t) {
  switch (t.m) {
    case 1: return tile_m<1>(t);
    case 2: return tile_m<2>(t);
    case 3: return tile_m<3>(t);
    default: return tile_m<4>(t);
  }
}

void widen(const void* src, BType type, size_t n, float* dst) {
  const uint16_t* s = static_cast<const uint16_t*>(src);
  if (type == BType::BF16) {
    for (size_t i = 0; i < n; i++) dst[i] = bf16_to_f32(s[i]);
  } else if (type == BType::F16) {
    for (size_t i = 0; i < n; i++) dst[i] = f16_to_f32(s[i]);
  } else if (type == BType::I8) {
    const int8_t* q = static_cast<const int8_t*>(src);
    for (size_t i = 0; i < n; i++) dst[i] = static_cast<float>(q[i]);
  } else {
    const float* f = static_cast<const float*>(src);
    for (size_t i = 0; i < n; i++) dst[i] = f[i];
  }
}

constexpr CpuKernels kTable = {Isa::Generic, kMr,        false,     tile,         pack_a_rows,     widen,
                               stream_sum,   layer_norm, shift_mix, tanh_inplace, sigmoid_inplace, wkv};

}  // namespace
}  // namespace rwkv::cpu::generic

namespace rwkv::cpu {

const CpuKernels& kernels_generic() { return generic::kTable; }

const CpuKernels& kernels_for(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return kernels_avx512();
    case Isa::Avx2: return kernels_avx2();
    case Isa::Generic: break;
  }
  return kernels_generic();
}

}  // namespace rwkv::cpu
