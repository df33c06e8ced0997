#include <algorithm>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench_commands.h"
#include "cpu/isa.h"
#include "cpu/threadpool.h"
#include "rwkv/error.h"
#include "rwkv/model.h"

namespace rwkv_bench {

namespace {

struct Result {
  std::string weights;
  double load_s = 0;
  double prefill_tok_s = 0;
  double decode_tok_s = 0;
  double decode_ms = 0;  // median latency of one decode step (all streams)
};

rwkv::WeightType parse_weights(const std::string& w) {
  if (w == "f32") return rwkv::WeightType::F32;
  if (w == "bf16") return rwkv::WeightType::BF16;
  if (w == "f16") return rwkv::WeightType::F16;
  throw rwkv::Error(rwkv::code::kArgument, "weights must be f32, bf16 or f16, got " + w);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, sep);)
    if (!item.empty()) out.push_back(item);
  return out;
}

// Multiply-adds per token of the layers' matrices (every projection and LoRA), and of the head.
double layer_flops_per_token(const rwkv::ModelConfig& c) {
  double params = 0;
  const double C = c.n_embd, F = c.ffn;
  for (const auto& r : c.ranks) params += 4 * C * C + 2 * C * F + 2 * C * (r.w + r.a + r.g + r.v);
  return 2 * params;
}

}  // namespace

