// Device-side helpers shared by the kernels: conversions between the storage types (fp32, fp16, bf16) and
// fp32 compute, 4-wide vector loads/stores for them, and warp/block reductions.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace rwkv::cuda {

template <typename T>
__device__ __forceinline__ float to_f(T v);
template <>
__device__ __forceinline__ float to_f<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ float to_f<__half>(__half v) {
  return __half2float(v);
}
template <>
__device__ __forceinline__ float to_f<__nv_bfloat16>(__nv_bfloat16 v) {
  return __bfloat162float(v);
}

template <typename T>
__device__ __forceinline__ T from_f(float v);
template <>
__device__ __forceinline__ float from_f<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half from_f<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// Four consecutive elements (16 bytes for fp32, 8 for the 16-bit types); `p` must be aligned to that width.
template <typename T>
struct Vec4;
template <>
struct Vec4<float> {
  using type = float4;
};
template <>
struct Vec4<__half> {
  using type = uint2;
};
template <>
struct Vec4<__nv_bfloat16> {
  using type = uint2;
};

template <typename T>
__device__ __forceinline__ void load4(const T* p, float (&o)[4]) {
  typename Vec4<T>::type raw = *reinterpret_cast<const typename Vec4<T>::type*>(p);
  const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int i = 0; i < 4; i++) o[i] = to_f<T>(e[i]);
}

template <typename T>
__device__ __forceinline__ void store4(T* p, const float (&v)[4]) {
  typename Vec4<T>::type raw;
  T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
  for (int i = 0; i < 4; i++) e[i] = from_f<T>(v[i]);
  *reinterpret_cast<typename Vec4<T>::type*>(p) = raw;
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Sum over the whole block; `red` is shared scratch of at least 32 floats. Every thread gets the result.
// The leading barrier lets callers reuse `red` for consecutive reductions; the second level is a warp
// reduction, so the latency is two shuffle trees whatever the block size.
__device__ __forceinline__ float block_sum(float v, float* red) {
  v = warp_sum(v);
  const int nw = (blockDim.x + 31) >> 5;
  __syncthreads();
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
  __syncthreads();
  const int lane = threadIdx.x & 31;
  return warp_sum(lane < nw ? red[lane] : 0.f);
}

__device__ __forceinline__ float sigmoidf_(float x) { return 1.f / (1.f + __expf(-x)); }

// Decay per spec §3.2 step 4: w = exp(-e^{-1/2} * sigmoid(z)), always in (0.5453, 1).
__device__ __forceinline__ float decay_from_logit(float z) { return __expf(-0.6065306597126334f * sigmoidf_(z)); }

}  // namespace rwkv::cuda
