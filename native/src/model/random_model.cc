// random_rwkv7_tensors: a random RWKV-7 checkpoint in the official names and shapes, for benchmarks and
// backend parity tests. The scales follow the spirit of the training initialization (token-shift ramps over
// the channels, per-channel decay biases from about -6.5 to -1.5, GroupNorm weights growing with depth), but
// every matrix is random and non-zero so all terms of the forward pass are exercised, and the scales are
// chosen so each projection lands around unit variance (realistic activations). Values are rounded to bf16
// and stored as bf16, like the released checkpoints. The stream comes from splitmix64 and all transcendental
// functions are computed here, so the weights are identical on every platform and library version.
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include "rwkv/error.h"
#include "rwkv/model.h"
#include "rwkv/tensor_file.h"
#include "util/hash.h"

namespace rwkv {

namespace {

struct SplitMix64 {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [-1, 1) with 24 random bits.
  double uniform() { return static_cast<double>(next() >> 40) * (2.0 / 16777216.0) - 1.0; }
};

// exp and log from basic IEEE arithmetic (no library calls), accurate to a few ulp of double, far below the
// bf16 rounding applied to every value.
double det_exp(double x) {
  const double ln2 = 0.69314718055994530942;
  double k = std::nearbyint(x / ln2);
  double r = x - k * ln2;
  double term = 1.0, sum = 1.0;
  for (int i = 1; i < 24; i++) {
    term *= r / i;
    sum += term;
  }
  return std::ldexp(sum, static_cast<int>(k));
}

double det_log(double x) {
  int e = 0;
  double m = std::frexp(x, &e);  // x = m * 2^e, m in [0.5, 1)
  if (m < 0.70710678118654752440) {
    m *= 2.0;
    e -= 1;
  }
  double s = (m - 1.0) / (m + 1.0), s2 = s * s, term = s, sum = 0.0;
  for (int i = 1; i < 60; i += 2) {
    sum += term / i;
    term *= s2;
  }
  return 2.0 * sum + e * 0.69314718055994530942;
}

double det_pow(double base, double p) { return base <= 0.0 ? 0.0 : det_exp(p * det_log(base)); }

uint16_t to_bf16(double v) {
  float f = static_cast<float>(v);
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// Value of element i, given a uniform draw u in [-1, 1) for it: center + u * spread, plus offset(i)
// when given (the per-channel ramps; only vectors have one, so the big matrices avoid the indirect call).
struct Spec {
  std::string name;
  std::vector<int64_t> shape;
  double center = 0, spread = 0;
  std::function<double(int64_t i)> offset;
};

}  // namespace

std::shared_ptr<const TensorFile> random_rwkv7_tensors(const RandomModelShape& s, uint64_t seed) {
  if (s.n_layer <= 0 || s.n_embd <= 0 || s.head_size <= 0 || s.n_embd % s.head_size != 0 || s.vocab_size <= 0 ||
      s.ffn <= 0 || s.rank_w <= 0 || s.rank_a <= 0 || s.rank_v <= 0 || s.rank_g <= 0) {
    throw Error(code::kArgument, "random model: dimensions must be positive and n_embd a multiple of head_size");
  }
  const int64_t C = s.n_embd, N = s.head_size, H = C / N, V = s.vocab_size, F = s.ffn;
  const int L = s.n_layer;
  const double inv_sqrt_c = std::sqrt(3.0 / static_cast<double>(C));  // uniform with variance 1/C
  std::vector<Spec> specs;
  auto uniform = [&](const std::string& name, std::vector<int64_t> shape, double scale) {
    specs.push_back({name, std::move(shape), 0.0, scale, nullptr});
  };
  auto around = [&](const std::string& name, std::vector<int64_t> shape, double center, double spread) {
    specs.push_back({name, std::move(shape), center, spread, nullptr});
  };
  auto channel_vec = [&](const std::string& name, double spread, std::function<double(int64_t)> f) {
    specs.push_back({name, {1, 1, C}, 0.0, spread, std::move(f)});
  };
  auto ln = [&](const std::string& prefix) {
    around(prefix + ".weight", {C}, 1.0, 0.1);
    uniform(prefix + ".bias", {C}, 0.05);
  };

  uniform("emb.weight", {V, C}, 1.0);
  for (int i = 0; i < L; i++) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    const double r01 = L > 1 ? static_cast<double>(i) / (L - 1) : 0.0;
    const double r10 = 1.0 - static_cast<double>(i) / L;
    auto ramp = [C, r10](double p) {
      return [C, r10, p](int64_t c) { return 1.0 - det_pow(static_cast<double>(c) / C, p * r10); };
    };
    if (i == 0) ln(b + "ln0");
    ln(b + "ln1");
    ln(b + "ln2");
    channel_vec(b + "att.x_r", 0.0, ramp(0.2));
    channel_vec(b + "att.x_w", 0.0, ramp(0.9));
    channel_vec(b + "att.x_k", 0.0, ramp(0.7));
    channel_vec(b + "att.x_v", 0.0, ramp(0.7));
    channel_vec(b + "att.x_a", 0.0, ramp(0.9));
    channel_vec(b + "att.x_g", 0.0, ramp(0.2));
    channel_vec(b + "att.w0", 0.1, [C, r01](int64_t c) {
      double x = C > 1 ? static_cast<double>(c) / (C - 1) : 0.0;
      return -7.0 + 5.0 * det_pow(x, 0.85 + std::sqrt(r01)) + 0.5;
    });
    uniform(b + "att.r_k", {H, N}, 0.1);
    uniform(b + "att.w1", {C, s.rank_w}, inv_sqrt_c);
    uniform(b + "att.w2", {s.rank_w, C}, 0.5 * std::sqrt(3.0 / s.rank_w));
    uniform(b + "att.a1", {C, s.rank_a}, inv_sqrt_c);
    uniform(b + "att.a2", {s.rank_a, C}, 0.5 * std::sqrt(3.0 / s.rank_a));
    uniform(b + "att.a0", {1, 1, C}, 0.5);
    uniform(b + "att.g1", {C, s.rank_g}, inv_sqrt_c);
    uniform(b + "att.g2", {s.rank_g, C}, 2.0 * std::sqrt(3.0 / s.rank_g));
    if (i > 0) {
      uniform(b + "att.v2", {s.rank_v, C}, 0.5 * std::sqrt(3.0 / s.rank_v));
      uniform(b + "att.v1", {C, s.rank_v}, inv_sqrt_c);
      around(b + "att.v0", {1, 1, C}, 1.0, 0.2);
    }
    around(b + "att.k_k", {1, 1, C}, 0.85, 0.1);
    around(b + "att.k_a", {1, 1, C}, 1.0, 0.1);
    uniform(b + "att.receptance.weight", {C, C}, inv_sqrt_c);
    uniform(b + "att.key.weight", {C, C}, 0.5 * inv_sqrt_c);
    uniform(b + "att.value.weight", {C, C}, inv_sqrt_c);
    uniform(b + "att.output.weight", {C, C}, 0.5 * inv_sqrt_c);
    const double lnx = det_pow(static_cast<double>(i + 1) / L, 0.7);
    around(b + "att.ln_x.weight", {C}, lnx, 0.05);
    uniform(b + "att.ln_x.bias", {C}, 0.05);
    channel_vec(b + "ffn.x_k", 0.0,
                [C, r10](int64_t c) { return 1.0 - det_pow(static_cast<double>(c) / C, r10 * r10 * r10 * r10); });
    uniform(b + "ffn.key.weight", {F, C}, inv_sqrt_c);
    uniform(b + "ffn.value.weight", {C, F}, 0.5 * std::sqrt(3.0 / static_cast<double>(F)));
  }
  ln("ln_out");
  uniform("head.weight", {V, C}, 2.0 * inv_sqrt_c);

