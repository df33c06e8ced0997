// CPU kernels against double-precision references: the packed GEMM (every compiled instruction set, every
// weight type, sizes that are not multiples of the register tile, one-row GEMV), and the whole forward pass
// of random RWKV-7 models against a plain float64 implementation of docs/rwkv7-spec.md section 3.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/float16.h"
#include "cpu/gemm.h"
#include "cpu/isa.h"
#include "cpu/kernels.h"
#include "cpu/rwkv7_cpu.h"
#include "model/rwkv7_params.h"
#include "rwkv/error.h"
#include "rwkv/model.h"
#include "rwkv/tensor_file.h"

namespace {

using rwkv::cpu::BType;
using rwkv::cpu::Isa;

std::vector<Isa> compiled_isas() {
  std::vector<Isa> out;
  for (Isa i : {Isa::Generic, Isa::Avx2, Isa::Avx512})
    if (rwkv::cpu::isa_supported(i)) out.push_back(i);
  return out;
}

// Fresh inputs on every run; the seed is printed so a failure can be replayed (RWKV_TEST_SEED).
uint64_t test_seed() {
  static uint64_t seed = [] {
    const char* env = std::getenv("RWKV_TEST_SEED");
    uint64_t s = env ? std::strtoull(env, nullptr, 10) : std::random_device{}();
    std::printf("test seed %llu\n", static_cast<unsigned long long>(s));
    return s;
  }();
  return seed;
}

float round_to(BType t, float v) {
  if (t == BType::BF16) return rwkv::cpu::bf16_to_f32(rwkv::cpu::f32_to_bf16(v));
  if (t == BType::F16) return rwkv::cpu::f16_to_f32(rwkv::cpu::f32_to_f16(v));
  return v;
}

const char* btype_name(BType t) {
  return t == BType::F32 ? "f32" : t == BType::BF16 ? "bf16" : t == BType::F16 ? "f16" : "int8";
}

// The weight (k, n) a packed matrix stands for: its stored value, times the column's scale for int8.
double packed_weight(const rwkv::cpu::PackedMatrix& m, int k, int n) {
  const int p = n / rwkv::cpu::kPanel, j = n % rwkv::cpu::kPanel;
  const void* row = m.panel(p, k);
  switch (m.type) {
    case BType::F32: return static_cast<const float*>(row)[j];
    case BType::BF16: return rwkv::cpu::bf16_to_f32(static_cast<const uint16_t*>(row)[j]);
    case BType::F16: return rwkv::cpu::f16_to_f32(static_cast<const uint16_t*>(row)[j]);
    case BType::I8: return static_cast<double>(static_cast<const int8_t*>(row)[j]) * m.scales[static_cast<size_t>(n)];
  }
  return 0;
}

struct GemmCase {
  int M, K, N;
};

// One GEMM through the engine vs double precision on the weights as stored (rounded to the weight type).
void check_gemm(rwkv::cpu::Gemm& gemm, rwkv::cpu::ThreadPool& pool, std::mt19937_64& rng, GemmCase g, BType bt,
                bool in_out, bool accumulate, bool relu_square, bool row_pointers) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const size_t lda = static_cast<size_t>(g.K) + 3, ldc = static_cast<size_t>(g.N) + 5;
  std::vector<float> W(static_cast<size_t>(g.N) * g.K), A(g.M * lda), Cm(g.M * ldc), C0;
  for (auto& x : W) x = u(rng);
  for (auto& x : A) x = u(rng);
  for (auto& x : Cm) x = u(rng);
  C0 = Cm;
  rwkv::TensorView view;
  view.dtype = rwkv::DType::F32;
  view.data = reinterpret_cast<const uint8_t*>(W.data());
  // W holds (N, K) for pack_out_in; for pack_in_out the same buffer is read as (K, N).
  auto w_at = [&](int k, int n) {
    return in_out ? W[static_cast<size_t>(k) * g.N + n] : W[static_cast<size_t>(n) * g.K + k];
  };
  view.shape = in_out ? std::vector<int64_t>{g.K, g.N} : std::vector<int64_t>{g.N, g.K};
  rwkv::cpu::PackedMatrix B = in_out ? rwkv::cpu::pack_in_out(view, bt, pool) : rwkv::cpu::pack_out_in(view, bt, pool);