int run_engine(const Args& args) {
  rwkv::RandomModelShape shape;
  shape.n_layer = static_cast<int>(args.num("layers", 12));
  shape.n_embd = static_cast<int>(args.num("embd", 768));
  shape.vocab_size = static_cast<int>(args.num("vocab", 65536));
  shape.ffn = static_cast<int>(args.num("ffn", 3072));
  shape.head_size = static_cast<int>(args.num("head-size", 64));
  shape.rank_w = static_cast<int>(args.num("rank-w", 64));
  shape.rank_a = static_cast<int>(args.num("rank-a", 64));
  shape.rank_v = static_cast<int>(args.num("rank-v", 32));
  shape.rank_g = static_cast<int>(args.num("rank-g", 128));
  const int chunk = static_cast<int>(args.num("chunk", 1024));
  const int chunks = static_cast<int>(std::max(2L, args.num("chunks", 5)));  // the first one warms up
  const int decode = static_cast<int>(std::max(1L, args.num("decode", 64)));
  const int batch = static_cast<int>(std::max(1L, args.num("batch", 1)));
  const int threads = static_cast<int>(args.num("threads", 0));
  const std::string device = args.str("device", "cpu");
  const std::vector<std::string> weight_list = split(args.str("weights", "f32,bf16"), ',');
  const uint64_t seed = static_cast<uint64_t>(args.num("seed", 1));
  args.reject_unused();

  const int used_threads = threads > 0 ? threads : rwkv::cpu::available_cpus();
  std::printf("rwkv_bench engine: random RWKV-7 L%d C%d V%d F%d ranks %d/%d/%d/%d, device %s, %d threads\n",
              shape.n_layer, shape.n_embd, shape.vocab_size, shape.ffn, shape.rank_w, shape.rank_a, shape.rank_v,
              shape.rank_g, device.c_str(), used_threads);
  std::printf("cpu: %s, isa %s\n", cpu_model_name().c_str(), rwkv::cpu::isa_name(rwkv::cpu::preferred_isa()));

  double t0 = now_seconds();
  auto file = rwkv::random_rwkv7_tensors(shape, seed);
  std::printf("random weights: %.2f s\n", now_seconds() - t0);

  // The CPU ceiling the prefill is compared with: the engine's own GEMM on a layer-sized product.
  GemmRate gemm;
  const bool cpu = device == "cpu";
  if (cpu) {
    gemm = cpu_gemm_gflops(chunk, shape.n_embd, shape.ffn, threads, "f32", 9);
    std::printf("fp32 GEMM %dx%dx%d: %.1f GFLOP/s (median of 9; best %.1f)\n", chunk, shape.n_embd, shape.ffn,
                gemm.median, gemm.best);
  }
  const double gemm_gflops = gemm.median;

  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::vector<int32_t> tokens(static_cast<size_t>(chunk) * chunks);
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % static_cast<uint32_t>(shape.vocab_size));

  std::vector<Result> results;
  rwkv::ModelConfig config;
  std::string fingerprint;
  for (const std::string& w : weight_list) {
    Result r;
    r.weights = w;
    rwkv::EngineOptions opts;
    opts.weights = parse_weights(w);
    opts.threads = threads;
    opts.device = device;
    double tl = now_seconds();
    std::shared_ptr<rwkv::Model> model = rwkv::load_model(file, opts);
    r.load_s = now_seconds() - tl;
    config = model->config();
    fingerprint = model->fingerprint();
    const size_t V = static_cast<size_t>(config.vocab_size);

    // Prefill: chunks of one sequence with the state carried, logits of the last token only.
    std::vector<float> state(model->state_floats(), 0.0f), logits(V);
    std::vector<double> times;
    for (int c = 0; c < chunks; c++) {
      rwkv::Sequence s{tokens.data() + static_cast<size_t>(c) * chunk, static_cast<size_t>(chunk), state.data(),
                       rwkv::LogitsMode::Last, logits.data()};
      double ts = now_seconds();
      model->forward({s});
      if (c > 0) times.push_back(now_seconds() - ts);
    }
    r.prefill_tok_s = chunk / median(times);

    // Decode: `batch` streams continuing from the prefilled state, one token each per step.
    std::vector<std::vector<float>> states(static_cast<size_t>(batch), state);
    std::vector<std::vector<float>> outs(static_cast<size_t>(batch), std::vector<float>(V));
    std::vector<int32_t> next(static_cast<size_t>(batch));
    std::vector<double> steps;
    const int warm = 4;
    double td = 0;
    for (int i = 0; i < warm + decode; i++) {
      std::vector<rwkv::Sequence> seqs;
      for (int b = 0; b < batch; b++) {
        next[static_cast<size_t>(b)] = static_cast<int32_t>(rng() % V);
        seqs.push_back({&next[static_cast<size_t>(b)], 1, states[static_cast<size_t>(b)].data(), rwkv::LogitsMode::Last,
                        outs[static_cast<size_t>(b)].data()});
      }
      double ts = now_seconds();
      model->forward(seqs);
      double dt = now_seconds() - ts;
      if (i >= warm) {
        steps.push_back(dt);
        td += dt;
      }
    }
    r.decode_tok_s = static_cast<double>(decode) * batch / td;
    r.decode_ms = median(steps) * 1e3;
    results.push_back(r);
  }

  const double flops = layer_flops_per_token(config) + 2.0 * config.vocab_size * config.n_embd / chunk;
  std::printf("\n%-8s %8s %14s %10s %10s %14s %12s\n", "weights", "load s", "prefill tok/s", "GFLOP/s", "of GEMM",
              "decode tok/s", "ms/step");
  for (const Result& r : results) {
    const double gf = r.prefill_tok_s * flops / 1e9;
    std::printf("%-8s %8.2f %14.1f %10.1f %9.0f%% %14.1f %12.2f\n", r.weights.c_str(), r.load_s, r.prefill_tok_s, gf,
                cpu ? 100.0 * gf / gemm_gflops : 0.0, r.decode_tok_s, r.decode_ms);
  }
  std::printf("prefill: %d-token chunks, logits of the last token; FLOPs/token %.1fM (layers + head once per chunk); "
              "decode: %d steps x %d stream(s)\n",
              chunk, flops / 1e6, decode, batch);

  JsonLine j;
  j.add("bench", "engine").add("device", device).add("cpu_model", cpu_model_name()).add("threads", used_threads);
  j.add("isa", rwkv::cpu::isa_name(rwkv::cpu::preferred_isa()));
  j.add("n_layer", shape.n_layer).add("n_embd", shape.n_embd).add("vocab", shape.vocab_size).add("ffn", shape.ffn);
  j.add("chunk", chunk).add("decode_steps", decode).add("batch", batch).add("flops_per_token", flops);
  if (cpu) j.add("gemm_gflops", gemm_gflops).add("gemm_gflops_best", gemm.best);
  else j.add_null("gemm_gflops");
  for (const Result& r : results) {
    const std::string sfx = r.weights == "f32" ? "" : "_" + r.weights;
    j.add("prefill_tok_s" + sfx, r.prefill_tok_s).add("decode_tok_s" + sfx, r.decode_tok_s);
    j.add("decode_ms" + sfx, r.decode_ms).add("load_s" + sfx, r.load_s);
    if (cpu) j.add("prefill_gemm_fraction" + sfx, r.prefill_tok_s * flops / 1e9 / gemm_gflops);
    else j.add_null("prefill_gemm_fraction" + sfx);
  }
  j.add("fingerprint", fingerprint);
  std::printf("%s\n", j.str().c_str());
  return 0;
}

}  // namespace rwkv_bench