  // Each tensor draws from its own stream (seeded by the model seed and its name), so tensors can be made
  // in parallel and adding a tensor kind later does not change the others.
  std::vector<std::vector<uint16_t>> data(specs.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t t; (t = next.fetch_add(1)) < specs.size();) {
      const Spec& sp = specs[t];
      int64_t n = 1;
      for (int64_t d : sp.shape) n *= d;
      SplitMix64 rng{seed ^ Xxh64::hash(sp.name.data(), sp.name.size(), 0x7277b7)};
      auto& out = data[t];
      out.resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; i++) {
        double v = sp.center + sp.spread * rng.uniform();
        if (sp.offset) v += sp.offset(i);
        out[static_cast<size_t>(i)] = to_bf16(v);
      }
    }
  };
  unsigned n_threads = std::max(1u, std::min<unsigned>(std::thread::hardware_concurrency(), 8u));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < n_threads; t++) threads.emplace_back(work);
  work();
  for (auto& th : threads) th.join();

  auto file = std::make_shared<InMemoryTensorFile>();
  for (size_t t = 0; t < specs.size(); t++) {
    file->add(specs[t].name, DType::BF16, specs[t].shape, data[t].data());
    std::vector<uint16_t>().swap(data[t]);
  }
  return file;
}

}  // namespace rwkv
