// Element-wise stages of the time mix and channel mix: the low-rank activations, the per-token preparation
// of the recurrence inputs, GroupNorm + bonus + gate after it, and relu^2. Per-head reductions use one warp
// per (row, head): N = 64 channels, two per lane, so a reduction is five shuffles and no shared memory.
// These sequence-mode kernels wait for their predecessor (launch.cuh) but do not let their successor start
// early: they are large, so there is no launch latency worth hiding, and waiting blocks would only compete
// for the SMs.
#include "cuda/cuda_check.h"
#include "cuda/device_math.cuh"
#include "cuda/dispatch.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace rwkv::cuda {
namespace {

constexpr int kThreads = 256;

template <typename T>
struct Vec2;
template <>
struct Vec2<float> {
  using type = float2;
};
template <>
struct Vec2<__half> {
  using type = __half2;
};
template <>
struct Vec2<__nv_bfloat16> {
  using type = __nv_bfloat162;
};

template <typename T>
__device__ __forceinline__ void store2(T* p, float a, float b) {
  typename Vec2<T>::type v;
  T* e = reinterpret_cast<T*>(&v);
  e[0] = from_f<T>(a);
  e[1] = from_f<T>(b);
  *reinterpret_cast<typename Vec2<T>::type*>(p) = v;
}

__device__ __forceinline__ float2 ld2(const float* p) { return *reinterpret_cast<const float2*>(p); }
__device__ __forceinline__ void st2(float* p, float a, float b) { *reinterpret_cast<float2*>(p) = make_float2(a, b); }

template <typename T>
__global__ void lora_act_kernel(const float* in, T* out, size_t n, int dsum, int dw, int lin_end) {
  pdl_wait();
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int col = static_cast<int>(i % dsum);
    const float v = in[i];
    out[i] = from_f<T>(col < dw ? tanhf(v) : col < lin_end ? v : sigmoidf_(v));
  }
}

__global__ void prep_kernel(PrepArgs a, int rows, int C) {
  pdl_wait();
  const int H = C / kHeadSize;
  const int gw = static_cast<int>((blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x) >> 5);
  if (gw >= rows * H) return;  // uniform per warp
  const int lane = threadIdx.x & 31;
  const int t = gw / H, h = gw % H;
  const int c = h * kHeadSize + lane * 2;
  const size_t i = static_cast<size_t>(t) * C + c;

  const float2 k = ld2(a.k + i), zw = ld2(a.zw + i), za = ld2(a.za + i);
  const float2 w0 = ld2(a.w0 + c), a0 = ld2(a.a0 + c), kk = ld2(a.k_k + c), ka = ld2(a.k_a + c);
  const float wd0 = decay_from_logit(w0.x + zw.x), wd1 = decay_from_logit(w0.y + zw.y);
  const float al0 = sigmoidf_(a0.x + za.x), al1 = sigmoidf_(a0.y + za.y);
  const float kap0 = k.x * kk.x, kap1 = k.y * kk.y;
  // F.normalize semantics: divide by max(||kappa||, 1e-12) over the head's 64 channels.
  const float inv = 1.f / fmaxf(sqrtf(warp_sum(kap0 * kap0 + kap1 * kap1)), 1e-12f);
  const float kh0 = kap0 * inv, kh1 = kap1 * inv;
  st2(a.zw + i, wd0, wd1);
  st2(a.kk + i, kh0, kh1);
  st2(a.za + i, kh0 * al0, kh1 * al1);
  st2(a.k + i, k.x * (1.f + (al0 - 1.f) * ka.x), k.y * (1.f + (al1 - 1.f) * ka.y));
  const float2 v = ld2(a.v + i);
  if (a.layer0) {
    st2(a.v_first + i, v.x, v.y);
  } else {
    const float2 vf = ld2(a.v_first + i), zv = ld2(a.zv + i), v0 = ld2(a.v0 + c);
    const float g0 = sigmoidf_(v0.x + zv.x), g1 = sigmoidf_(v0.y + zv.y);
    st2(a.v + i, v.x + (vf.x - v.x) * g0, v.y + (vf.y - v.y) * g1);
  }
}

