// Small-batch projections for the decode step (see kernels.h). At one to eight rows a projection is a pure
// weight stream: each warp owns one output row, each lane loads 16 bytes of it at a time with four loads in
// flight (evict-first, since every weight is read once per step), and the few activation rows are read
// through L1, where the block's eight warps share them.
#include <cstdint>

#include "cuda/cuda_check.h"
#include "cuda/device_math.cuh"
#include "cuda/dispatch.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace rwkv::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kUnroll = 4;

// Dot product of 16 bytes of weights with 16 bytes of activations, same storage type.
template <typename T>
__device__ __forceinline__ float dot16(const uint4& w, const uint4& x);
template <>
__device__ __forceinline__ float dot16<float>(const uint4& w, const uint4& x) {
  return __uint_as_float(w.x) * __uint_as_float(x.x) + __uint_as_float(w.y) * __uint_as_float(x.y) +
         __uint_as_float(w.z) * __uint_as_float(x.z) + __uint_as_float(w.w) * __uint_as_float(x.w);
}
template <>
__device__ __forceinline__ float dot16<__nv_bfloat16>(const uint4& w, const uint4& x) {
  const __nv_bfloat162* a = reinterpret_cast<const __nv_bfloat162*>(&w);
  const __nv_bfloat162* b = reinterpret_cast<const __nv_bfloat162*>(&x);
  float s = 0.f;
#pragma unroll
  for (int i = 0; i < 4; i++) {
    const float2 fa = __bfloat1622float2(a[i]), fb = __bfloat1622float2(b[i]);
    s = fmaf(fa.x, fb.x, fmaf(fa.y, fb.y, s));
  }
  return s;
}
template <>
__device__ __forceinline__ float dot16<__half>(const uint4& w, const uint4& x) {
  const __half2* a = reinterpret_cast<const __half2*>(&w);
  const __half2* b = reinterpret_cast<const __half2*>(&x);
  float s = 0.f;
#pragma unroll
  for (int i = 0; i < 4; i++) {
    const float2 fa = __half22float2(a[i]), fb = __half22float2(b[i]);
    s = fmaf(fa.x, fb.x, fmaf(fa.y, fb.y, s));
  }
  return s;
}

