// C = A * B (+ C) with A a row-major fp32 activation matrix (one row per token) and B a packed weight matrix.
// Several independent products can be issued as one parallel region (the projections of a layer that read
// different inputs), which matters for one-token decoding where each product is only microseconds long.
//
// Blocking: the depth is cut into blocks of kc; each task owns a block of up to mc rows of A (packed per
// depth block into the micro-kernel's order, it stays in L2) and a range of panels of B; for each panel the
// depth block of B is swept by every register tile of the row block. When the rows fit one register tile
// (decoding) each panel is instead read from start to end in one pass, since then the weight stream is the
// cost. Results do not depend on the number of rows, the row block, that choice or the thread count: every
// output element sees the same sequence of multiply-adds (same depth blocks, same order), so a sequence gives
// the same bits alone or batched, whole or cut into chunks.
#pragma once
#include <cstddef>
#include <vector>

#include "cpu/aligned_buffer.h"
#include "cpu/kernels.h"
#include "cpu/packed_matrix.h"
#include "cpu/threadpool.h"

namespace rwkv::cpu {

struct GemmJob {
  int M = 0;                 // rows of A and C
  const float* a = nullptr;  // A row r at a + r * lda ...
  size_t lda = 0;
  const float* const* a_rows = nullptr;  // ... or at a_rows[r] when given
  const PackedMatrix* b = nullptr;
  float* c = nullptr;  // C row r at c + r * ldc ...
  size_t ldc = 0;
  float* const* c_rows = nullptr;  // ... or at c_rows[r] when given
  bool accumulate = false;         // C += A*B
  bool relu_square = false;        // C = max(A*B, 0)^2 (not with accumulate)
};

class Gemm {
 public:
  Gemm(const CpuKernels& kernels, int workers);

  void run(ThreadPool& pool, const GemmJob* jobs, size_t n_jobs);
  void run(ThreadPool& pool, const GemmJob& job) { run(pool, &job, 1); }
  void run(ThreadPool& pool, const std::vector<GemmJob>& jobs) { run(pool, jobs.data(), jobs.size()); }

  const CpuKernels& kernels() const { return kernels_; }

 private:
  struct Plan {
    size_t first_task;  // index of this job's first task in the region
    int m_blocks;
    int n_splits;
  };
  void run_task(const GemmJob& job, const Plan& plan, size_t local, int worker);

  const CpuKernels& kernels_;
  int kc_;                             // depth block
  int mc_;                             // rows per task block (a multiple of mr)
  std::vector<AlignedBuffer> a_pack_;  // per worker: mc x kc packed A
  std::vector<AlignedBuffer> b_wide_;  // per worker: kc x kPanel widened B
  std::vector<Plan> plans_;
};

}  // namespace rwkv::cpu
