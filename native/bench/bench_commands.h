// The subcommands of rwkv_bench. Each prints a human-readable table and, as its last line, one JSON object.
#pragma once
#include <string>

#include "bench_util.h"
#include "cpu/aligned_buffer.h"
#include "cpu/kernels.h"
#include "cpu/threadpool.h"

namespace rwkv_bench {

// rwkv_bench engine: a random model of a given shape (default: the official 0.1B), prefill and decode speed
// for fp32, bf16, f16 and int8 weights, and the CPU ceilings they are compared with: the GEMM rate (prefill)
// and the read bandwidth (decode), measured in the same run.
int run_engine(const Args& args);

// rwkv_bench gemm: GFLOP/s of the CPU GEMM for one shape and weight type.
int run_gemm(const Args& args);

// rwkv_bench cuda: the CUDA backend on models of the released shapes (bench_cuda.cc); in a build without
// CUDA it prints that it was skipped (bench_no_cuda.cc).
int run_cuda(const Args& args);

// GFLOP/s of C[M,N] = A[M,K] * B[K,N] through the engine's CPU GEMM (fp32 activations, packed weights of
// `weights`: "f32", "bf16", "f16" or "int8"): the median and the best of `runs` timed runs.
struct GemmRate {
  double median = 0, best = 0;
};
GemmRate cpu_gemm_gflops(int M, int K, int N, int threads, const std::string& weights, int runs);

// The machine's read bandwidth with the engine's thread pool: a buffer far larger than the caches, summed
// front to back by every thread (blocks claimed like GEMM tasks) with the widest loads the CPU has. This is
// the ceiling of decoding, which streams every weight once per token. One pass: GB per wall-clock second,
// and GB per CPU second of the threads (the same ceiling with the time other processes took left out).
struct Bandwidth {
  double wall_gbs = 0, cpu_gbs = 0;
};
class ReadBandwidth {
 public:
  ReadBandwidth(int threads, size_t bytes);
  Bandwidth measure();
  int threads() const { return pool_.size(); }

 private:
  static constexpr size_t kBlocks = 64;
  rwkv::cpu::ThreadPool pool_;
  const rwkv::cpu::CpuKernels& kernels_;
  size_t n_;
  rwkv::cpu::AlignedBuffer buf_;
};

}  // namespace rwkv_bench
