// The WKV-7 recurrence in sequence mode (spec §3.2 step 10), fp32 throughout:
//   sa_i = sum_j S[i][j] * alpha_j            (OLD state; alpha = -kappa_hat)
//   S[i][j] = S[i][j] * w_j + sa_i * beta_j + v_i * k_j
//   y_i = sum_j S[i][j] * r_j                 (NEW state)
// Rows i of a head's state never interact (sa_i and y_i read only row i), so a head's 64 rows can be split
// across blocks freely; each row is split over 4 threads (16 columns each, two shuffles per reduction), which
// shortens the per-token dependency chain that bounds a single long stream. The state is read once per call,
// kept in registers across all of the sequence's tokens, and written back at the end. Per-token inputs are
// staged into shared memory 16 tokens at a time with cp.async, double-buffered, so no load latency sits on
// the serial path and no barrier is needed per token.
#include <algorithm>

#include "cuda/cuda_check.h"
#include "cuda/device_math.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace rwkv::cuda {
namespace {

constexpr int N = kHeadSize;
constexpr int kTile = 16;  // tokens staged per cp.async group

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(gmem));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int PENDING>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(PENDING));
}

template <int ROWS>
__global__ void __launch_bounds__(ROWS * 4) wkv_seq_kernel(WkvArgs a, RowLayout rl, int C) {
  constexpr int kThreads = ROWS * 4;
  // Staged floats per token: r, w, k, kappa_hat, beta (N each), then this block's ROWS values of v.
  constexpr int kStep = 5 * N + ROWS;
  constexpr int kChunks = kStep / 4;  // 16-byte copies per token
  __shared__ __align__(16) float sm[2][kTile][kStep];

  constexpr int kGroups = N / ROWS;
  const int h = blockIdx.x / kGroups;
  const int row0 = (blockIdx.x % kGroups) * ROWS;
  const int s = blockIdx.y;
  const int tid = threadIdx.x;
  const int il = tid >> 2;  // row within the block
  const int q = tid & 3;    // quarter of the row
  // No early launch of the next kernel: its blocks would wait on the same SMs as this latency-bound loop.
  pdl_wait();
  const int start = rl.seq_start[s];
  const int len = rl.seq_len[s];

  // Thread q owns the float4 groups 4m+q (columns 16m+4q .. 16m+4q+3): the four threads of a row then read 64
  // contiguous bytes of each staged vector per access, and the warp's other rows broadcast the same bytes.
  float* S = rl.states[s] + a.wkv_off + static_cast<size_t>(h) * N * N + static_cast<size_t>(row0 + il) * N;
  float st[16];
#pragma unroll
  for (int m = 0; m < 4; m++) {
    const float4 v = *reinterpret_cast<const float4*>(S + 16 * m + 4 * q);
    st[4 * m] = v.x;
    st[4 * m + 1] = v.y;
    st[4 * m + 2] = v.z;
    st[4 * m + 3] = v.w;
  }

  auto load_tile = [&](int tile, int buf) {
    const int t0 = tile * kTile;
    const int steps = min(kTile, len - t0);
    for (int c = tid; c < steps * kChunks; c += kThreads) {
      const int tt = c / kChunks, w = c - tt * kChunks;
      const size_t rowoff = static_cast<size_t>(start + t0 + tt) * C + static_cast<size_t>(h) * N;
      const float* g;
      if (w < 5 * (N / 4)) {
        const int arr = w / (N / 4), c4 = (w % (N / 4)) * 4;
        const float* base = arr == 0 ? a.r : arr == 1 ? a.w : arr == 2 ? a.k : arr == 3 ? a.kk : a.b;
        g = base + rowoff + c4;
      } else {
        g = a.v + rowoff + row0 + (w - 5 * (N / 4)) * 4;
      }
      cp_async16(&sm[buf][tt][w * 4], g);
    }
    cp_async_commit();
  };

  const int ntiles = (len + kTile - 1) / kTile;
  if (ntiles > 0) load_tile(0, 0);
  for (int tile = 0; tile < ntiles; tile++) {
    const int buf = tile & 1;
    if (tile + 1 < ntiles) {
      load_tile(tile + 1, buf ^ 1);
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    const int steps = min(kTile, len - tile * kTile);  // uniform across the block
    float* yrow = a.y + static_cast<size_t>(start + tile * kTile) * C + static_cast<size_t>(h) * N + row0 + il;
    // Only sa_i sits on the serial path from one token to the next; the read-out y_i is kept as this thread's
    // partial sum per token and reduced across the row's four threads once per tile, off that path.
    float yp[kTile];
#pragma unroll
    for (int tt = 0; tt < kTile; tt++) {
      yp[tt] = 0.f;
      if (tt < steps) {
        const float* p = sm[buf][tt];
        float part[4];
#pragma unroll
        for (int m = 0; m < 4; m++) {
          const float4 kh = *reinterpret_cast<const float4*>(p + 3 * N + 16 * m + 4 * q);
          part[m] = st[4 * m] * kh.x + st[4 * m + 1] * kh.y + st[4 * m + 2] * kh.z + st[4 * m + 3] * kh.w;
        }
        float sa = (part[0] + part[1]) + (part[2] + part[3]);
        sa += __shfl_xor_sync(0xffffffffu, sa, 1);
        sa += __shfl_xor_sync(0xffffffffu, sa, 2);
        // S*alpha = -sa, so the rank-1 removal term is -sa * beta_j.
        const float nsa = -sa;
        const float vi = p[5 * N + il];
        float y4[4];
#pragma unroll
        for (int m = 0; m < 4; m++) {
          const int o = 16 * m + 4 * q;
          const float4 r = *reinterpret_cast<const float4*>(p + o);
          const float4 w = *reinterpret_cast<const float4*>(p + N + o);
          const float4 k = *reinterpret_cast<const float4*>(p + 2 * N + o);
          const float4 b = *reinterpret_cast<const float4*>(p + 4 * N + o);
          st[4 * m] = fmaf(nsa, b.x, fmaf(st[4 * m], w.x, vi * k.x));
          st[4 * m + 1] = fmaf(nsa, b.y, fmaf(st[4 * m + 1], w.y, vi * k.y));
          st[4 * m + 2] = fmaf(nsa, b.z, fmaf(st[4 * m + 2], w.z, vi * k.z));
          st[4 * m + 3] = fmaf(nsa, b.w, fmaf(st[4 * m + 3], w.w, vi * k.w));
          y4[m] = st[4 * m] * r.x + st[4 * m + 1] * r.y + st[4 * m + 2] * r.z + st[4 * m + 3] * r.w;
        }
        yp[tt] = (y4[0] + y4[1]) + (y4[2] + y4[3]);
      }
    }
    // Reduce-scatter over the quad: after two exchange rounds each thread holds the full sums of 4 tokens.
    float h8[8];
#pragma unroll
    for (int j = 0; j < 8; j++) {
      const bool hi = q & 1;
      const float send = hi ? yp[j] : yp[j + 8];
      h8[j] = (hi ? yp[j + 8] : yp[j]) + __shfl_xor_sync(0xffffffffu, send, 1);
    }
    float h4[4];
#pragma unroll
    for (int j = 0; j < 4; j++) {
      const bool hi = q & 2;
      const float send = hi ? h8[j] : h8[j + 4];
      h4[j] = (hi ? h8[j + 4] : h8[j]) + __shfl_xor_sync(0xffffffffu, send, 2);
    }
    const int tbase = (q & 1) * 8 + ((q & 2) ? 4 : 0);
#pragma unroll
    for (int j = 0; j < 4; j++)
      if (tbase + j < steps) yrow[static_cast<size_t>(tbase + j) * C] = h4[j];
    __syncthreads();  // the next iteration's prefetch overwrites this buffer
  }

#pragma unroll
  for (int m = 0; m < 4; m++)
    *reinterpret_cast<float4*>(S + 16 * m + 4 * q) =
        make_float4(st[4 * m], st[4 * m + 1], st[4 * m + 2], st[4 * m + 3]);
}

}  // namespace

void launch_wkv_seq(const WkvArgs& a, const RowLayout& rl, int C, int sm_count, cudaStream_t st) {
  if (rl.n_seq == 0) return;
  const int H = C / N;
  // Few (sequence, head) pairs: split each head's rows over 4 blocks so a single long stream still spreads
  // over the GPU; many pairs: whole heads per block, which reads the staged vectors once per head.
  if (static_cast<long>(rl.n_seq) * H < 2L * std::max(sm_count, 1)) {
    constexpr int R = 16;
    launch_kernel("wkv_seq_kernel", wkv_seq_kernel<R>, dim3(H * (N / R), rl.n_seq), R * 4, 0, st, a, rl, C);
  } else {
    constexpr int R = 64;
    launch_kernel("wkv_seq_kernel", wkv_seq_kernel<R>, dim3(H * (N / R), rl.n_seq), R * 4, 0, st, a, rl, C);
  }
}

}  // namespace rwkv::cuda