template <typename T, int B>
__global__ void __launch_bounds__(kWarps * 32) gemv_kernel(GemvBatch g) {
  const int row = blockIdx.x * kWarps + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  // Select this warp's problem with compile-time indices only, so the parameter block stays in constant
  // space instead of being copied to local memory for a run-time index.
  GemvProblem P = g.p[0];
#pragma unroll
  for (int i = 1; i < kGemvMaxProblems; i++)
    if (i < g.count && row >= g.p[i].row_begin) P = g.p[i];
  const bool active = row < g.total_rows;
  const int n = row - P.row_begin;
  constexpr int kPer = 16 / sizeof(T);  // elements per 16-byte load
  constexpr int kStride = 32 * kPer;    // elements per warp-wide load
  constexpr int kBatch = kUnroll * kStride;
  const T* w = static_cast<const T*>(P.W) + static_cast<size_t>(active ? n : 0) * P.K;
  const T* x = static_cast<const T*>(P.X);

  // The first batch of weights is constant data, so it is requested before waiting for the previous kernel:
  // the weight stream starts while that kernel drains.
  int k = lane * kPer;
  uint4 wv[kUnroll];
  bool full = active && k + (kUnroll - 1) * kStride < P.K;
  if (full) {
#pragma unroll
    for (int u = 0; u < kUnroll; u++) wv[u] = __ldcs(reinterpret_cast<const uint4*>(w + k + u * kStride));
  }
  pdl_wait();
  pdl_launch_dependents();
  if (!active) return;  // uniform per warp

  float acc[B];
#pragma unroll
  for (int b = 0; b < B; b++) acc[b] = 0.f;
  // Software pipeline: the next batch's loads are issued before the current batch's arithmetic.
  while (full) {
    uint4 cur[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; u++) cur[u] = wv[u];
    const int kc = k;
    k += kBatch;
    full = k + (kUnroll - 1) * kStride < P.K;
    if (full) {
#pragma unroll
      for (int u = 0; u < kUnroll; u++) wv[u] = __ldcs(reinterpret_cast<const uint4*>(w + k + u * kStride));
    }
#pragma unroll
    for (int u = 0; u < kUnroll; u++)
#pragma unroll
      for (int b = 0; b < B; b++)
        acc[b] += dot16<T>(
            cur[u], __ldg(reinterpret_cast<const uint4*>(x + static_cast<size_t>(b) * P.ldx + kc + u * kStride)));
  }
  for (; k < P.K; k += kStride) {
    const uint4 wk = __ldcs(reinterpret_cast<const uint4*>(w + k));
#pragma unroll
    for (int b = 0; b < B; b++)
      acc[b] += dot16<T>(wk, __ldg(reinterpret_cast<const uint4*>(x + static_cast<size_t>(b) * P.ldx + k)));
  }
#pragma unroll
  for (int b = 0; b < B; b++) acc[b] = warp_sum(acc[b]);
  if (lane != 0) return;
#pragma unroll
  for (int b = 0; b < B; b++) {
    const size_t o = static_cast<size_t>(b) * P.ldy + n;
    const float v = acc[b];
    switch (P.epi) {
      case Epilogue::kStoreF32: static_cast<float*>(P.Y)[o] = v; break;
      case Epilogue::kAddF32: static_cast<float*>(P.Y)[o] += v; break;
      case Epilogue::kStore: static_cast<T*>(P.Y)[o] = from_f<T>(v); break;
      case Epilogue::kTanh: static_cast<T*>(P.Y)[o] = from_f<T>(tanhf(v)); break;
      case Epilogue::kSigmoid: static_cast<T*>(P.Y)[o] = from_f<T>(sigmoidf_(v)); break;
      case Epilogue::kReluSq: {
        const float r = fmaxf(v, 0.f);
        static_cast<T*>(P.Y)[o] = from_f<T>(r * r);
        break;
      }
    }
  }
}

template <typename T>
void launch_typed(int rows, const GemvBatch& g, unsigned blocks, cudaStream_t st) {
  const dim3 block(kWarps * 32);
  switch (rows) {
    case 1: launch_kernel("gemv_kernel", gemv_kernel<T, 1>, blocks, block, 0, st, g); break;
    case 2: launch_kernel("gemv_kernel", gemv_kernel<T, 2>, blocks, block, 0, st, g); break;
    case 3: launch_kernel("gemv_kernel", gemv_kernel<T, 3>, blocks, block, 0, st, g); break;
    case 4: launch_kernel("gemv_kernel", gemv_kernel<T, 4>, blocks, block, 0, st, g); break;
    case 5: launch_kernel("gemv_kernel", gemv_kernel<T, 5>, blocks, block, 0, st, g); break;
    case 6: launch_kernel("gemv_kernel", gemv_kernel<T, 6>, blocks, block, 0, st, g); break;
    case 7: launch_kernel("gemv_kernel", gemv_kernel<T, 7>, blocks, block, 0, st, g); break;
    case 8: launch_kernel("gemv_kernel", gemv_kernel<T, 8>, blocks, block, 0, st, g); break;
    default: throw Error(code::kInternal, "gemv: unsupported row count " + std::to_string(rows));
  }
}

}  // namespace

bool gemv_supported(WeightType wt, int K, int ldx, const void* X) {
  const int per = wt == WeightType::F32 ? 4 : 8;
  return K > 0 && K % per == 0 && ldx % per == 0 && reinterpret_cast<uintptr_t>(X) % 16 == 0;
}

void launch_gemv(WeightType wt, int rows, GemvBatch& g, cudaStream_t st) {
  int total = 0;
  for (int i = 0; i < g.count; i++) {
    g.p[i].row_begin = total;
    total += g.p[i].N;
  }
  g.total_rows = total;
  if (total == 0 || rows == 0) return;
  const unsigned blocks = static_cast<unsigned>((total + kWarps - 1) / kWarps);
  RWKV_DISPATCH_WT(wt, launch_typed<T>(rows, g, blocks, st));
}

}  // namespace rwkv::cuda