  std::vector<const float*> arows(static_cast<size_t>(g.M));
  std::vector<float*> crows(static_cast<size_t>(g.M));
  for (int r = 0; r < g.M; r++) {
    arows[static_cast<size_t>(r)] = A.data() + static_cast<size_t>(r) * lda;
    crows[static_cast<size_t>(r)] = Cm.data() + static_cast<size_t>(r) * ldc;
  }
  rwkv::cpu::GemmJob job;
  job.M = g.M;
  job.b = &B;
  job.accumulate = accumulate;
  job.relu_square = relu_square;
  if (row_pointers) {
    job.a_rows = arows.data();
    job.c_rows = crows.data();
  } else {
    job.a = A.data();
    job.lda = lda;
    job.c = Cm.data();
    job.ldc = ldc;
  }
  gemm.run(pool, job);

  double worst = 0;
  bool untouched_ok = true;
  for (int r = 0; r < g.M; r++) {
    for (int n = 0; n < g.N; n++) {
      double s = 0, mag = 0;
      for (int k = 0; k < g.K; k++) {
        const double w = bt == BType::I8 ? packed_weight(B, k, n) : round_to(bt, w_at(k, n));
        double p = static_cast<double>(A[r * lda + k]) * w;
        s += p;
        mag += std::fabs(p);
      }
      if (accumulate) {
        s += C0[r * ldc + n];
        mag += std::fabs(C0[r * ldc + n]);
      }
      double out = Cm[r * ldc + n];
      if (relu_square) {
        // Compare in the pre-activation's scale: the kernel squares max(sum, 0) of a float sum, so its root is
        // that clamped sum. A sum that cancels to about zero may land on either side of it in float; squaring
        // the error instead would divide a rounding-sized output by a zero-sized reference.
        s = s > 0 ? s : 0;
        out = std::sqrt(std::max(out, 0.0));
      }
      double err = std::fabs(out - s) / (mag + 1e-30);
      if (err > worst) worst = err;
    }
    for (size_t n = g.N; n < ldc; n++) untouched_ok = untouched_ok && Cm[r * ldc + n] == C0[r * ldc + n];
  }
  CHECK_MSG(worst < 1e-5, "%s M=%d K=%d N=%d %s%s%s%s: relative error %.3g", btype_name(bt), g.M, g.K, g.N,
            in_out ? "in_out " : "", accumulate ? "acc " : "", relu_square ? "relu2 " : "", row_pointers ? "rows" : "",
            worst);
  CHECK_MSG(untouched_ok, "GEMM wrote past column N (M=%d K=%d N=%d)", g.M, g.K, g.N);
}

TEST(thread_pool_runs_every_task_once) {
  for (int threads : {1, 2, 5}) {
    rwkv::cpu::ThreadPool pool(threads);
    std::mt19937 rng(static_cast<uint32_t>(test_seed()));
    std::vector<std::atomic<int>> hits(64);
    bool ok = true, workers_ok = true;
    for (int region = 0; region < 3000; region++) {
      const size_t n = rng() % 64;
      for (auto& h : hits) h.store(0);
      pool.parallel_for(n, [&](size_t t, int w) {
        hits[t].fetch_add(1);
        if (w < 0 || w >= pool.size()) workers_ok = false;
      });
      for (size_t t = 0; t < hits.size(); t++) ok = ok && hits[t].load() == (t < n ? 1 : 0);
    }
    CHECK_MSG(ok && workers_ok, "threads=%d", threads);
    // More tasks than one claim word can count: they are grouped into ranges.
    std::vector<uint8_t> big(3'000'000, 0);
    pool.parallel_for(big.size(), [&](size_t t, int) { big[t]++; });
    CHECK(std::all_of(big.begin(), big.end(), [](uint8_t v) { return v == 1; }));
  }
}

TEST(gemm_matches_double_reference_on_every_isa) {
  std::mt19937_64 rng(test_seed());
  const GemmCase cases[] = {{1, 1, 1},     {1, 768, 65},  {1, 300, 1000}, {2, 5, 33},    {3, 17, 31},  {13, 300, 64},
                            {14, 256, 32}, {15, 257, 97}, {29, 513, 200}, {130, 64, 96}, {241, 37, 45}};
  for (Isa isa : compiled_isas()) {
    const auto& k = rwkv::cpu::kernels_for(isa);
    CHECK(k.isa == isa);
    for (int threads : {1, 3}) {
      rwkv::cpu::ThreadPool pool(threads);
      rwkv::cpu::Gemm gemm(k, pool.size());
      for (const GemmCase& g : cases) {
        for (BType bt : {BType::F32, BType::BF16, BType::F16, BType::I8}) {
          check_gemm(gemm, pool, rng, g, bt, false, false, false, false);
        }
        check_gemm(gemm, pool, rng, g, BType::F32, true, false, false, true);
        check_gemm(gemm, pool, rng, g, BType::BF16, false, true, false, false);
        check_gemm(gemm, pool, rng, g, BType::F32, false, false, true, true);
        check_gemm(gemm, pool, rng, g, BType::I8, true, true, false, true);
        check_gemm(gemm, pool, rng, g, BType::I8, false, false, true, false);
        check_gemm(gemm, pool, rng, g, BType::F16, false, true, true, false);
      }
    }
  }
}

