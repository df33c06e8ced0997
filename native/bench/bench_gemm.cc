#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

#include "bench_commands.h"
#include "cpu/gemm.h"
#include "cpu/isa.h"
#include "rwkv/error.h"

namespace rwkv_bench {

namespace {
rwkv::cpu::BType parse_btype(const std::string& w) {
  if (w == "f32") return rwkv::cpu::BType::F32;
  if (w == "bf16") return rwkv::cpu::BType::BF16;
  if (w == "f16") return rwkv::cpu::BType::F16;
  if (w == "int8") return rwkv::cpu::BType::I8;
  throw rwkv::Error(rwkv::code::kArgument, "weights must be f32, bf16, f16 or int8, got " + w);
}
}  // namespace

ReadBandwidth::ReadBandwidth(int threads, size_t bytes)
    : pool_(threads), kernels_(rwkv::cpu::kernels_for(rwkv::cpu::preferred_isa())), n_(bytes / sizeof(float)) {
  buf_.reset(n_ * sizeof(float));
  float* p = buf_.as<float>();
  pool_.parallel_for(kBlocks, [&](size_t b, int) {  // touched by the threads that read it
    for (size_t i = n_ * b / kBlocks; i < n_ * (b + 1) / kBlocks; i++) p[i] = 1.0f;
  });
}

Bandwidth ReadBandwidth::measure() {
  const float* p = buf_.as<float>();
  std::vector<float> sums(kBlocks);
  const double c0 = process_cpu_seconds();
  const double t0 = now_seconds();
  pool_.parallel_for(kBlocks, [&](size_t b, int) {
    const size_t i0 = n_ * b / kBlocks, i1 = n_ * (b + 1) / kBlocks;
    sums[b] = kernels_.stream_sum(p + i0, i1 - i0);
  });
  const double dt = now_seconds() - t0;
  const double dc = process_cpu_seconds() - c0;
  float total = 0;
  for (float s : sums) total += s;
  if (total != static_cast<float>(n_) && total < 1e6f)
    std::printf("bandwidth buffer corrupted\n");  // keeps the sums live
  const double gb = static_cast<double>(n_) * sizeof(float) / 1e9;
  // Per CPU second of the pool: scaled back to the pool's width, so it is comparable with the wall rate.
  return {gb / dt, gb / dc * pool_.size()};
}

GemmRate cpu_gemm_gflops(int M, int K, int N, int threads, const std::string& weights, int runs) {
  rwkv::cpu::ThreadPool pool(threads);
  rwkv::cpu::Gemm gemm(rwkv::cpu::kernels_for(rwkv::cpu::preferred_isa()), pool.size());
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> w(static_cast<size_t>(N) * K), a(static_cast<size_t>(M) * K), c(static_cast<size_t>(M) * N);
  for (auto& x : w) x = u(rng);
  for (auto& x : a) x = u(rng);
  rwkv::TensorView view;
  view.dtype = rwkv::DType::F32;
  view.shape = {N, K};
  view.data = reinterpret_cast<const uint8_t*>(w.data());
  rwkv::cpu::PackedMatrix b = rwkv::cpu::pack_out_in(view, parse_btype(weights), pool);
  rwkv::cpu::GemmJob job;
  job.M = M;
  job.a = a.data();
  job.lda = static_cast<size_t>(K);
  job.b = &b;
  job.c = c.data();
  job.ldc = static_cast<size_t>(N);
  const std::vector<double> t = time_runs(2, runs, [&] { gemm.run(pool, job); });
  const double flops = 2.0 * M * K * N;
  return {flops / median(t) / 1e9, flops / *std::min_element(t.begin(), t.end()) / 1e9};
}

int run_gemm(const Args& args) {
  const int M = static_cast<int>(args.num("m", 1024)), K = static_cast<int>(args.num("k", 768)),
            N = static_cast<int>(args.num("n", 3072));
  const int threads = static_cast<int>(args.num("threads", 0));
  const int runs = static_cast<int>(args.num("runs", 9));
  const std::string weights = args.str("weights", "f32");
  args.reject_unused();
  rwkv::cpu::ThreadPool probe(threads);
  const int used = probe.size();
  const GemmRate g = cpu_gemm_gflops(M, K, N, threads, weights, runs);
  std::printf("CPU GEMM %dx%dx%d, %s weights, %d threads (%s): %.1f GFLOP/s (median of %d; best %.1f)\n", M, K, N,
              weights.c_str(), used, rwkv::cpu::isa_name(rwkv::cpu::preferred_isa()), g.median, runs, g.best);
  JsonLine j;
  j.add("bench", "gemm").add("m", M).add("k", K).add("n", N).add("weights", weights).add("threads", used);
  j.add("isa", rwkv::cpu::isa_name(rwkv::cpu::preferred_isa())).add("gflops", g.median).add("gflops_best", g.best);
  j.add("cpu_model", cpu_model_name());
  std::printf("%s\n", j.str().c_str());
  return 0;
}

}  // namespace rwkv_bench
