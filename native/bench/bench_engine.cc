#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
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
  std::shared_ptr<rwkv::Model> model;
  std::vector<float> state;  // after the prefill; decoding continues from it
  double load_s = 0;
  double prefill_tok_s = 0;
  double bytes_per_step = 0;
  std::vector<double> round_tok_s, round_fraction;  // per decode round
  std::vector<double> round_fraction_cpu;           // the same ratio in CPU seconds (bench_commands.h)
  std::vector<double> steps;                        // every decode step's seconds
  double decode_tok_s = 0, decode_ms = 0, roofline_fraction = 0, roofline_fraction_cpu = 0;
};

rwkv::WeightType parse_weights(const std::string& w) {
  if (w == "f32") return rwkv::WeightType::F32;
  if (w == "bf16") return rwkv::WeightType::BF16;
  if (w == "f16") return rwkv::WeightType::F16;
  if (w == "int8") return rwkv::WeightType::I8;
  throw rwkv::Error(rwkv::code::kArgument, "weights must be f32, bf16, f16 or int8, got " + w);
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

// Bytes one decode step reads from memory: every matrix as packed (output columns padded to the 32-column
// panel; int8 adds a 4-byte scale per column), once for all streams, and each stream's state (state_floats
// of them all together), read and written back. The
// activations and one embedding row are a few KiB and left out.
double decode_bytes_per_step(const rwkv::ModelConfig& c, size_t state_floats, const std::string& w) {
  const double esz = w == "f32" ? 4 : w == "int8" ? 1 : 2;
  const double scale = w == "int8" ? 4 : 0;
  auto matrix = [&](double K, double N) {
    const double padded = std::ceil(N / 32) * 32;
    return padded * K * esz + padded * scale;
  };
  const double C = c.n_embd, F = c.ffn;
  double bytes = matrix(C, c.vocab_size);
  for (const auto& r : c.ranks) {
    bytes += 4 * matrix(C, C) + matrix(C, F) + matrix(F, C);
    for (int rank : {r.w, r.a, r.g, r.v})
      if (rank > 0) bytes += matrix(C, rank) + matrix(rank, C);
  }
  return bytes + 2.0 * 4 * static_cast<double>(state_floats);
}

std::string roofline_suffix(const std::string& w) { return w == "f32" ? "_fp32" : "_" + w; }

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
  const int rounds = static_cast<int>(std::max(1L, args.num("rounds", 5)));
  const int batch = static_cast<int>(std::max(1L, args.num("batch", 1)));
  const int threads = static_cast<int>(args.num("threads", 0));
  const long bw_mib = std::max(64L, args.num("bandwidth-mib", 512));
  const std::string device = args.str("device", "cpu");
  const std::vector<std::string> weight_list = split(args.str("weights", "f32,bf16,f16,int8"), ',');
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

  // The CPU ceilings: the engine's own GEMM on a layer-sized product (prefill), and the read bandwidth of
  // the same threads (decode, which streams the weights once per token).
  GemmRate gemm;
  const bool cpu = device == "cpu";
  if (cpu) {
    gemm = cpu_gemm_gflops(chunk, shape.n_embd, shape.ffn, threads, "f32", 9);
    std::printf("fp32 GEMM %dx%dx%d: %.1f GFLOP/s (median of 9; best %.1f)\n", chunk, shape.n_embd, shape.ffn,
                gemm.median, gemm.best);
  }
  const double gemm_gflops = gemm.median;
  std::unique_ptr<ReadBandwidth> bandwidth;
  if (cpu) bandwidth = std::make_unique<ReadBandwidth>(threads, static_cast<size_t>(bw_mib) << 20);

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
    r.model = rwkv::load_model(file, opts);
    r.load_s = now_seconds() - tl;
    config = r.model->config();
    fingerprint = r.model->fingerprint();
    const size_t V = static_cast<size_t>(config.vocab_size);
    r.bytes_per_step = decode_bytes_per_step(config, r.model->state_floats() * batch, w);

    // Prefill: chunks of one sequence with the state carried, logits of the last token only.
    r.state.assign(r.model->state_floats(), 0.0f);
    std::vector<float> logits(V);
    std::vector<double> times;
    for (int c = 0; c < chunks; c++) {
      rwkv::Sequence s{tokens.data() + static_cast<size_t>(c) * chunk, static_cast<size_t>(chunk), r.state.data(),
                       rwkv::LogitsMode::Last, logits.data()};
      double ts = now_seconds();
      r.model->forward({s});
      if (c > 0) times.push_back(now_seconds() - ts);
    }
    r.prefill_tok_s = chunk / median(times);
    results.push_back(std::move(r));
  }

  // Decode: `batch` streams continuing from each prefilled state, one token each per step. The weight types
  // take turns within each round, each round starting with a bandwidth measurement, so every type's rate is
  // compared with the ceiling of the same moment on a machine whose load changes.
  std::vector<double> bw_rounds, bw_cpu_rounds;
  for (int round = 0; round < rounds; round++) {
    const Bandwidth bwm = cpu ? bandwidth->measure() : Bandwidth{};
    const double bw = bwm.wall_gbs;
    bw_rounds.push_back(bw);
    bw_cpu_rounds.push_back(bwm.cpu_gbs);
    for (Result& r : results) {
      const size_t V = static_cast<size_t>(config.vocab_size);
      std::vector<std::vector<float>> states(static_cast<size_t>(batch), r.state);
      std::vector<std::vector<float>> outs(static_cast<size_t>(batch), std::vector<float>(V));
      std::vector<int32_t> next(static_cast<size_t>(batch));
      const int warm = 2;
      double td = 0, cpu_s = 0;
      for (int i = 0; i < warm + decode; i++) {
        std::vector<rwkv::Sequence> seqs;
        for (int b = 0; b < batch; b++) {
          next[static_cast<size_t>(b)] = static_cast<int32_t>(rng() % V);
          seqs.push_back({&next[static_cast<size_t>(b)], 1, states[static_cast<size_t>(b)].data(),
                          rwkv::LogitsMode::Last, outs[static_cast<size_t>(b)].data()});
        }
        const double cs = process_cpu_seconds();
        const double ts = now_seconds();
        r.model->forward(seqs);
        const double dt = now_seconds() - ts;
        if (i >= warm) {
          r.steps.push_back(dt);
          td += dt;
          cpu_s += process_cpu_seconds() - cs;
        }
      }
      const double tok_s = static_cast<double>(decode) * batch / td;
      r.round_tok_s.push_back(tok_s);
      if (cpu) {
        r.round_fraction.push_back(tok_s * r.bytes_per_step / batch / (bw * 1e9));
        const double steps_per_cpu_s = decode / cpu_s * bandwidth->threads();
        r.round_fraction_cpu.push_back(steps_per_cpu_s * r.bytes_per_step / (bwm.cpu_gbs * 1e9));
      }
    }
  }
  const double bw_gbs = cpu ? median(bw_rounds) : 0.0;
  for (Result& r : results) {
    r.decode_tok_s = median(r.round_tok_s);
    r.decode_ms = median(r.steps) * 1e3;
    r.roofline_fraction = cpu ? median(r.round_fraction) : 0.0;
    r.roofline_fraction_cpu = cpu ? median(r.round_fraction_cpu) : 0.0;
  }

  const double flops = layer_flops_per_token(config) + 2.0 * config.vocab_size * config.n_embd / chunk;
  if (cpu) {
    std::printf(
        "read bandwidth, %d threads, %ld MiB: %.1f GB/s, %.1f GB per CPU second x %d threads (medians of %d "
        "rounds, one before each decode round)\n",
        used_threads, bw_mib, bw_gbs, median(bw_cpu_rounds), bandwidth->threads(), rounds);
  }
  std::printf("\n%-8s %8s %14s %10s %10s %14s %12s %12s %13s %10s %12s\n", "weights", "load s", "prefill tok/s",
              "GFLOP/s", "of GEMM", "decode tok/s", "ms/step", "MB/step", "roofline tok/s", "of roof", "of roof cpu");
  for (const Result& r : results) {
    const double gf = r.prefill_tok_s * flops / 1e9;
    const double roof = cpu ? bw_gbs * 1e9 / r.bytes_per_step * batch : 0.0;
    std::printf("%-8s %8.2f %14.1f %10.1f %9.0f%% %14.1f %12.2f %12.1f %13.1f %9.0f%% %11.0f%%\n", r.weights.c_str(),
                r.load_s, r.prefill_tok_s, gf, cpu ? 100.0 * gf / gemm_gflops : 0.0, r.decode_tok_s, r.decode_ms,
                r.bytes_per_step / 1e6, roof, 100.0 * r.roofline_fraction, 100.0 * r.roofline_fraction_cpu);
  }
  std::printf(
      "prefill: %d-token chunks, logits of the last token; FLOPs/token %.1fM (layers + head once per chunk); "
      "decode: %d rounds x %d steps x %d stream(s), medians of the rounds; roofline: read bandwidth / "
      "bytes a step reads (\"of roof\" is the median of each round's ratio; \"of roof cpu\" the same in CPU "
      "seconds, which leaves out the time other processes took on a shared machine)\n",
      chunk, flops / 1e6, rounds, decode, batch);

  JsonLine j;
  j.add("bench", "engine").add("device", device).add("cpu_model", cpu_model_name()).add("threads", used_threads);
  j.add("isa", rwkv::cpu::isa_name(rwkv::cpu::preferred_isa()));
  j.add("n_layer", shape.n_layer).add("n_embd", shape.n_embd).add("vocab", shape.vocab_size).add("ffn", shape.ffn);
  j.add("chunk", chunk).add("decode_steps", decode).add("decode_rounds", rounds).add("batch", batch);
  j.add("flops_per_token", flops);
  if (cpu) {
    j.add("gemm_gflops", gemm_gflops).add("gemm_gflops_best", gemm.best);
    j.add("read_gbs", bw_gbs).add("read_gbs_best", *std::max_element(bw_rounds.begin(), bw_rounds.end()));
    j.add("read_gbs_per_cpu_s", median(bw_cpu_rounds));
  } else {
    j.add_null("gemm_gflops").add_null("read_gbs");
  }
  for (const Result& r : results) {
    const std::string sfx = r.weights == "f32" ? "" : "_" + r.weights;
    j.add("prefill_tok_s" + sfx, r.prefill_tok_s).add("decode_tok_s" + sfx, r.decode_tok_s);
    j.add("decode_ms" + sfx, r.decode_ms).add("load_s" + sfx, r.load_s);
    j.add("decode_bytes_per_step" + roofline_suffix(r.weights), r.bytes_per_step);
    if (cpu) {
      j.add("prefill_gemm_fraction" + sfx, r.prefill_tok_s * flops / 1e9 / gemm_gflops);
      j.add("decode_roofline_fraction" + roofline_suffix(r.weights), r.roofline_fraction);
      j.add("decode_roofline_fraction_cpu" + roofline_suffix(r.weights), r.roofline_fraction_cpu);
    } else {
      j.add_null("prefill_gemm_fraction" + sfx).add_null("decode_roofline_fraction" + roofline_suffix(r.weights));
    }
  }
  j.add("fingerprint", fingerprint);
  std::printf("%s\n", j.str().c_str());
  return 0;
}

}  // namespace rwkv_bench
