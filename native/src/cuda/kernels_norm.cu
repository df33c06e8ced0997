// LayerNorm kernels: the embedding (with ln0), the pre-norms fused with token shift and the six (or one)
// interpolations, and the final norm gathered for the rows whose logits are wanted. One block per row; the
// row is staged in shared memory so the two-pass mean/variance reads global memory once.
#include <algorithm>

#include "cuda/cuda_check.h"
#include "cuda/device_math.cuh"
#include "cuda/dispatch.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace rwkv::cuda {
namespace {

constexpr float kLnEps = 1e-5f;

// About four channels per thread: a decode step normalizes a handful of rows, one block each, so the
// block's latency is what counts.
unsigned norm_threads(int C) { return static_cast<unsigned>(std::min(1024, std::max(128, (C / 4 + 31) / 32 * 32))); }

// Normalizes `buf` (already holding the row) in place. Each thread touches only its own strided elements,
// so no barrier is needed between passes beyond those inside block_sum.
__device__ void layer_norm_inplace(float* buf, const float* w, const float* b, int C, float* red) {
  float s = 0.f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) s += buf[c];
  const float mean = block_sum(s, red) / C;
  float q = 0.f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    const float d = buf[c] - mean;
    q += d * d;
  }
  const float rstd = rsqrtf(block_sum(q, red) / C + kLnEps);
  for (int c = threadIdx.x; c < C; c += blockDim.x) buf[c] = (buf[c] - mean) * rstd * w[c] + b[c];
}

template <typename T>
__global__ void embed_kernel(const int32_t* tokens, const T* emb, const float* w, const float* b, float* x, int C) {
  extern __shared__ float sm[];
  __shared__ float red[32];
  pdl_wait();
  pdl_launch_dependents();
  const int t = blockIdx.x;
  const T* e = emb + static_cast<size_t>(tokens[t]) * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) sm[c] = to_f<T>(e[c]);
  layer_norm_inplace(sm, w, b, C, red);
  float* xo = x + static_cast<size_t>(t) * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) xo[c] = sm[c];
}

// Recomputes the previous row's LayerNorm instead of reading it back from another block: two row reads are
// cheaper than a separate normalization pass, and no block depends on another.
template <typename T>
__global__ void ln_shift_kernel(RowLayout rl, const float* x, const float* w, const float* b, const float* mix,
                                int n_mix, size_t xprev_off, T* out, size_t plane_stride, int C) {
  extern __shared__ float sm[];
  __shared__ float red[32];
  float* cur = sm;
  float* prv = sm + C;
  pdl_wait();
  pdl_launch_dependents();
  const int t = blockIdx.x;
  const int s = rl.row_seq[t];
  const int start = rl.seq_start[s];
  const bool first = t == start;
  const bool last = t == start + rl.seq_len[s] - 1;
  float* xprev = rl.states[s] + xprev_off;

  const float* xr = x + static_cast<size_t>(t) * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) cur[c] = xr[c];
  layer_norm_inplace(cur, w, b, C, red);
  if (first) {
    for (int c = threadIdx.x; c < C; c += blockDim.x) prv[c] = xprev[c];
  } else {
    const float* xp = xr - C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) prv[c] = xp[c];
    layer_norm_inplace(prv, w, b, C, red);
  }
  T* o = out + static_cast<size_t>(t) * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    const float u = cur[c];
    const float d = prv[c] - u;
    for (int m = 0; m < n_mix; m++) o[m * plane_stride + c] = from_f<T>(u + d * mix[m * C + c]);
  }
  // The new x_prev (the sequence's last row's u) is stored by the block of the sequence's FIRST row, the
  // only block that reads the old value, so no other block can see it half-updated. Each thread writes
  // the elements it read above (same c), so the read precedes the write without a barrier.
  if (first) {
    if (!last) {
      const float* xl = x + static_cast<size_t>(start + rl.seq_len[s] - 1) * C;
      for (int c = threadIdx.x; c < C; c += blockDim.x) prv[c] = xl[c];
      layer_norm_inplace(prv, w, b, C, red);
    }
    const float* u_last = last ? cur : prv;
    for (int c = threadIdx.x; c < C; c += blockDim.x) xprev[c] = u_last[c];
  }
}

template <typename T>
__global__ void ln_gather_kernel(const float* x, const int32_t* rows, const float* w, const float* b, T* out, int C) {
  extern __shared__ float sm[];
  __shared__ float red[32];
  pdl_wait();
  pdl_launch_dependents();
  const float* xr = x + static_cast<size_t>(rows[blockIdx.x]) * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) sm[c] = xr[c];
  layer_norm_inplace(sm, w, b, C, red);
  T* o = out + static_cast<size_t>(blockIdx.x) * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) o[c] = from_f<T>(sm[c]);
}

// Rows up to 12288 channels fit the default 48 KB of dynamic shared memory for two rows; larger ones opt in.
template <typename K>
void allow_smem(K kernel, size_t bytes) {
  if (bytes > 48 * 1024)
    RWKV_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
}

}  // namespace

void launch_embed(WeightType wt, const RowLayout& rl, const void* emb, const float* ln0_w, const float* ln0_b, float* x,
                  int C, cudaStream_t st) {
  if (rl.rows == 0) return;
  const size_t smem = static_cast<size_t>(C) * sizeof(float);
  RWKV_DISPATCH_WT(wt, {
    allow_smem(embed_kernel<T>, smem);
    launch_kernel("embed_kernel", embed_kernel<T>, rl.rows, norm_threads(C), smem, st, rl.tokens,
                  static_cast<const T*>(emb), ln0_w, ln0_b, x, C);
  });
}

void launch_ln_shift(WeightType wt, const RowLayout& rl, const float* x, const float* ln_w, const float* ln_b,
                     const float* mix, int n_mix, size_t xprev_off, void* out, size_t plane_stride, int C,
                     cudaStream_t st) {
  if (rl.rows == 0) return;
  const size_t smem = 2 * static_cast<size_t>(C) * sizeof(float);
  RWKV_DISPATCH_WT(wt, {
    allow_smem(ln_shift_kernel<T>, smem);
    launch_kernel("ln_shift_kernel", ln_shift_kernel<T>, rl.rows, norm_threads(C), smem, st, rl, x, ln_w, ln_b, mix,
                  n_mix, xprev_off, static_cast<T*>(out), plane_stride, C);
  });
}

void launch_ln_gather(WeightType wt, const float* x, const int32_t* rows, int n, const float* ln_w, const float* ln_b,
                      void* out, int C, cudaStream_t st) {
  if (n == 0) return;
  const size_t smem = static_cast<size_t>(C) * sizeof(float);
  RWKV_DISPATCH_WT(wt, {
    allow_smem(ln_gather_kernel<T>, smem);
    launch_kernel("ln_gather_kernel", ln_gather_kernel<T>, n, norm_threads(C), smem, st, x, rows, ln_w, ln_b,
                  static_cast<T*>(out), C);
  });
}

}  // namespace rwkv::cuda
