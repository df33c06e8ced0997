// Weight preparation on the device: model files arrive in fp32, fp16 or bf16 and are converted (and, for the
// low-rank matrices, transposed) by the GPU, so loading a multi-gigabyte model costs one upload and no host
// conversion pass. The uniform fill builds benchmark models of real shapes without any host data at all.
#include "cuda/cuda_check.h"
#include "cuda/device_math.cuh"
#include "cuda/dispatch.cuh"
#include "cuda/kernels.h"

namespace rwkv::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float load_src(SrcType t, const void* p, size_t i) {
  switch (t) {
    case SrcType::F32: return static_cast<const float*>(p)[i];
    case SrcType::F16: return __half2float(static_cast<const __half*>(p)[i]);
    default: return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
  }
}

template <typename T>
__global__ void convert_kernel(SrcType st, const void* src, T* dst, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    dst[i] = from_f<T>(load_src(st, src, i));
}

template <typename T>
__global__ void convert_transpose_kernel(SrcType st, const void* src, T* dst, int r, int c) {
  const size_t n = static_cast<size_t>(r) * c;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const size_t row = i / c, col = i % c;  // src[row][col] -> dst[col][row]
    dst[col * r + row] = from_f<T>(load_src(st, src, i));
  }
}

// splitmix64 of (seed, index): independent of the launch shape, so a model is the same on every GPU.
__device__ __forceinline__ float hash_uniform(uint64_t seed, size_t i) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (static_cast<uint64_t>(i) + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
}

template <typename T>
__global__ void fill_kernel(T* dst, size_t n, float lo, float hi, uint64_t seed) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    dst[i] = from_f<T>(lo + (hi - lo) * hash_uniform(seed, i));
}

unsigned blocks_for(size_t n) {
  const size_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b == 0 ? 1 : b < 65536 * 4 ? b : 65536 * 4);
}

}  // namespace

void launch_convert(SrcType src_type, const void* src, WeightType dst_type, void* dst, size_t n, cudaStream_t st) {
  if (n == 0) return;
  RWKV_DISPATCH_WT(dst_type,
                   convert_kernel<T><<<blocks_for(n), kThreads, 0, st>>>(src_type, src, static_cast<T*>(dst), n));
  check_launch("convert_kernel");
}

void launch_convert_transpose(SrcType src_type, const void* src, WeightType dst_type, void* dst, int r, int c,
                              cudaStream_t st) {
  const size_t n = static_cast<size_t>(r) * c;
  if (n == 0) return;
  RWKV_DISPATCH_WT(dst_type, convert_transpose_kernel<T>
                   <<<blocks_for(n), kThreads, 0, st>>>(src_type, src, static_cast<T*>(dst), r, c));
  check_launch("convert_transpose_kernel");
}

void launch_convert_f32(SrcType src_type, const void* src, float* dst, size_t n, cudaStream_t st) {
  if (n == 0) return;
  convert_kernel<float><<<blocks_for(n), kThreads, 0, st>>>(src_type, src, dst, n);
  check_launch("convert_kernel");
}

void launch_fill_uniform(WeightType dst_type, void* dst, size_t n, float lo, float hi, uint64_t seed, cudaStream_t st) {
  if (n == 0) return;
  RWKV_DISPATCH_WT(dst_type, fill_kernel<T><<<blocks_for(n), kThreads, 0, st>>>(static_cast<T*>(dst), n, lo, hi, seed));
  check_launch("fill_kernel");
}

void launch_fill_uniform_f32(float* dst, size_t n, float lo, float hi, uint64_t seed, cudaStream_t st) {
  if (n == 0) return;
  fill_kernel<float><<<blocks_for(n), kThreads, 0, st>>>(dst, n, lo, hi, seed);
  check_launch("fill_kernel");
}

}  // namespace rwkv::cuda
