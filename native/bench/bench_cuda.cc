// `rwkv_bench cuda`: throughput of the CUDA backend on random models of the released shapes (0.1B, 1.5B,
// 7.2B), each figure beside its roofline measured in the same run:
//   prefill roofline = measured bf16 GEMM rate / (2 * layer-matrix parameters) tokens/s (the head is not run
//                      per prefill token, and the embedding is a lookup);
//   decode roofline  = B * measured copy bandwidth / bytes of all matrices read per step (head included).
// Prefill: one long stream through Model::forward (host state, as an application would feed a document),
// and 64 streams through device-resident state slots. Decode: batch 1, 64 and 256 through slots, logits of
// every stream copied to host memory each step (the public semantics), and again with the logits left on
// the device (what a device-side sampler would see).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bench_commands.h"
#include "rwkv/error.h"
#include "rwkv/model.h"

#include "cuda/cuda_backend.h"

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Low-rank widths suggested by the training code (docs/rwkv7-spec.md §1): max(32, round(m*sqrt(C)/32)*32).
int lora_rank(double m, int C) { return std::max(32, static_cast<int>(std::lround(m * std::sqrt(C) / 32.0)) * 32); }

struct Size {
  std::string name;
  rwkv::RandomModelShape shape;
  size_t long_tokens;   // one-stream prefill
  size_t chunk;         // tokens per forward call of the long stream
  size_t multi_tokens;  // tokens per stream in the 64-stream prefill
};

Size make_size(const std::string& name, int L, int C, size_t long_tokens, size_t chunk, size_t multi_tokens) {
  Size s;
  s.name = name;
  s.shape.n_layer = L;
  s.shape.n_embd = C;
  s.shape.head_size = 64;
  s.shape.vocab_size = 65536;
  s.shape.ffn = 4 * C;
  s.shape.rank_w = lora_rank(2.5, C);
  s.shape.rank_a = lora_rank(2.5, C);
  s.shape.rank_v = lora_rank(1.7, C);
  s.shape.rank_g = lora_rank(5.0, C);
  s.long_tokens = long_tokens;
  s.chunk = chunk;
  s.multi_tokens = multi_tokens;
  return s;
}

// Parameters of the per-layer matrices (the FLOPs of a prefill token are twice this).
double layer_params(const rwkv::RandomModelShape& s) {
  const double C = s.n_embd, F = s.ffn;
  double p = 0;
  for (int l = 0; l < s.n_layer; l++) {
    const double lora = s.rank_w + s.rank_a + s.rank_g + (l ? s.rank_v : 0);
    p += 4 * C * C + 2 * C * F + 2 * C * lora;
  }
  return p;
}

std::vector<int32_t> random_tokens(size_t n, int V, uint32_t seed) {
  std::mt19937 g(seed);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = static_cast<int32_t>(g() % V);
  return t;
}

struct Row {
  std::string what;
  double tps, roof;
};

void print_row(const Row& r) {
  std::printf("  %-52s %12.0f tok/s   roofline %12.0f   (%5.1f%%)\n", r.what.c_str(), r.tps, r.roof,
              100.0 * r.tps / r.roof);
  std::fflush(stdout);
}

