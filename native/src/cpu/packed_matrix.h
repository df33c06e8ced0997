// Weight matrices in the GEMM's panel layout, built once at load time.
//
// Layout: a matrix used as y[N] = x[K] * B is cut into panels of kPanel (32) output columns. Panel p holds
// columns [32p, 32p+32) for every depth k, row by row: element (k, j) of panel p is at
// ((p * K) + k) * 32 + j. Columns past N in the last panel are zero. Elements are fp32, bf16, f16 or int8;
// the buffer is 64-byte aligned and each panel starts on a 64-byte boundary. A panel row is what the
// micro-kernel loads per depth step, so reading a panel (or a depth range of it) is one sequential stream.
//
// int8: each output column n (a row of the PyTorch weight) is quantized symmetrically at load time with its
// own scale s_n = max_k |w(k, n)| / 127: q = round(w * 127 / max_k |w(k, n)|) (ties to even), in [-127, 127];
// the weight used is q * s_n. One scale per output keeps the scaling out of the depth loop: the micro-kernel
// sums a * q and multiplies by s_n once per depth block.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/aligned_buffer.h"
#include "cpu/kernels.h"
#include "cpu/threadpool.h"
#include "rwkv/tensor_file.h"

namespace rwkv::cpu {

struct PackedMatrix {
  int K = 0;  // depth (input features)
  int N = 0;  // output features
  BType type = BType::F32;
  uint8_t* data = nullptr;  // the panels: in `own`, or in an arena shared by a model's matrices
  AlignedBuffer own;
  std::vector<float> scales;  // I8 only: panels() * kPanel column scales (zero past N), else empty

  int panels() const { return (N + kPanel - 1) / kPanel; }
  size_t elem_size() const { return type_size(type); }
  static size_t type_size(BType t) { return t == BType::F32 ? 4 : t == BType::I8 ? 1 : 2; }
  // The kPanel column scales of panel p (I8), else null.
  const float* panel_scales(int p) const {
    return scales.empty() ? nullptr : scales.data() + static_cast<size_t>(p) * kPanel;
  }
  // Panel p from depth k0 on.
  const void* panel(int p, int k0) const { return data + (static_cast<size_t>(p) * K + k0) * kPanel * elem_size(); }
  size_t bytes() const { return packed_bytes(K, N, type); }
  static size_t packed_bytes(int K, int N, BType type) {
    return static_cast<size_t>((N + kPanel - 1) / kPanel) * K * kPanel * type_size(type);
  }
  // Everything one pass over the matrix reads: the panels and, for I8, the scales.
  size_t stream_bytes() const { return bytes() + scales.size() * sizeof(float); }
};

// From a PyTorch Linear weight W of shape (N, K) ("out, in"): y = W x. The panels go to `into` when given
// (packed_bytes of room, 64-byte aligned, owned by the caller), else to a buffer of the matrix's own.
PackedMatrix pack_out_in(const TensorView& w, BType type, ThreadPool& pool, uint8_t* into = nullptr);
// From a matrix of shape (K, N) ("in, out", the RWKV LoRA matrices): y = x W.
PackedMatrix pack_in_out(const TensorView& w, BType type, ThreadPool& pool, uint8_t* into = nullptr);

}  // namespace rwkv::cpu