// A row's result is the same bits whether it is multiplied alone (one register tile: narrow panels read
// directly) or among many rows (panel blocks widened once and shared by the tiles), for every weight type.
TEST(gemm_row_alone_equals_row_in_a_batch) {
  std::mt19937_64 rng(test_seed() + 3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const int M = 37, K = 1000, N = 77;  // K spans two depth blocks, N ends in a partial panel
  std::vector<float> W(static_cast<size_t>(N) * K), A(static_cast<size_t>(M) * K);
  for (auto& x : W) x = u(rng);
  for (auto& x : A) x = u(rng);
  rwkv::TensorView v;
  v.dtype = rwkv::DType::F32;
  v.shape = {N, K};
  v.data = reinterpret_cast<const uint8_t*>(W.data());
  for (Isa isa : compiled_isas()) {
    rwkv::cpu::ThreadPool pool(2);
    rwkv::cpu::Gemm gemm(rwkv::cpu::kernels_for(isa), pool.size());
    for (BType bt : {BType::F32, BType::BF16, BType::F16, BType::I8}) {
      rwkv::cpu::PackedMatrix B = rwkv::cpu::pack_out_in(v, bt, pool);
      std::vector<float> batched(static_cast<size_t>(M) * N), alone(static_cast<size_t>(M) * N);
      rwkv::cpu::GemmJob job;
      job.M = M;
      job.a = A.data();
      job.lda = K;
      job.b = &B;
      job.c = batched.data();
      job.ldc = N;
      gemm.run(pool, job);
      for (int r = 0; r < M; r++) {
        job.M = 1;
        job.a = A.data() + static_cast<size_t>(r) * K;
        job.c = alone.data() + static_cast<size_t>(r) * N;
        gemm.run(pool, job);
      }
      CHECK_MSG(std::memcmp(batched.data(), alone.data(), batched.size() * sizeof(float)) == 0, "%s %s",
                rwkv::cpu::isa_name(isa), btype_name(bt));
    }
  }
}

// int8 packing: one scale per output column, max |w| / 127; every weight within half a step of q * scale;
// the largest magnitude lands on +-127; an all-zero column packs as zeros; a NaN is refused with a code.
TEST(int8_packing_has_one_scale_per_output_row) {
  rwkv::cpu::ThreadPool pool(2);
  std::mt19937_64 rng(test_seed() + 4);
  std::normal_distribution<float> g(0.0f, 1.0f);
  const int K = 70, N = 45;
  std::vector<float> W(static_cast<size_t>(N) * K);
  for (bool in_out : {false, true}) {
    // Output column n has magnitudes ~ (1 + n); column 7 is all zeros.
    for (int n = 0; n < N; n++)
      for (int k = 0; k < K; k++)
        W[in_out ? static_cast<size_t>(k) * N + n : static_cast<size_t>(n) * K + k] =
            n == 7 ? 0.0f : g(rng) * (1.0f + n);
    rwkv::TensorView v;
    v.dtype = rwkv::DType::F32;
    v.shape = in_out ? std::vector<int64_t>{K, N} : std::vector<int64_t>{N, K};
    v.data = reinterpret_cast<const uint8_t*>(W.data());
    auto w_at = [&](int k, int n) {
      return in_out ? W[static_cast<size_t>(k) * N + n] : W[static_cast<size_t>(n) * K + k];
    };
    rwkv::cpu::PackedMatrix m =
        in_out ? rwkv::cpu::pack_in_out(v, BType::I8, pool) : rwkv::cpu::pack_out_in(v, BType::I8, pool);
    CHECK(m.scales.size() == static_cast<size_t>(m.panels()) * rwkv::cpu::kPanel);
    bool ok = true;
    for (int n = 0; n < N; n++) {
      double peak = 0;
      for (int k = 0; k < K; k++) peak = std::max(peak, std::fabs(static_cast<double>(w_at(k, n))));
      const double s = m.scales[static_cast<size_t>(n)];
      ok = ok && std::fabs(s - peak / 127) <= 1e-6 * peak;
      int top = 0;
      for (int k = 0; k < K; k++) {
        const int q = static_cast<const int8_t*>(m.panel(n / rwkv::cpu::kPanel, k))[n % rwkv::cpu::kPanel];
        top = std::max(top, std::abs(q));
        ok = ok && std::abs(q) <= 127 && std::fabs(q * s - w_at(k, n)) <= 0.5 * s * (1 + 1e-5);
      }
      ok = ok && (n == 7 ? top == 0 && s == 0 : top == 127);
    }
    CHECK_MSG(ok, "int8 packing (%s)", in_out ? "in_out" : "out_in");
    for (size_t n = N; n < m.scales.size(); n++) CHECK(m.scales[n] == 0.0f);
  }
  W[5] = std::nanf("");
  rwkv::TensorView v;
  v.dtype = rwkv::DType::F32;
  v.shape = {N, K};
  v.data = reinterpret_cast<const uint8_t*>(W.data());
  std::string code;
  try {
    rwkv::cpu::pack_out_in(v, BType::I8, pool);
  } catch (const rwkv::Error& e) {
    code = e.code();
  }
  CHECK(code == rwkv::code::kModelDtype);
}

TEST(gemm_several_jobs_in_one_region) {
  std::mt19937_64 rng(test_seed() + 1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (Isa isa : compiled_isas()) {
    rwkv::cpu::ThreadPool pool(2);
    rwkv::cpu::Gemm gemm(rwkv::cpu::kernels_for(isa), pool.size());
    const GemmCase cases[] = {{7, 40, 50}, {0, 10, 10}, {33, 64, 8}, {1, 100, 300}};
    std::vector<std::vector<float>> W(4), A(4), Cs(4);
    std::vector<rwkv::cpu::PackedMatrix> B(4);
    std::vector<rwkv::cpu::GemmJob> jobs(4);
    for (int j = 0; j < 4; j++) {
      const GemmCase& g = cases[j];
      W[j].resize(static_cast<size_t>(g.N) * g.K);
      A[j].resize(static_cast<size_t>(g.M) * g.K);
      Cs[j].assign(static_cast<size_t>(g.M) * g.N, 0.0f);
      for (auto& x : W[j]) x = u(rng);
      for (auto& x : A[j]) x = u(rng);
      rwkv::TensorView v;
      v.dtype = rwkv::DType::F32;
      v.shape = {g.N, g.K};
      v.data = reinterpret_cast<const uint8_t*>(W[j].data());
      B[j] = rwkv::cpu::pack_out_in(v, BType::F32, pool);
      jobs[j].M = g.M;
      jobs[j].a = A[j].data();
      jobs[j].lda = static_cast<size_t>(g.K);
      jobs[j].b = &B[j];
      jobs[j].c = Cs[j].data();
      jobs[j].ldc = static_cast<size_t>(g.N);
    }
    gemm.run(pool, jobs);
    for (int j = 0; j < 4; j++) {
      const GemmCase& g = cases[j];
      double worst = 0;
      for (int r = 0; r < g.M; r++)
        for (int n = 0; n < g.N; n++) {
          double s = 0;
          for (int k = 0; k < g.K; k++) s += static_cast<double>(A[j][r * g.K + k]) * W[j][n * g.K + k];
          worst = std::max(worst, std::fabs(s - Cs[j][r * g.N + n]));
        }
      CHECK_MSG(worst < 1e-4, "job %d: max error %.3g", j, worst);
    }
  }
}

TEST(packing_16bit_sources_is_exact) {
  rwkv::cpu::ThreadPool pool(1);
  std::mt19937_64 rng(test_seed() + 2);
  std::uniform_real_distribution<float> u(-4.0f, 4.0f);
  const int K = 19, N = 45;
  std::vector<uint16_t> bf(static_cast<size_t>(K) * N), hf(bf.size());
  for (size_t i = 0; i < bf.size(); i++) {
    float v = u(rng);
    bf[i] = rwkv::cpu::f32_to_bf16(v);
    hf[i] = rwkv::cpu::f32_to_f16(v);
  }
  for (auto [dt, src] : {std::pair{rwkv::DType::BF16, &bf}, std::pair{rwkv::DType::F16, &hf}}) {
    rwkv::TensorView v;
    v.dtype = dt;
    v.shape = {K, N};
    v.data = reinterpret_cast<const uint8_t*>(src->data());
    for (BType bt : {BType::F32, dt == rwkv::DType::BF16 ? BType::BF16 : BType::F16}) {
      rwkv::cpu::PackedMatrix m = rwkv::cpu::pack_in_out(v, bt, pool);
      bool exact = true;
      for (int k = 0; k < K; k++)
        for (int n = 0; n < N; n++) {
          const int p = n / rwkv::cpu::kPanel, j = n % rwkv::cpu::kPanel;
          uint16_t want = (*src)[static_cast<size_t>(k) * N + n];
          float want_f = dt == rwkv::DType::BF16 ? rwkv::cpu::bf16_to_f32(want) : rwkv::cpu::f16_to_f32(want);
          if (bt == BType::F32) {
            exact = exact && static_cast<const float*>(m.panel(p, k))[j] == want_f;
          } else {
            exact = exact && static_cast<const uint16_t*>(m.panel(p, k))[j] == want;
          }
        }
      CHECK_MSG(exact, "%s source packed as %s changed values", rwkv::dtype_name(dt), btype_name(bt));
    }
  }
}

TEST(f16_conversions_round_to_nearest_even) {
  using rwkv::cpu::f16_to_f32;
  using rwkv::cpu::f32_to_f16;
  // Every f16 value survives a round trip, and midpoints between neighbours round to the even one.
  for (uint32_t h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;  // nan
    float f = f16_to_f32(static_cast<uint16_t>(h));
    CHECK(f32_to_f16(f) == h);
    if ((h & 0x7fff) < 0x7bff) {
      float next = f16_to_f32(static_cast<uint16_t>(h + 1));
      if ((h & 0x8000) == 0) {
        float mid = static_cast<float>((static_cast<double>(f) + next) / 2);
        uint16_t want = (h & 1) ? static_cast<uint16_t>(h + 1) : static_cast<uint16_t>(h);
        CHECK(f32_to_f16(mid) == want);
      }
    }
  }
  CHECK(f32_to_f16(70000.0f) == 0x7c00);
  CHECK(rwkv::cpu::f32_to_bf16(1.00390625f) == 0x3f80);  // tie to even
  CHECK(rwkv::cpu::f32_to_bf16(1.01171875f) == 0x3f82);
}

// ---- float64 reference of the forward pass (spec section 3), one token at a time ----

class RefModel {
 public:
  explicit RefModel(const rwkv::TensorFile& f) {
    for (const auto& [name, v] : f.tensors()) {
      std::vector<double> d(static_cast<size_t>(v.numel()));
      for (size_t i = 0; i < d.size(); i++) {
        if (v.dtype == rwkv::DType::F32) {
          float x;
          std::memcpy(&x, v.data + 4 * i, 4);
          d[i] = x;
        } else {
          uint16_t h;
          std::memcpy(&h, v.data + 2 * i, 2);
          d[i] = v.dtype == rwkv::DType::BF16 ? rwkv::cpu::bf16_to_f32(h) : rwkv::cpu::f16_to_f32(h);
        }
      }
      t_[name] = std::move(d);
      shape_[name] = v.shape;
    }
    V = static_cast<int>(shape_.at("emb.weight")[0]);
    C = static_cast<int>(shape_.at("emb.weight")[1]);
    H = static_cast<int>(shape_.at("blocks.0.att.r_k")[0]);
    N = static_cast<int>(shape_.at("blocks.0.att.r_k")[1]);
    F = static_cast<int>(shape_.at("blocks.0.ffn.key.weight")[0]);
    L = 0;
    while (t_.count("blocks." + std::to_string(L) + ".ln1.weight")) L++;
  }

  size_t state_size() const { return static_cast<size_t>(L) * (2 * C + H * N * N); }

  // One token: updates `state` (engine layout) and writes V logits.
  void step(int token, std::vector<double>& state, double* logits) const {
    using Vec = std::vector<double>;
    Vec x(t_.at("emb.weight").begin() + static_cast<long>(token) * C,
          t_.at("emb.weight").begin() + static_cast<long>(token + 1) * C);
    x = ln(x, "blocks.0.ln0", 1e-5);
    Vec v_first;
    for (int l = 0; l < L; l++) {
      const std::string b = "blocks." + std::to_string(l) + ".";
      double* st = state.data() + static_cast<size_t>(l) * (2 * C + H * N * N);
      Vec u = ln(x, b + "ln1", 1e-5);
      Vec xr(C), xw(C), xk(C), xv(C), xa(C), xg(C);
      for (int c = 0; c < C; c++) {
        double d = st[c] - u[c];
        xr[c] = u[c] + d * at(b + "att.x_r", c);
        xw[c] = u[c] + d * at(b + "att.x_w", c);
        xk[c] = u[c] + d * at(b + "att.x_k", c);
        xv[c] = u[c] + d * at(b + "att.x_v", c);
        xa[c] = u[c] + d * at(b + "att.x_a", c);
        xg[c] = u[c] + d * at(b + "att.x_g", c);
        st[c] = u[c];
      }
      Vec r = linear(b + "att.receptance.weight", xr), k = linear(b + "att.key.weight", xk),
          v = linear(b + "att.value.weight", xv);
      Vec hw = lora_down(b + "att.w1", xw);
      for (auto& e : hw) e = std::tanh(e);
      Vec z = lora_up(b + "att.w2", hw);
      Vec w(C), a(C), g, kk(C);
      for (int c = 0; c < C; c++) w[c] = std::exp(-std::exp(-0.5) * sigm(at(b + "att.w0", c) + z[c]));
      Vec za = lora_up(b + "att.a2", lora_down(b + "att.a1", xa));
      for (int c = 0; c < C; c++) a[c] = sigm(at(b + "att.a0", c) + za[c]);
      Vec hg = lora_down(b + "att.g1", xg);
      for (auto& e : hg) e = sigm(e);
      g = lora_up(b + "att.g2", hg);
      for (int c = 0; c < C; c++) kk[c] = k[c] * at(b + "att.k_k", c);
      for (int h = 0; h < H; h++) {
        double ss = 0;
        for (int j = 0; j < N; j++) ss += kk[h * N + j] * kk[h * N + j];
        double nrm = std::max(std::sqrt(ss), 1e-12);
        for (int j = 0; j < N; j++) kk[h * N + j] /= nrm;
      }
      for (int c = 0; c < C; c++) k[c] = k[c] * (1 + (a[c] - 1) * at(b + "att.k_a", c));
      if (l == 0) {
        v_first = v;
      } else {
        Vec zv = lora_up(b + "att.v2", lora_down(b + "att.v1", xv));
        for (int c = 0; c < C; c++) v[c] = v[c] + (v_first[c] - v[c]) * sigm(at(b + "att.v0", c) + zv[c]);
      }
      Vec o(C);
      for (int h = 0; h < H; h++) {
        double* S = st + C + static_cast<size_t>(h) * N * N;
        const int o0 = h * N;
        Vec y(N);
        for (int i = 0; i < N; i++) {
          double sa = 0;
          for (int j = 0; j < N; j++) sa += S[i * N + j] * -kk[o0 + j];
          for (int j = 0; j < N; j++)
            S[i * N + j] = S[i * N + j] * w[o0 + j] + sa * kk[o0 + j] * a[o0 + j] + v[o0 + i] * k[o0 + j];
          for (int j = 0; j < N; j++) y[i] += S[i * N + j] * r[o0 + j];
        }
        double mean = 0, var = 0;
        for (double e : y) mean += e;
        mean /= N;
        for (double e : y) var += (e - mean) * (e - mean);
        var /= N;
        double bonus = 0;
        for (int j = 0; j < N; j++) bonus += r[o0 + j] * k[o0 + j] * at(b + "att.r_k", o0 + j);
        for (int i = 0; i < N; i++) {
          double gn = (y[i] - mean) / std::sqrt(var + 64e-5) * at(b + "att.ln_x.weight", o0 + i) +
                      at(b + "att.ln_x.bias", o0 + i);
          o[o0 + i] = (gn + bonus * v[o0 + i]) * g[o0 + i];
        }
      }
      Vec out = linear(b + "att.output.weight", o);
      for (int c = 0; c < C; c++) x[c] += out[c];

      double* fprev = st + C + H * N * N;
      Vec u2 = ln(x, b + "ln2", 1e-5), xf(C);
      for (int c = 0; c < C; c++) {
        xf[c] = u2[c] + (fprev[c] - u2[c]) * at(b + "ffn.x_k", c);
        fprev[c] = u2[c];
      }
      Vec hid = linear(b + "ffn.key.weight", xf);
      for (auto& e : hid) e = e > 0 ? e * e : 0;
      Vec fo = linear(b + "ffn.value.weight", hid);
      for (int c = 0; c < C; c++) x[c] += fo[c];
    }
    Vec xo = ln(x, "ln_out", 1e-5);
    Vec lg = linear("head.weight", xo);
    for (int i = 0; i < V; i++) logits[i] = lg[i];
  }

  int V, C, H, N, F, L;

 private:
  static double sigm(double x) { return 1 / (1 + std::exp(-x)); }
  double at(const std::string& n, int i) const { return t_.at(n)[static_cast<size_t>(i)]; }
  std::vector<double> ln(const std::vector<double>& x, const std::string& p, double eps) const {
    double mean = 0, var = 0;
    for (double e : x) mean += e;
    mean /= static_cast<double>(x.size());
    for (double e : x) var += (e - mean) * (e - mean);
    var /= static_cast<double>(x.size());
    std::vector<double> o(x.size());
    for (size_t i = 0; i < x.size(); i++)
      o[i] = (x[i] - mean) / std::sqrt(var + eps) * t_.at(p + ".weight")[i] + t_.at(p + ".bias")[i];
    return o;
  }
  // (out, in) matrix times vector.
  std::vector<double> linear(const std::string& n, const std::vector<double>& x) const {
    const auto& W = t_.at(n);
    const size_t out = static_cast<size_t>(shape_.at(n)[0]), in = static_cast<size_t>(shape_.at(n)[1]);
    std::vector<double> y(out);
    for (size_t o = 0; o < out; o++) {
      double s = 0;
      for (size_t i = 0; i < in; i++) s += W[o * in + i] * x[i];
      y[o] = s;
    }
    return y;
  }
  // Row vector times an (in, out) matrix.
  std::vector<double> lora_down(const std::string& n, const std::vector<double>& x) const {
    const auto& W = t_.at(n);
    const size_t in = static_cast<size_t>(shape_.at(n)[0]), out = static_cast<size_t>(shape_.at(n)[1]);
    std::vector<double> y(out);
    for (size_t i = 0; i < in; i++)
      for (size_t o = 0; o < out; o++) y[o] += x[i] * W[i * out + o];
    return y;
  }
  std::vector<double> lora_up(const std::string& n, const std::vector<double>& x) const { return lora_down(n, x); }

  std::map<std::string, std::vector<double>> t_;
  std::map<std::string, std::vector<int64_t>> shape_;
};

// Several sequences of different lengths in one call (All logits), from random non-zero states, against
// the reference stepping each sequence alone.
void check_forward_against_reference(const rwkv::RandomModelShape& shape, uint64_t seed) {
  auto file = rwkv::random_rwkv7_tensors(shape, seed);
  RefModel ref(*file);
  const rwkv::Rwkv7Params params = rwkv::rwkv7_params(*file);
  std::mt19937_64 rng(test_seed() + seed);
  const int lengths[] = {1, 9, 23};
  const size_t S = ref.state_size();
  const int V = ref.V;

  std::vector<std::vector<int32_t>> tokens;
  std::vector<std::vector<double>> ref_state;
  std::vector<std::vector<double>> ref_logits;
  std::vector<std::vector<float>> init_state;
  for (int len : lengths) {
    std::vector<int32_t> t(static_cast<size_t>(len));
    for (auto& x : t) x = static_cast<int32_t>(rng() % static_cast<uint64_t>(V));
    // A non-zero starting state: the reference runs a short random prefix first.
    std::vector<double> st(S, 0.0);
    std::vector<double> scratch(static_cast<size_t>(V));
    for (int i = 0; i < 3; i++) ref.step(static_cast<int>(rng() % static_cast<uint64_t>(V)), st, scratch.data());
    init_state.emplace_back(st.begin(), st.end());
    for (size_t i = 0; i < S; i++) st[i] = init_state.back()[i];  // start from exactly the float state
    std::vector<double> lg(static_cast<size_t>(len) * V);
    for (int i = 0; i < len; i++) ref.step(t[static_cast<size_t>(i)], st, lg.data() + static_cast<size_t>(i) * V);
    tokens.push_back(std::move(t));
    ref_state.push_back(std::move(st));
    ref_logits.push_back(std::move(lg));
  }

  for (Isa isa : compiled_isas()) {
    for (rwkv::WeightType wt : {rwkv::WeightType::F32, rwkv::WeightType::BF16}) {
      rwkv::EngineOptions opts;
      opts.threads = 2;
      opts.weights = wt;
      auto model = rwkv::cpu::make_cpu_model(file, params, opts, isa);
      CHECK(model->state_floats() == S);
      std::vector<std::vector<float>> states = init_state;
      std::vector<std::vector<float>> logits;
      std::vector<rwkv::Sequence> seqs;
      for (size_t s = 0; s < tokens.size(); s++) {
        logits.emplace_back(tokens[s].size() * static_cast<size_t>(V));
        rwkv::Sequence q;
        q.tokens = tokens[s].data();
        q.n_tokens = tokens[s].size();
        q.state = states[s].data();
        q.logits = rwkv::LogitsMode::All;
        q.logits_out = logits[s].data();
        seqs.push_back(q);
      }
      model->forward(seqs);
      double worst_logit = 0, worst_state = 0;
      for (size_t s = 0; s < tokens.size(); s++) {
        for (size_t i = 0; i < logits[s].size(); i++)
          worst_logit = std::max(worst_logit, std::fabs(logits[s][i] - ref_logits[s][i]));
        for (size_t i = 0; i < S; i++)
          worst_state = std::max(worst_state,
                                 std::fabs(states[s][i] - ref_state[s][i]) / std::max(1.0, std::fabs(ref_state[s][i])));
      }
      CHECK_MSG(worst_logit < 1e-4 && worst_state < 1e-4, "%s %s C=%d H=%d: max |dlogit| %.3g, state %.3g",
                rwkv::cpu::isa_name(isa), wt == rwkv::WeightType::F32 ? "f32" : "bf16", ref.C, ref.H, worst_logit,
                worst_state);
    }
  }
}

TEST(forward_matches_float64_reference_two_heads) {
  rwkv::RandomModelShape s;
  s.n_layer = 2;
  s.n_embd = 128;
  s.head_size = 64;
  s.vocab_size = 300;
  s.ffn = 448;
  s.rank_w = 32;
  s.rank_a = 48;
  s.rank_v = 16;
  s.rank_g = 64;
  check_forward_against_reference(s, 11);
}

TEST(forward_matches_float64_reference_small_heads) {
  rwkv::RandomModelShape s;
  s.n_layer = 3;
  s.n_embd = 96;
  s.head_size = 24;  // not a multiple of any vector width
  s.vocab_size = 77;
  s.ffn = 200;
  s.rank_w = 8;
  s.rank_a = 12;
  s.rank_v = 5;
  s.rank_g = 20;
  check_forward_against_reference(s, 12);
}

TEST(random_model_is_deterministic_and_official) {
  rwkv::RandomModelShape s;
  s.n_layer = 2;
  s.n_embd = 64;
  s.vocab_size = 50;
  s.ffn = 128;
  s.rank_w = s.rank_a = s.rank_v = s.rank_g = 16;
  auto a = rwkv::random_rwkv7_tensors(s, 5), b = rwkv::random_rwkv7_tensors(s, 5), c = rwkv::random_rwkv7_tensors(s, 6);
  CHECK(rwkv::fingerprint_tensors(a->tensors()) == rwkv::fingerprint_tensors(b->tensors()));
  CHECK(rwkv::fingerprint_tensors(a->tensors()) != rwkv::fingerprint_tensors(c->tensors()));
  CHECK(rwkv::detect_version(a->tensors()) == "x070");
  const auto p = rwkv::rwkv7_params(*a);
  CHECK(p.config.n_layer == 2 && p.config.n_embd == 64 && p.config.n_head == 1 && p.config.ffn == 128);
  CHECK(p.config.ranks[0].v == 0 && p.config.ranks[1].v == 16);
  CHECK(a->tensors().at("blocks.0.att.x_r").shape == (std::vector<int64_t>{1, 1, 64}));
  CHECK(a->tensors().at("blocks.1.att.w0").dtype == rwkv::DType::BF16);
}

TEST(thread_count_does_not_change_results) {
  rwkv::RandomModelShape s;
  s.n_layer = 2;
  s.n_embd = 128;
  s.vocab_size = 500;
  s.ffn = 256;
  s.rank_w = s.rank_a = s.rank_v = s.rank_g = 32;
  auto file = rwkv::random_rwkv7_tensors(s, 3);
  std::vector<int32_t> tokens(40);
  for (size_t i = 0; i < tokens.size(); i++) tokens[i] = static_cast<int32_t>((i * 37 + 11) % 500);
  std::vector<std::vector<float>> outs;
  for (int threads : {1, 2, 5}) {
    rwkv::EngineOptions o;
    o.threads = threads;
    auto m = rwkv::load_model(file, o);
    std::vector<float> state(m->state_floats(), 0.0f), logits(500);
    rwkv::Sequence q{tokens.data(), tokens.size(), state.data(), rwkv::LogitsMode::Last, logits.data()};
    m->forward({q});
    logits.insert(logits.end(), state.begin(), state.end());
    outs.push_back(std::move(logits));
  }
  CHECK(outs[0] == outs[1]);
  CHECK(outs[0] == outs[2]);
}

}  // namespace

TEST_MAIN()