// `only`: "all", "prefill", "decode" or "decode1" (batch-1 decode alone, for profiling one step).
void bench_size(const Size& sz, const rwkv::CudaDeviceRates& rates, rwkv::WeightType wt, bool quick,
                const std::string& only, std::vector<Row>& table) {
  const bool prefill = only == "all" || only == "prefill";
  const bool decode = only == "all" || only == "decode" || only == "decode1";
  rwkv::EngineOptions o;
  o.device = "cuda";
  o.weights = wt;
  auto t0 = Clock::now();
  auto m = rwkv::make_cuda_random_model(sz.shape, 7, o);
  const double P = layer_params(sz.shape);
  const int V = sz.shape.vocab_size;
  const double es = wt == rwkv::WeightType::F32 ? 4 : 2;
  const double matrix_bytes = (P + static_cast<double>(V) * sz.shape.n_embd) * es;  // layers + head
  const double state_bytes = static_cast<double>(m->state_floats()) * 4;
  std::printf(
      "\n%s: L%d C%d F%d V%d ranks w%d a%d v%d g%d; %.2fB layer params, %.2f GB matrices, state %.1f MB, "
      "built in %.1f s, %d rows per round\n",
      sz.name.c_str(), sz.shape.n_layer, sz.shape.n_embd, sz.shape.ffn, V, sz.shape.rank_w, sz.shape.rank_a,
      sz.shape.rank_v, sz.shape.rank_g, P / 1e9, matrix_bytes / 1e9, state_bytes / 1e6, seconds_since(t0),
      m->max_rows());
  const double prefill_roof = rates.bf16_gemm_tflops * 1e12 / (2 * P);
  auto add = [&](const std::string& what, double tps, double roof) {
    table.push_back({sz.name + " " + what, tps, roof});
    print_row(table.back());
  };

  // One long stream: the document in forward() calls of `chunk` tokens, host state carried between calls.
  if (prefill) {
    const size_t total = quick ? std::min<size_t>(sz.long_tokens, 8 * sz.chunk) : sz.long_tokens;
    const std::vector<int32_t> toks = random_tokens(sz.chunk, V, 1);
    std::vector<float> state(m->state_floats(), 0.f), logits(V);
    rwkv::Sequence warm{toks.data(), std::min<size_t>(sz.chunk, 256), state.data(), rwkv::LogitsMode::None, nullptr};
    m->forward({warm});
    std::fill(state.begin(), state.end(), 0.f);
    t0 = Clock::now();
    for (size_t done = 0; done < total; done += sz.chunk) {
      const size_t n = std::min(sz.chunk, total - done);
      const bool last = done + n == total;
      rwkv::Sequence s{toks.data(), n, state.data(), last ? rwkv::LogitsMode::Last : rwkv::LogitsMode::None,
                       last ? logits.data() : nullptr};
      m->forward({s});
    }
    const double dt = seconds_since(t0);
    char what[128];
    std::snprintf(what, sizeof what, "prefill 1 stream, %zu tokens (%.2f s)", total, dt);
    add(what, total / dt, prefill_roof);
  }

  // 64 streams at once, states resident on the device.
  const int kMaxB = 256;
  const int first = m->add_slots(kMaxB);
  if (prefill) {
    const int B = 64;
    const size_t n = sz.multi_tokens;
    std::vector<std::vector<int32_t>> toks;
    for (int b = 0; b < B; b++) toks.push_back(random_tokens(n, V, 10 + b));
    std::vector<std::vector<float>> logits(B, std::vector<float>(V));
    auto call = [&](size_t len) {
      std::vector<rwkv::CudaModel::SlotSequence> seqs;
      for (int b = 0; b < B; b++)
        seqs.push_back({toks[b].data(), len, first + b, rwkv::LogitsMode::Last, logits[b].data()});
      m->forward_slots(seqs);
    };
    call(16);
    const int reps = quick ? 1 : 2;
    t0 = Clock::now();
    for (int r = 0; r < reps; r++) call(n);
    const double dt = seconds_since(t0);
    char what[128];
    std::snprintf(what, sizeof what, "prefill 64 streams x %zu tokens", n);
    add(what, reps * B * n / dt, prefill_roof);
  }

  // Decode: one token per stream per call.
  for (int B : {1, 64, 256}) {
    if (!decode || (only == "decode1" && B != 1)) continue;
    for (int s = 0; s < B; s++) m->write_slot(first + s, nullptr);
    const int steps = quick ? 4 : B == 1 ? 64 : B == 64 ? 32 : 16;
    std::vector<int32_t> toks = random_tokens(static_cast<size_t>(B) * (steps + 2), V, 99);
    std::vector<float> logits(static_cast<size_t>(B) * V);
    for (bool to_host : {true, false}) {
      if (only == "decode1" && !to_host) continue;
      auto step = [&](int i) {
        std::vector<rwkv::CudaModel::SlotSequence> seqs;
        for (int b = 0; b < B; b++)
          seqs.push_back({&toks[static_cast<size_t>(i) * B + b], 1, first + b, rwkv::LogitsMode::Last,
                          to_host ? logits.data() + static_cast<size_t>(b) * V : nullptr});
        m->forward_slots(seqs);
      };
      step(0);
      step(1);  // the first call captured the graph; time replays only
      t0 = Clock::now();
      for (int i = 0; i < steps; i++) step(2 + i % steps);
      const double dt = seconds_since(t0);
      const double bw_roof = B * rates.copy_gbps * 1e9 / matrix_bytes;
      const double flop_roof = B * prefill_roof;  // at large B the step is a GEMM like prefill
      char what[128];
      std::snprintf(what, sizeof what, "decode batch %d%s (%.2f ms/step)", B, to_host ? "" : ", logits on device",
                    1e3 * dt / steps);
      add(what, static_cast<double>(B) * steps / dt, std::min(bw_roof, flop_roof));
    }
  }
  // The public API with host states: every step moves each stream's state over PCIe both ways.
  if (only == "all" || only == "decode") {
    std::vector<float> state(m->state_floats(), 0.f), logits(V);
    const int steps = quick ? 4 : 16;
    std::vector<int32_t> toks = random_tokens(steps + 1, V, 5);
    rwkv::Sequence s{toks.data(), 1, state.data(), rwkv::LogitsMode::Last, logits.data()};
    m->forward({s});
    t0 = Clock::now();
    for (int i = 0; i < steps; i++) {
      s.tokens = &toks[1 + i];
      m->forward({s});
    }
    const double dt = seconds_since(t0);
    char what[128];
    std::snprintf(what, sizeof what, "decode batch 1 via forward() (host state %.0f MB)", state_bytes / 1e6);
    add(what, steps / dt, rates.copy_gbps * 1e9 / matrix_bytes);
  }
}

}  // namespace