template <typename T>
__global__ void groupnorm_kernel(GroupNormArgs a, int rows, int C) {
  pdl_wait();
  const int H = C / kHeadSize;
  const int gw = static_cast<int>((blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x) >> 5);
  if (gw >= rows * H) return;  // uniform per warp
  const int lane = threadIdx.x & 31;
  const int t = gw / H, h = gw % H;
  const int c = h * kHeadSize + lane * 2;
  const size_t i = static_cast<size_t>(t) * C + c;
  const float2 y = ld2(a.y + i);
  const float mean = warp_sum(y.x + y.y) * (1.f / kHeadSize);
  const float d0 = y.x - mean, d1 = y.y - mean;
  const float rstd = rsqrtf(warp_sum(d0 * d0 + d1 * d1) * (1.f / kHeadSize) + 64e-5f);
  const float2 r = ld2(a.r + i), k = ld2(a.k + i), v = ld2(a.v + i), g = ld2(a.g + i);
  const float2 rk = ld2(a.r_k + c), lw = ld2(a.ln_w + c), lb = ld2(a.ln_b + c);
  const float bonus = warp_sum(r.x * k.x * rk.x + r.y * k.y * rk.y);
  const float o0 = (d0 * rstd * lw.x + lb.x + bonus * v.x) * g.x;
  const float o1 = (d1 * rstd * lw.y + lb.y + bonus * v.y) * g.y;
  store2(static_cast<T*>(a.out) + i, o0, o1);
}

template <typename T>
__global__ void relu_sq_kernel(const float* in, T* out, size_t n4) {
  pdl_wait();
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n4;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float4 a = reinterpret_cast<const float4*>(in)[i];
    float v[4] = {a.x, a.y, a.z, a.w};
#pragma unroll
    for (int e = 0; e < 4; e++) {
      const float r = fmaxf(v[e], 0.f);
      v[e] = r * r;
    }
    store4(out + 4 * i, v);
  }
}

unsigned grid_for(size_t n, int threads) {
  const size_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 65536 * 8 ? (blocks ? blocks : 1) : 65536 * 8);
}

}  // namespace

void launch_lora_act(WeightType wt, const float* in, void* out, int rows, int dsum, int dw, int da_dv,
                     cudaStream_t st) {
  const size_t n = static_cast<size_t>(rows) * dsum;
  if (n == 0) return;
  RWKV_DISPATCH_WT(wt, launch_kernel("lora_act_kernel", lora_act_kernel<T>, grid_for(n, kThreads), kThreads, 0, st, in,
                                     static_cast<T*>(out), n, dsum, dw, dw + da_dv));
}

void launch_prep(const PrepArgs& a, int rows, int C, cudaStream_t st) {
  const size_t threads = static_cast<size_t>(rows) * (C / kHeadSize) * 32;
  if (threads == 0) return;
  const unsigned blocks = static_cast<unsigned>((threads + kThreads - 1) / kThreads);
  launch_kernel("prep_kernel", prep_kernel, blocks, kThreads, 0, st, a, rows, C);
}

void launch_groupnorm(WeightType wt, const GroupNormArgs& a, int rows, int C, cudaStream_t st) {
  const size_t threads = static_cast<size_t>(rows) * (C / kHeadSize) * 32;
  if (threads == 0) return;
  const unsigned blocks = static_cast<unsigned>((threads + kThreads - 1) / kThreads);
  RWKV_DISPATCH_WT(wt, launch_kernel("groupnorm_kernel", groupnorm_kernel<T>, blocks, kThreads, 0, st, a, rows, C));
}

void launch_relu_sq(WeightType wt, const float* in, void* out, size_t n, cudaStream_t st) {
  if (n == 0) return;
  RWKV_DISPATCH_WT(wt, launch_kernel("relu_sq_kernel", relu_sq_kernel<T>, grid_for(n / 4, kThreads), kThreads, 0, st,
                                     in, static_cast<T*>(out), n / 4));
}

}  // namespace rwkv::cuda
