// The decode step's recurrence stage in one kernel (see kernels.h): with one token per sequence the
// element-wise preparation, the state update and GroupNorm are each too small to fill the GPU, so running
// them as one block per (sequence, head) saves two launches per layer and the round trips of their
// intermediates. The math is that of prep_kernel, wkv_seq_kernel and groupnorm_kernel, in the same order.
#include "cuda/cuda_check.h"
#include "cuda/device_math.cuh"
#include "cuda/dispatch.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace rwkv::cuda {
namespace {

constexpr int N = kHeadSize;
constexpr int kThreads = 4 * N;  // four threads per state row

// This head's 64 outputs of the four low-rank "up" projections for row t: thread (p, j) computes output j of
// projection p (w, a, v, g) from its own weight row, so every thread has its whole dot product's loads in
// flight at once; the hidden vector is staged in shared memory, where a warp's threads read the same words.
template <typename T>
__device__ void lora_up_slice(const DecodeArgs& a, int t, int h, float* s_hid, float (*z)[N]) {
  constexpr int kPer = 16 / sizeof(T);
  const int ds = a.dw + a.da + a.dv + a.dg;
  const T* hid = static_cast<const T*>(a.lora_h) + static_cast<size_t>(t) * a.ldh;
  for (int i = threadIdx.x; i < ds; i += blockDim.x) s_hid[i] = to_f<T>(hid[i]);
  __syncthreads();
  const int p = threadIdx.x / N, j = threadIdx.x % N;
  const int D = p == 0 ? a.dw : p == 1 ? a.da : p == 2 ? a.dv : a.dg;
  const int off = p == 0 ? 0 : p == 1 ? a.dw : p == 2 ? a.dw + a.da : a.dw + a.da + a.dv;
  const void* W = p == 0 ? a.w2 : p == 1 ? a.a2 : p == 2 ? a.v2 : a.g2;
  float acc = 0.f;
  if (D > 0) {
    const T* wr = static_cast<const T*>(W) + static_cast<size_t>(h * N + j) * D;
    const float* x = s_hid + off;
#pragma unroll 4
    for (int k = 0; k < D; k += kPer) {
      const uint4 wv = __ldg(reinterpret_cast<const uint4*>(wr + k));
      const T* e = reinterpret_cast<const T*>(&wv);
#pragma unroll
      for (int u = 0; u < kPer; u++) acc = fmaf(to_f<T>(e[u]), x[k + u], acc);
    }
  }
  z[p][j] = acc;
}

// Sum over threads 0..63 (warps 0 and 1); called by every thread of the block, the others add nothing.
__device__ __forceinline__ float sum64(float v, float* red) {
  v = warp_sum(v);
  __syncthreads();
  if (threadIdx.x == 0 || threadIdx.x == 32) red[threadIdx.x >> 5] = v;
  __syncthreads();
  return red[0] + red[1];
}

template <typename T>
__global__ void __launch_bounds__(kThreads) wkv_decode_kernel(DecodeArgs a, RowLayout rl, int C) {
  __shared__ __align__(16) float s_r[N], s_w[N], s_k[N], s_kk[N], s_b[N], s_v[N], s_y[N];
  __shared__ float s_z[4][N];                // zw, za, zv, g of this head when the up projections are fused
  __shared__ float s_hid[kDecodeMaxHidden];  // the row's low-rank hidden activations, likewise
  __shared__ float red[2];
  const int h = blockIdx.x;
  const int s = blockIdx.y;
  pdl_wait();
  pdl_launch_dependents();
  const int t = rl.seq_start[s];  // the sequence's single row
  const int tid = threadIdx.x;
  const bool chan = tid < N;  // threads 0..63 own one channel each
  const int c = h * N + (chan ? tid : 0);
  const size_t i = static_cast<size_t>(t) * C + c;
  const bool fused = a.lora_h != nullptr;
  if (fused) {
    lora_up_slice<T>(a, t, h, s_hid, s_z);
    __syncthreads();
  }

  float kap = 0.f, al = 0.f, k = 0.f, v = 0.f, r = 0.f, g = 0.f, zv = 0.f;
  if (chan) {
    k = a.k[i];
    r = a.r[i];
    v = a.v[i];
    const float zw = fused ? s_z[0][tid] : a.zw[i];
    const float za = fused ? s_z[1][tid] : a.za[i];
    zv = a.layer0 ? 0.f : fused ? s_z[2][tid] : a.zv[i];
    g = fused ? s_z[3][tid] : a.g[i];
    s_w[tid] = decay_from_logit(a.w0[c] + zw);
    al = sigmoidf_(a.a0[c] + za);
    kap = k * a.k_k[c];
  }
  const float inv = 1.f / fmaxf(sqrtf(sum64(kap * kap, red)), 1e-12f);
  float bonus_part = 0.f;
  if (chan) {
    const float kh = kap * inv;
    const float km = k * (1.f + (al - 1.f) * a.k_a[c]);
    if (a.layer0) {
      a.v_first[i] = v;
    } else {
      v = v + (a.v_first[i] - v) * sigmoidf_(a.v0[c] + zv);
    }
    s_r[tid] = r;
    s_k[tid] = km;
    s_kk[tid] = kh;
    s_b[tid] = kh * al;
    s_v[tid] = v;
    bonus_part = r * km * a.r_k[c];
  }
  const float bonus = sum64(bonus_part, red);  // its barriers also publish the shared vectors

  // State rows: thread (row il, quarter q) owns columns 16m + 4q .. +3, as in wkv_seq_kernel.
  const int il = tid >> 2, q = tid & 3;
  float* S = rl.states[s] + a.wkv_off + static_cast<size_t>(h) * N * N + static_cast<size_t>(il) * N;
  float st[16];
#pragma unroll
  for (int m = 0; m < 4; m++) {
    const float4 x = *reinterpret_cast<const float4*>(S + 16 * m + 4 * q);
    st[4 * m] = x.x;
    st[4 * m + 1] = x.y;
    st[4 * m + 2] = x.z;
    st[4 * m + 3] = x.w;
  }
  float part[4];
#pragma unroll
  for (int m = 0; m < 4; m++) {
    const float4 kh = *reinterpret_cast<const float4*>(s_kk + 16 * m + 4 * q);
    part[m] = st[4 * m] * kh.x + st[4 * m + 1] * kh.y + st[4 * m + 2] * kh.z + st[4 * m + 3] * kh.w;
  }
  float sa = (part[0] + part[1]) + (part[2] + part[3]);
  sa += __shfl_xor_sync(0xffffffffu, sa, 1);
  sa += __shfl_xor_sync(0xffffffffu, sa, 2);
  const float nsa = -sa;
  const float vi = s_v[il];
  float y4[4];
#pragma unroll
  for (int m = 0; m < 4; m++) {
    const int o = 16 * m + 4 * q;
    const float4 rr = *reinterpret_cast<const float4*>(s_r + o);
    const float4 ww = *reinterpret_cast<const float4*>(s_w + o);
    const float4 kk = *reinterpret_cast<const float4*>(s_k + o);
    const float4 bb = *reinterpret_cast<const float4*>(s_b + o);
    st[4 * m] = fmaf(nsa, bb.x, fmaf(st[4 * m], ww.x, vi * kk.x));
    st[4 * m + 1] = fmaf(nsa, bb.y, fmaf(st[4 * m + 1], ww.y, vi * kk.y));
    st[4 * m + 2] = fmaf(nsa, bb.z, fmaf(st[4 * m + 2], ww.z, vi * kk.z));
    st[4 * m + 3] = fmaf(nsa, bb.w, fmaf(st[4 * m + 3], ww.w, vi * kk.w));
    y4[m] = st[4 * m] * rr.x + st[4 * m + 1] * rr.y + st[4 * m + 2] * rr.z + st[4 * m + 3] * rr.w;
  }
  float y = (y4[0] + y4[1]) + (y4[2] + y4[3]);
  y += __shfl_xor_sync(0xffffffffu, y, 1);
  y += __shfl_xor_sync(0xffffffffu, y, 2);
  if (q == 0) s_y[il] = y;
#pragma unroll
  for (int m = 0; m < 4; m++)
    *reinterpret_cast<float4*>(S + 16 * m + 4 * q) =
        make_float4(st[4 * m], st[4 * m + 1], st[4 * m + 2], st[4 * m + 3]);
  __syncthreads();

  // GroupNorm over the head's 64 outputs, then the bonus and the gate.
  const float yc = chan ? s_y[tid] : 0.f;
  const float mean = sum64(yc, red) * (1.f / N);
  const float d = chan ? yc - mean : 0.f;
  const float rstd = rsqrtf(sum64(d * d, red) * (1.f / N) + 64e-5f);
  if (chan) {
    const float o = (d * rstd * a.ln_w[c] + a.ln_b[c] + bonus * v) * g;
    static_cast<T*>(a.out)[i] = from_f<T>(o);
  }
}

}  // namespace

void launch_wkv_decode(WeightType wt, const DecodeArgs& a, const RowLayout& rl, int C, cudaStream_t st) {
  if (rl.n_seq == 0) return;
  RWKV_DISPATCH_WT(
      wt, launch_kernel("wkv_decode_kernel", wkv_decode_kernel<T>, dim3(C / N, rl.n_seq), kThreads, 0, st, a, rl, C));
}

}  // namespace rwkv::cuda