namespace rwkv_bench {

int run_cuda(const Args& args) {
  std::vector<std::string> sizes;
  const std::string list = args.str("sizes", "0.1b,1.5b,7.2b");
  for (size_t p = 0; p <= list.size();) {
    size_t q = list.find(',', p);
    if (q == std::string::npos) q = list.size();
    if (q > p) sizes.push_back(list.substr(p, q - p));
    p = q + 1;
  }
  const std::string w = args.str("weights", "bf16");
  const rwkv::WeightType wt = w == "f16"   ? rwkv::WeightType::F16
                              : w == "f32" ? rwkv::WeightType::F32
                                           : rwkv::WeightType::BF16;
  const bool quick = args.flag("quick");
  const std::string only = args.str("only", "all");
  args.reject_unused();
  if (w != "bf16" && w != "f16" && w != "f32")
    throw rwkv::Error(rwkv::code::kArgument, "--weights takes bf16, f16 or f32");
  if (only != "all" && only != "prefill" && only != "decode" && only != "decode1")
    throw rwkv::Error(rwkv::code::kArgument, "--only takes all, prefill, decode or decode1");

  JsonLine json;
  json.add("bench", "cuda");
  std::string why;
  if (rwkv::cuda_device_count(&why) == 0) {
    std::printf("cuda bench skipped: %s\n", why.c_str());
    json.add("skipped", why);
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  const rwkv::CudaDeviceRates rates = rwkv::measure_cuda_device(0);
  std::printf("device: %s, %d SMs; measured bf16 GEMM %.0f TFLOP/s (8192^3), device copy %.0f GB/s (read+write)\n",
              rates.name.c_str(), rates.sm_count, rates.bf16_gemm_tflops, rates.copy_gbps);
  std::vector<Row> table;
  for (const std::string& s : sizes) {
    Size sz;
    if (s == "0.1b")
      sz = make_size("0.1B", 12, 768, 1000000, 16384, 1024);
    else if (s == "1.5b")
      sz = make_size("1.5B", 24, 2048, 131072, 16384, 512);
    else if (s == "7.2b")
      sz = make_size("7.2B", 32, 4096, 65536, 16384, 512);
    else
      throw rwkv::Error(rwkv::code::kArgument, "unknown size " + s + " (0.1b, 1.5b, 7.2b)");
    try {
      bench_size(sz, rates, wt, quick, only, table);
    } catch (const rwkv::Error& e) {
      std::printf("%s: failed: %s (%s)\n", sz.name.c_str(), e.what(), e.code().c_str());
    }
  }
  std::printf("\nsummary (%s weights)\n", w.c_str());
  for (const Row& r : table) print_row(r);

  json.add("device", rates.name).add("weights", w).add("bf16_gemm_tflops", rates.bf16_gemm_tflops);
  json.add("copy_gbps", rates.copy_gbps);
  std::string rows = "[";
  for (const Row& r : table) {
    if (rows.size() > 1) rows += ",";
    JsonLine j;
    j.add("what", r.what).add("tokens_per_s", r.tps).add("roofline", r.roof);
    rows += j.str();
  }
  json.add_raw("results", rows + "]");
  std::printf("%s\n", json.str().c_str());
  return 0;
}

}  // namespace rwkv_bench
