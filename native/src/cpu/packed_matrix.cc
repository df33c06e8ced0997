#include "cpu/packed_matrix.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cpu/float16.h"
#include "rwkv/error.h"

namespace rwkv::cpu {

namespace {

template <DType S>
inline float load_src(const uint8_t* base, size_t i) {
  if constexpr (S == DType::F32) {
    float v;
    std::memcpy(&v, base + 4 * i, 4);
    return v;
  } else {
    uint16_t h;
    std::memcpy(&h, base + 2 * i, 2);
    if constexpr (S == DType::BF16)
      return bf16_to_f32(h);
    else
      return f16_to_f32(h);
  }
}

// A 16-bit source already in the target format is copied bit for bit (no detour through fp32, which would
// also quiet signalling NaNs).
template <DType S, BType D>
inline void store_dst(const uint8_t* base, size_t i, void* dst, size_t j) {
  if constexpr ((S == DType::BF16 && D == BType::BF16) || (S == DType::F16 && D == BType::F16)) {
    std::memcpy(static_cast<uint16_t*>(dst) + j, base + 2 * i, 2);
  } else {
    float v = load_src<S>(base, i);
    if constexpr (D == BType::F32)
      static_cast<float*>(dst)[j] = v;
    else if constexpr (D == BType::BF16)
      static_cast<uint16_t*>(dst)[j] = f32_to_bf16(v);
    else
      static_cast<uint16_t*>(dst)[j] = f32_to_f16(v);
  }
}

// transposed: source is (N, K) and element (k, n) is at n*K + k; otherwise (K, N) with (k, n) at k*N + n.
template <DType S, BType D>
void pack_panels(const uint8_t* src, int K, int N, bool transposed, PackedMatrix& out, ThreadPool& pool) {
  const int panels = out.panels();
  const size_t esz = out.elem_size();
  uint8_t* base = out.data;
  pool.parallel_for(static_cast<size_t>(panels), [&](size_t p, int) {
    uint8_t* dst = base + p * static_cast<size_t>(K) * kPanel * esz;
    const int n0 = static_cast<int>(p) * kPanel;
    const int width = N - n0 < kPanel ? N - n0 : kPanel;
    if (width < kPanel) std::memset(dst, 0, static_cast<size_t>(K) * kPanel * esz);  // zero padding columns
    if (transposed) {
      for (int j = 0; j < width; j++) {
        const size_t row = static_cast<size_t>(n0 + j) * K;
        for (int k = 0; k < K; k++) store_dst<S, D>(src, row + k, dst, static_cast<size_t>(k) * kPanel + j);
      }
    } else {
      for (int k = 0; k < K; k++) {
        const size_t row = static_cast<size_t>(k) * N + n0;
        for (int j = 0; j < width; j++) store_dst<S, D>(src, row + j, dst, static_cast<size_t>(k) * kPanel + j);
      }
    }
  });
}

// int8 panels with one scale per output column (packed_matrix.h): a first pass finds each column's largest
// magnitude, a second rounds every weight to a multiple of its column's scale.
template <DType S>
void pack_int8(const uint8_t* src, int K, int N, bool transposed, PackedMatrix& out, ThreadPool& pool) {
  const int panels = out.panels();
  out.scales.assign(static_cast<size_t>(panels) * kPanel, 0.0f);
  float* scales = out.scales.data();
  int8_t* base = reinterpret_cast<int8_t*>(out.data);
  std::vector<uint8_t> bad(static_cast<size_t>(panels), 0);
  pool.parallel_for(static_cast<size_t>(panels), [&](size_t p, int) {
    int8_t* dst = base + p * static_cast<size_t>(K) * kPanel;
    const int n0 = static_cast<int>(p) * kPanel;
    const int width = N - n0 < kPanel ? N - n0 : kPanel;
    if (width < kPanel) std::memset(dst, 0, static_cast<size_t>(K) * kPanel);
    // The panel's columns as fp32, column by column (one contiguous source row each for a Linear weight).
    std::vector<float> col(static_cast<size_t>(width) * K);
    for (int j = 0; j < width; j++)
      for (int k = 0; k < K; k++)
        col[static_cast<size_t>(j) * K + k] =
            load_src<S>(src, transposed ? static_cast<size_t>(n0 + j) * K + k : static_cast<size_t>(k) * N + n0 + j);
    float inv[kPanel] = {};
    for (int j = 0; j < width; j++) {
      const float* c = col.data() + static_cast<size_t>(j) * K;
      float peak = 0.0f;
      bool nan = false;
      for (int k = 0; k < K; k++) {
        const float a = std::fabs(c[k]);
        peak = a > peak ? a : peak;
        nan |= a != a;
      }
      if (nan || !std::isfinite(peak)) {
        bad[p] = 1;
        return;
      }
      scales[n0 + j] = peak / 127.0f;
      inv[j] = peak > 0.0f ? 127.0f / peak : 0.0f;
    }
    // Rounding to the nearest integer, ties to even, by adding and removing 1.5 * 2^23: exact for |v| < 2^22
    // in IEEE arithmetic (no -ffast-math here, which could fold it; the kernel test checks every rounding),
    // and two adds where nearbyint is a library call on baseline x86-64.
    constexpr float kRound = 12582912.0f;
    for (int j = 0; j < width; j++) {
      const float* c = col.data() + static_cast<size_t>(j) * K;
      for (int k = 0; k < K; k++) {
        float q = (c[k] * inv[j] + kRound) - kRound;
        q = q > 127.0f ? 127.0f : q < -127.0f ? -127.0f : q;
        dst[static_cast<size_t>(k) * kPanel + j] = static_cast<int8_t>(q);
      }
    }
  });
  for (uint8_t b : bad)
    if (b) throw Error(code::kModelDtype, "a weight matrix holds a NaN or an infinity, which int8 cannot represent");
}

template <DType S>
void pack_from(const uint8_t* src, int K, int N, bool transposed, PackedMatrix& out, ThreadPool& pool) {
  switch (out.type) {
    case BType::F32: return pack_panels<S, BType::F32>(src, K, N, transposed, out, pool);
    case BType::BF16: return pack_panels<S, BType::BF16>(src, K, N, transposed, out, pool);
    case BType::F16: return pack_panels<S, BType::F16>(src, K, N, transposed, out, pool);
    case BType::I8: return pack_int8<S>(src, K, N, transposed, out, pool);
  }
}

PackedMatrix pack(const TensorView& w, int K, int N, bool transposed, BType type, ThreadPool& pool, uint8_t* into) {
  PackedMatrix m;
  m.K = K;
  m.N = N;
  m.type = type;
  if (into) {
    m.data = into;
  } else {
    m.own.reset(m.bytes());
    m.data = m.own.as<uint8_t>();
  }
  switch (w.dtype) {
    case DType::F32: pack_from<DType::F32>(w.data, K, N, transposed, m, pool); break;
    case DType::BF16: pack_from<DType::BF16>(w.data, K, N, transposed, m, pool); break;
    case DType::F16: pack_from<DType::F16>(w.data, K, N, transposed, m, pool); break;
    default: throw Error(code::kModelDtype, std::string("cannot use a ") + dtype_name(w.dtype) + " matrix as weights");
  }
  return m;
}

}  // namespace

PackedMatrix pack_out_in(const TensorView& w, BType type, ThreadPool& pool, uint8_t* into) {
  if (w.shape.size() != 2) throw Error(code::kInternal, "pack_out_in expects a matrix");
  return pack(w, static_cast<int>(w.shape[1]), static_cast<int>(w.shape[0]), true, type, pool, into);
}

PackedMatrix pack_in_out(const TensorView& w, BType type, ThreadPool& pool, uint8_t* into) {
  if (w.shape.size() != 2) throw Error(code::kInternal, "pack_in_out expects a matrix");
  return pack(w, static_cast<int>(w.shape[0]), static_cast<int>(w.shape[1]), false, type, pool, into);
}

}  // namespace rwkv::cpu
