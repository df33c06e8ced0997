#include "cpu/gemm.h"

#include <algorithm>

namespace rwkv::cpu {

namespace {
// Measured on a Zen 4 core (1 MiB L2): a deep block keeps the C tile in registers longest; 112 x 768 floats
// of packed A (344 KiB) plus one 96 KiB panel depth block sit in L2 while the register tiles sweep them.
constexpr int kDepthBlock = 768;
constexpr int kRowsPerBlock = 112;
}  // namespace

Gemm::Gemm(const CpuKernels& kernels, int workers)
    : kernels_(kernels), kc_(kDepthBlock), mc_(std::max(1, kRowsPerBlock / kernels.mr) * kernels.mr) {
  a_pack_.resize(static_cast<size_t>(workers));
  b_wide_.resize(static_cast<size_t>(workers));
  for (int w = 0; w < workers; w++) {
    a_pack_[w].reset(static_cast<size_t>(mc_) * kc_ * sizeof(float));
    b_wide_[w].reset(static_cast<size_t>(kc_) * kPanel * sizeof(float));
  }
}

void Gemm::run(ThreadPool& pool, const GemmJob* jobs, size_t n_jobs) {
  // Enough tasks to balance the pool; rows are split first (each row block packs its A once), panels only as
  // far as needed when there are few rows (one-token decoding splits the weight stream across threads).
  const int target = 4 * pool.size();
  plans_.resize(n_jobs);
  size_t total = 0;
  for (size_t j = 0; j < n_jobs; j++) {
    const GemmJob& job = jobs[j];
    Plan& p = plans_[j];
    p.first_task = total;
    if (job.M <= 0 || job.b->N <= 0) {
      p.m_blocks = 0;
      p.n_splits = 0;
      continue;
    }
    p.m_blocks = (job.M + mc_ - 1) / mc_;
    const int panels = job.b->panels();
    int splits = (target + p.m_blocks - 1) / p.m_blocks;
    p.n_splits = std::clamp(splits, 1, panels);
    total += static_cast<size_t>(p.m_blocks) * p.n_splits;
  }
  if (total == 0) return;
  pool.parallel_for(total, [&](size_t task, int worker) {
    size_t j = n_jobs - 1;
    while (plans_[j].first_task > task || plans_[j].m_blocks == 0) j--;
    run_task(jobs[j], plans_[j], task - plans_[j].first_task, worker);
  });
}

void Gemm::run_task(const GemmJob& job, const Plan& plan, size_t local, int worker) {
  const PackedMatrix& B = *job.b;
  const int mr = kernels_.mr;
  const int mb = static_cast<int>(local / plan.n_splits);
  const int split = static_cast<int>(local % plan.n_splits);
  const int panels = B.panels();
  const int p0 = static_cast<int>(static_cast<long>(panels) * split / plan.n_splits);
  const int p1 = static_cast<int>(static_cast<long>(panels) * (split + 1) / plan.n_splits);
  const int m0 = mb * mc_;
  const int mlen = std::min(mc_, job.M - m0);
  const int tiles = (mlen + mr - 1) / mr;
  const int K = B.K;
  float* bwide = b_wide_[worker].as<float>();
  // Narrow panels are read by the tile itself when it can and one register tile sweeps them (decoding: the
  // weights are streamed once, a widened copy would only add traffic); with many tiles per panel block a
  // table that can widen does it once per block for all of them. Widening is exact, so the bits agree.
  const bool widen = B.type != BType::F32 && (!kernels_.direct_narrow || (tiles > 1 && kernels_.widen != nullptr));

  auto a_row = [&](int r) { return job.a_rows ? job.a_rows[r] : job.a + static_cast<size_t>(r) * job.lda; };
  auto c_row = [&](int r) { return job.c_rows ? job.c_rows[r] : job.c + static_cast<size_t>(r) * job.ldc; };

  // Packs rows [r0, r0+mt) x depth [pc, pc+kcl) of A into the tile order (k major, the mt rows interleaved).
  auto pack_a = [&](float* dst, int r0, int mt, int pc, int kcl) {
    const float* src[16];
    for (int i = 0; i < mt; i++) src[i] = a_row(r0 + i) + pc;
    kernels_.pack_a(src, mt, kcl, dst);
  };
  float* crow[16];
  TileArgs args;
  args.c = crow;
  // One depth block of one panel for every tile; A blocks at a_at(t).
  auto sweep = [&](int p, int pc, int kcl, auto a_at) {
    args.kc = kcl;
    args.accumulate = job.accumulate || pc > 0;
    args.relu_square = job.relu_square && pc + kcl == K;
    args.b = B.panel(p, pc);
    args.btype = B.type;
    args.scale = B.panel_scales(p);
    if (widen) {
      kernels_.widen(args.b, B.type, static_cast<size_t>(kcl) * kPanel, bwide);
      args.b = bwide;
      args.btype = BType::F32;
    }
    args.n = std::min(kPanel, B.N - p * kPanel);
    for (int t = 0; t < tiles; t++) {
      const int r0 = m0 + t * mr;
      const int mt = std::min(mr, m0 + mlen - r0);
      for (int i = 0; i < mt; i++) crow[i] = c_row(r0 + i) + static_cast<size_t>(p) * kPanel;
      args.m = mt;
      args.a = a_at(t);
      kernels_.tile(args);
    }
  };

  if (tiles == 1) {
    // A single register tile (decoding): the weights dominate, so each panel is read once from start to end
    // (its depth blocks in order, the partial sums kept in C exactly as below), one long sequential stream.
    // A single row is already in packed order.
    const float* apack = a_row(m0);
    if (mlen > 1) {
      a_pack_[worker].reserve(static_cast<size_t>(mlen) * K * sizeof(float));
      float* dst = a_pack_[worker].as<float>();
      for (int pc = 0; pc < K; pc += kc_)
        pack_a(dst + static_cast<size_t>(pc) * mlen, m0, mlen, pc, std::min(kc_, K - pc));
      apack = dst;
    }
    for (int p = p0; p < p1; p++)
      for (int pc = 0; pc < K; pc += kc_)
        sweep(p, pc, std::min(kc_, K - pc), [&](int) { return apack + static_cast<size_t>(pc) * mlen; });
    return;
  }
  float* apack = a_pack_[worker].as<float>();
  for (int pc = 0; pc < K; pc += kc_) {
    const int kcl = std::min(kc_, K - pc);
    for (int t = 0; t < tiles; t++) {
      const int r0 = m0 + t * mr;
      pack_a(apack + static_cast<size_t>(t) * mr * kcl, r0, std::min(mr, m0 + mlen - r0), pc, kcl);
    }
    for (int p = p0; p < p1; p++) sweep(p, pc, kcl, [&](int t) { return apack + static_cast<size_t>(t) * mr * kcl; });
  }
}

}  // namespace rwkv::cpu
