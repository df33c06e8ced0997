// Weight matrices in the GEMM's panel layout, built once at load time.
//
// Layout: a matrix used as y[N] = x[K] * B is cut into panels of kPanel (32) output columns. Panel p holds
// columns [32p, 32p+32) for every depth k, row by row: element (k, j) of panel p is at
// ((p * K) + k) * 32 + j. Columns past N in the last panel are zero. Elements are fp32, bf16 or f16; the
// buffer is 64-byte aligned and each panel starts on a 64-byte boundary. A panel row is what the
// micro-kernel loads per depth step, so reading a panel (or a depth range of it) is one sequential stream.
#pragma once
#include <cstddef>
#include <cstdint>

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

  int panels() const { return (N + kPanel - 1) / kPanel; }
  size_t elem_size() const { return type == BType::F32 ? 4 : 2; }
  // Panel p from depth k0 on.
  const void* panel(int p, int k0) const {
    return data + (static_cast<size_t>(p) * K + k0) * kPanel * elem_size();
  }
  size_t bytes() const { return packed_bytes(K, N, type); }
  static size_t packed_bytes(int K, int N, BType type) {
    return static_cast<size_t>((N + kPanel - 1) / kPanel) * K * kPanel * (type == BType::F32 ? 4 : 2);
  }
};

// From a PyTorch Linear weight W of shape (N, K) ("out, in"): y = W x. The panels go to `into` when given
// (packed_bytes of room, 64-byte aligned, owned by the caller), else to a buffer of the matrix's own.
PackedMatrix pack_out_in(const TensorView& w, BType type, ThreadPool& pool, uint8_t* into = nullptr);
// From a matrix of shape (K, N) ("in, out", the RWKV LoRA matrices): y = x W.
PackedMatrix pack_in_out(const TensorView& w, BType type, ThreadPool& pool, uint8_t* into = nullptr);

}  // namespace rwkv::cpu
