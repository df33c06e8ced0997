// Parity of the CUDA backend: against the reference fixtures (tiny and synthetic models: logits of every
// position and final states) and against the CPU fp32 engine on random models of the 0.1B shape, in sequence
// mode, one-token mode, chunked calls, internal rounds and batches of streams of different lengths. Every
// output buffer is NaN-poisoned before a run and checked fully written. Without a usable CUDA device the test
// prints why and passes, so GPU-less CI stays green; builds without the CUDA backend do not build it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "rwkv/error.h"
#include "rwkv/model.h"
#include "rwkv/tensor_file.h"

#include "cuda/cuda_backend.h"
#include "model/rwkv7_params.h"

namespace {

using rwkv::LogitsMode;
using rwkv::WeightType;

const float kNaN = std::numeric_limits<float>::quiet_NaN();

const char* type_name(WeightType t) { return t == WeightType::F32 ? "f32" : t == WeightType::F16 ? "f16" : "bf16"; }

std::vector<float> read_f32(const std::string& rel) {
  std::vector<char> raw = check::read_file(check::shared_path(rel));
  std::vector<float> v(raw.size() / 4);
  std::memcpy(v.data(), raw.data(), v.size() * 4);
  return v;
}

// The token list of one case of expected_manifest.json (the first "tokens" array after the case's key).
std::vector<int32_t> manifest_tokens(const std::string& key) {
  std::vector<char> raw = check::read_file(check::shared_path("fixtures/rwkv7/expected_manifest.json"));
  const std::string json(raw.begin(), raw.end());
  size_t p = json.find("\"" + key + "\"");
  if (p == std::string::npos) return {};
  p = json.find('[', json.find("\"tokens\"", p));
  const size_t end = json.find(']', p);
  std::vector<int32_t> out;
  for (size_t i = p + 1; i < end;) {
    while (i < end && (json[i] < '0' || json[i] > '9')) i++;
    if (i >= end) break;
    out.push_back(static_cast<int32_t>(std::strtol(json.c_str() + i, nullptr, 10)));
    while (i < end && json[i] >= '0' && json[i] <= '9') i++;
  }
  return out;
}

struct Diff {
  double rel = 0, max_abs = 0, top1 = 1;
  // Top-1 agreement where a differing pick still counts when the reference ranks the two tokens closer than
  // twice that row's largest logit error: a flip between logits tied within the measured noise.
  double top1_ties = 1;
  bool finite = true;
};

// ||a - b|| / ||b|| over everything; top-1 agreement over rows of `row` elements (row 0: not computed).
Diff compare(const std::vector<float>& a, const std::vector<float>& b, size_t row = 0) {
  Diff d;
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); i++) {
    if (!std::isfinite(a[i])) d.finite = false;
    const double e = static_cast<double>(a[i]) - b[i];
    num += e * e;
    den += static_cast<double>(b[i]) * b[i];
    d.max_abs = std::max(d.max_abs, std::fabs(e));
  }
  if (a.size() != b.size()) d.finite = false;
  d.rel = std::sqrt(num / std::max(den, 1e-30));
  if (!d.finite) d.rel = d.max_abs = std::numeric_limits<double>::infinity();
  if (row && a.size() == b.size() && !a.empty()) {
    size_t agree = 0, agree_ties = 0, shown = 0, rows = a.size() / row;
    for (size_t r = 0; r < rows; r++) {
      const float* ra = a.data() + r * row;
      const float* rb = b.data() + r * row;
      const size_t ia = std::max_element(ra, ra + row) - ra;
      const size_t ib = std::max_element(rb, rb + row) - rb;
      double row_err = 0;
      for (size_t i = 0; i < row; i++) row_err = std::max(row_err, std::fabs(static_cast<double>(ra[i]) - rb[i]));
      agree += ia == ib;
      const double margin = static_cast<double>(rb[ib]) - rb[ia];
      agree_ties += ia == ib || margin <= 2 * row_err;
      if (ia != ib && shown++ < 5)
        std::printf("    row %zu: top-1 %zu vs reference %zu, reference margin %.4f, row max|d| %.4f\n", r, ia, ib,
                    margin, row_err);
    }
    d.top1 = static_cast<double>(agree) / rows;
    d.top1_ties = static_cast<double>(agree_ties) / rows;
  }
  return d;
}

struct Tol {
  double logits_rel, state_rel, top1;
  bool ties;  // judge top-1 with near-ties counted as agreeing (Diff::top1_ties)
};
Tol tolerance(WeightType t) {
  // fp32 storage runs full-fp32 GEMMs: only summation order and fast-math intrinsics differ.
  if (t == WeightType::F32) return {1e-4, 1e-4, 1.0, false};
  if (t == WeightType::F16) return {1e-2, 1e-2, 0.99, false};
  // bf16 keeps 8 mantissa bits: on random models, whose top logits are often within a few hundredths of
  // each other, about 1-2% of positions flip between near-tied tokens. Those flips are counted as agreement
  // when the reference margin is inside the measured error (the strict figure is printed beside it).
  return {1e-2, 1e-2, 0.99, true};
}

void report(const std::string& what, const Diff& lg, const Diff& st, const Tol& tol, double min_top1) {
  std::printf("  %-44s logits rel %.2e max|d| %.2e top1 %.1f%% (ties %.1f%%)  state rel %.2e\n", what.c_str(), lg.rel,
              lg.max_abs, 100 * lg.top1, 100 * lg.top1_ties, st.rel);
  CHECK_MSG(lg.finite, "%s: logits not fully written (NaN left)", what.c_str());
  CHECK_MSG(st.finite, "%s: state not finite", what.c_str());
  CHECK_MSG(lg.rel <= tol.logits_rel, "%s: logits rel err %.3e > %.1e", what.c_str(), lg.rel, tol.logits_rel);
  CHECK_MSG(st.rel <= tol.state_rel, "%s: state rel err %.3e > %.1e", what.c_str(), st.rel, tol.state_rel);
  const double top1 = tol.ties ? lg.top1_ties : lg.top1;
  CHECK_MSG(top1 >= min_top1, "%s: top-1 agreement %.3f < %.3f", what.c_str(), top1, min_top1);
}

std::shared_ptr<rwkv::Model> gpu_model(std::shared_ptr<const rwkv::TensorFile> file, WeightType t) {
  rwkv::EngineOptions o;
  o.device = "cuda";
  o.weights = t;
  return rwkv::make_cuda_model(file, rwkv::rwkv7_params(*file), o);
}

// Runs one sequence in one call (sequence mode) or one token per call (one-token mode); returns all logits.
std::vector<float> run_stream(rwkv::Model& m, const std::vector<int32_t>& tokens, std::vector<float>& state,
                              bool one_token) {
  const size_t V = m.config().vocab_size;
  std::vector<float> logits(tokens.size() * V, kNaN);
  if (!one_token) {
    rwkv::Sequence s{tokens.data(), tokens.size(), state.data(), LogitsMode::All, logits.data()};
    m.forward({s});
  } else {
    for (size_t i = 0; i < tokens.size(); i++) {
      rwkv::Sequence s{tokens.data() + i, 1, state.data(), LogitsMode::Last, logits.data() + i * V};
      m.forward({s});
    }
  }
  return logits;
}

void fixture_case(const std::string& model_file, const std::string& key, const std::string& stem) {
  auto file = std::shared_ptr<const rwkv::TensorFile>(rwkv::TensorFile::open(check::shared_path(model_file)));
  const std::vector<int32_t> tokens = manifest_tokens(key);
  CHECK_MSG(!tokens.empty(), "no tokens for %s in the manifest", key.c_str());
  const std::vector<float> want_logits = read_f32("fixtures/rwkv7/" + stem + ".logits.f32");
  const std::vector<float> want_state = read_f32("fixtures/rwkv7/" + stem + ".state.f32");
  for (WeightType t : {WeightType::F32, WeightType::F16, WeightType::BF16}) {
    auto m = gpu_model(file, t);
    CHECK(m->state_floats() == want_state.size());
    const size_t V = m->config().vocab_size;
    for (bool one_token : {false, true}) {
      std::vector<float> state(m->state_floats(), 0.f);
      std::vector<float> logits = run_stream(*m, tokens, state, one_token);
      const std::string what = model_file.substr(model_file.rfind('/') + 1) + " " + key + " " + type_name(t) +
                               (one_token ? " 1-tok" : " seq");
      // A few positions of these small models sit near ties; the exact top-1 bar is for the large random runs.
      const Tol tol = tolerance(t);
      report(what, compare(logits, want_logits, V), compare(state, want_state), tol, t == WeightType::F32 ? 1.0 : 0.95);
    }
  }
}

TEST(fixtures_tiny_and_synth) {
  fixture_case("fixtures/rwkv7/tiny-rwkv7-834K-fp32.pth", "tiny_prompt_quote_in", "tiny-rwkv7-834K.quote_in");
  fixture_case("fixtures/rwkv7/tiny-rwkv7-834K-bf16.pth", "tiny_prompt_fox", "tiny-rwkv7-834K.fox");
  fixture_case("fixtures/rwkv7/tiny-rwkv-7v0-834K-FP16.bin", "tiny_prompt_quote_in", "tiny-rwkv7-834K.quote_in");
  fixture_case("fixtures/rwkv7/synth-rwkv7-L3-D256-H4-fp32.pth", "synth_random48", "synth-rwkv7-L3-D256-H4.random48");
  fixture_case("fixtures/rwkv7/synth-rwkv7-L3-D256-H4-bf16.pth", "synth_random48", "synth-rwkv7-L3-D256-H4.random48");
}

// ---- random 0.1B-shape models vs the CPU fp32 engine ----

std::vector<int32_t> random_tokens(size_t n, int V, uint32_t seed) {
  std::mt19937 g(seed);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = static_cast<int32_t>(g() % V);
  return t;
}

struct Fixture01B {
  std::shared_ptr<const rwkv::TensorFile> file;
  std::shared_ptr<rwkv::Model> cpu;
  size_t V = 0, SF = 0;
};

Fixture01B& fx() {
  static Fixture01B f = [] {
    Fixture01B r;
    rwkv::RandomModelShape shape;  // 0.1B: L12 C768 F3072 V65536, ranks 64/64/32/128
    r.file = rwkv::random_rwkv7_tensors(shape, 2024);
    rwkv::EngineOptions o;
    o.device = "cpu";
    o.weights = WeightType::F32;
    r.cpu = rwkv::load_model(r.file, o);
    r.V = r.cpu->config().vocab_size;
    r.SF = r.cpu->state_floats();
    return r;
  }();
  return f;
}

// A realistic starting state: the CPU engine's state after a short random prefix.
std::vector<float> warm_state(uint32_t seed) {
  std::vector<float> st(fx().SF, 0.f);
  std::vector<int32_t> pre = random_tokens(6, static_cast<int>(fx().V), seed);
  rwkv::Sequence s{pre.data(), pre.size(), st.data(), LogitsMode::None, nullptr};
  fx().cpu->forward({s});
  return st;
}

struct Batch {
  std::vector<std::vector<int32_t>> tokens;
  std::vector<std::vector<float>> states, logits;
  std::vector<LogitsMode> modes;
};

Batch make_batch(const std::vector<size_t>& lens, const std::vector<LogitsMode>& modes, uint32_t seed) {
  Batch b;
  for (size_t i = 0; i < lens.size(); i++) {
    b.tokens.push_back(random_tokens(lens[i], static_cast<int>(fx().V), seed + 17 * static_cast<uint32_t>(i)));
    b.states.push_back(warm_state(seed + 1000 + static_cast<uint32_t>(i)));
    const size_t n = modes[i] == LogitsMode::All ? lens[i] : modes[i] == LogitsMode::Last ? 1 : 1;
    b.logits.emplace_back(n * fx().V, kNaN);
    b.modes.push_back(modes[i]);
  }
  return b;
}

void run_batch(rwkv::Model& m, Batch& b) {
  std::vector<rwkv::Sequence> seqs;
  for (size_t i = 0; i < b.tokens.size(); i++)
    seqs.push_back({b.tokens[i].data(), b.tokens[i].size(), b.states[i].data(), b.modes[i],
                    b.modes[i] == LogitsMode::None ? nullptr : b.logits[i].data()});
  m.forward(seqs);
}

// Compares every sequence of a GPU batch with the same batch on the CPU.
void compare_batch(const std::string& what, const Batch& gpu, const Batch& cpu, WeightType t) {
  std::vector<float> gl, cl, gs, cs;
  for (size_t i = 0; i < gpu.tokens.size(); i++) {
    if (gpu.modes[i] == LogitsMode::None) {
      // Nothing may be written for a sequence that asked for no logits.
      bool untouched = true;
      for (float v : gpu.logits[i]) untouched &= std::isnan(v);
      CHECK_MSG(untouched, "%s: sequence %zu asked for no logits but its buffer was written", what.c_str(), i);
      continue;
    }
    gl.insert(gl.end(), gpu.logits[i].begin(), gpu.logits[i].end());
    cl.insert(cl.end(), cpu.logits[i].begin(), cpu.logits[i].end());
  }
  for (size_t i = 0; i < gpu.states.size(); i++) {
    gs.insert(gs.end(), gpu.states[i].begin(), gpu.states[i].end());
    cs.insert(cs.end(), cpu.states[i].begin(), cpu.states[i].end());
  }
  const Tol tol = tolerance(t);
  report(what, compare(gl, cl, fx().V), compare(gs, cs), tol, tol.top1);
}

const std::vector<size_t> kBatchLens = {1, 23, 64, 131};
const std::vector<LogitsMode> kBatchModes = {LogitsMode::All, LogitsMode::Last, LogitsMode::All, LogitsMode::None};

TEST(random_0_1b_vs_cpu) {
  const size_t V = fx().V, SF = fx().SF;
  // Reference runs on the CPU, shared by every GPU storage type.
  const std::vector<int32_t> long_tokens = random_tokens(160, static_cast<int>(V), 7);
  std::vector<float> cpu_seq_state = warm_state(8);
  const std::vector<float> start_state = cpu_seq_state;
  const std::vector<float> cpu_seq_logits = run_stream(*fx().cpu, long_tokens, cpu_seq_state, false);

  Batch cpu_batch = make_batch(kBatchLens, kBatchModes, 100);
  const Batch batch_template = cpu_batch;
  run_batch(*fx().cpu, cpu_batch);

  // Decode, one token per stream per call: 3 streams x 6 steps (the small-batch GEMV path) and 10 streams x 2
  // steps (the GEMM path); both use the fused recurrence kernel.
  struct Decode {
    int streams, steps;
    std::vector<std::vector<int32_t>> tokens;
    std::vector<std::vector<float>> start, cpu_states;
    std::vector<float> cpu_logits;
  };
  std::vector<Decode> decodes = {{3, 6, {}, {}, {}, {}}, {10, 2, {}, {}, {}, {}}};
  auto decode = [&](rwkv::Model& m, const Decode& d, std::vector<std::vector<float>>& states) {
    std::vector<float> logits(static_cast<size_t>(d.streams) * d.steps * V, kNaN);
    for (int step = 0; step < d.steps; step++) {
      std::vector<rwkv::Sequence> seqs;
      for (int s = 0; s < d.streams; s++)
        seqs.push_back({&d.tokens[s][step], 1, states[s].data(), LogitsMode::Last,
                        logits.data() + (static_cast<size_t>(s) * d.steps + step) * V});
      m.forward(seqs);
    }
    return logits;
  };
  for (Decode& d : decodes) {
    for (int s = 0; s < d.streams; s++) {
      d.tokens.push_back(random_tokens(d.steps, static_cast<int>(V), 300 + s));
      d.start.push_back(warm_state(400 + s));
    }
    d.cpu_states = d.start;
    d.cpu_logits = decode(*fx().cpu, d, d.cpu_states);
  }
  auto flat = [](const std::vector<std::vector<float>>& v) {
    std::vector<float> o;
    for (auto& x : v) o.insert(o.end(), x.begin(), x.end());
    return o;
  };

  for (WeightType t : {WeightType::BF16, WeightType::F16, WeightType::F32}) {
    const std::string tn = type_name(t);
    auto m = gpu_model(fx().file, t);
    CHECK(m->device() == "cuda:0");
    CHECK(m->state_floats() == SF);
    CHECK(m->fingerprint() == fx().cpu->fingerprint());
    const Tol tol = tolerance(t);

    // Sequence mode: one stream, one call, logits of every position.
    {
      std::vector<float> st = start_state;
      std::vector<float> lg = run_stream(*m, long_tokens, st, false);
      report("0.1B seq T=160 " + tn, compare(lg, cpu_seq_logits, V), compare(st, cpu_seq_state), tol, tol.top1);
    }
    // Chunked: the same stream as calls of 50, 1, 33 and 76 tokens.
    {
      std::vector<float> st = start_state;
      std::vector<float> lg(long_tokens.size() * V, kNaN);
      size_t pos = 0;
      for (size_t len : {50, 1, 33, 76}) {
        rwkv::Sequence s{long_tokens.data() + pos, len, st.data(), LogitsMode::All, lg.data() + pos * V};
        m->forward({s});
        pos += len;
      }
      report("0.1B chunked 50+1+33+76 " + tn, compare(lg, cpu_seq_logits, V), compare(st, cpu_seq_state), tol,
             tol.top1);
    }
    // Batched: four streams of different lengths and logits modes, from warm states.
    {
      Batch b = batch_template;
      run_batch(*m, b);
      compare_batch("0.1B batch {1,23,64,131} " + tn, b, cpu_batch, t);
    }
    // One-token mode (the decode step, replayed from a CUDA graph).
    for (const Decode& d : decodes) {
      std::vector<std::vector<float>> states = d.start;
      std::vector<float> lg = decode(*m, d, states);
      report("0.1B decode " + std::to_string(d.streams) + " streams x " + std::to_string(d.steps) + " " + tn,
             compare(lg, d.cpu_logits, V), compare(flat(states), flat(d.cpu_states)), tol, tol.top1);
    }
  }
}

// Internal rounds (a call larger than one round of rows), decode without graphs, and the slot API, on bf16.
TEST(rounds_graphs_and_slots) {
  const size_t V = fx().V;
  Batch cpu_batch = make_batch(kBatchLens, kBatchModes, 100);
  const Batch batch_template = cpu_batch;
  run_batch(*fx().cpu, cpu_batch);

  rwkv::EngineOptions o;
  o.device = "cuda";
  o.weights = WeightType::BF16;
  ::setenv("RWKV_CUDA_MAX_ROWS", "48", 1);
  ::setenv("RWKV_CUDA_GRAPHS", "0", 1);
  auto small = rwkv::make_cuda_model_typed(fx().file, rwkv::rwkv7_params(*fx().file), o);
  ::unsetenv("RWKV_CUDA_MAX_ROWS");
  ::unsetenv("RWKV_CUDA_GRAPHS");
  auto big = rwkv::make_cuda_model_typed(fx().file, rwkv::rwkv7_params(*fx().file), o);
  CHECK(small->max_rows() == 48);
  {
    Batch b = batch_template;
    run_batch(*small, b);
    compare_batch("0.1B batch in rounds of 48 rows bf16", b, cpu_batch, WeightType::BF16);
  }

  // The same decode step with and without a graph, and through slots: the same kernels, so equal up to cuBLAS
  // picking another algorithm; a stale pointer in a replayed graph would show as an O(1) difference.
  const int B = 5;
  std::vector<int32_t> tok = random_tokens(B, static_cast<int>(V), 77);
  std::vector<std::vector<float>> st_graph, st_plain;
  for (int s = 0; s < B; s++) st_graph.push_back(warm_state(500 + s));
  st_plain = st_graph;
  std::vector<float> lg_graph(B * V, kNaN), lg_plain(B * V, kNaN), lg_slot(B * V, kNaN);
  std::vector<rwkv::Sequence> sg, sp;
  for (int s = 0; s < B; s++) {
    sg.push_back({&tok[s], 1, st_graph[s].data(), LogitsMode::Last, lg_graph.data() + s * V});
    sp.push_back({&tok[s], 1, st_plain[s].data(), LogitsMode::Last, lg_plain.data() + s * V});
  }
  big->forward(sg);
  small->forward(sp);
  const Diff gp = compare(lg_graph, lg_plain, V);
  std::printf("  graph vs no-graph decode: logits rel %.2e\n", gp.rel);
  CHECK(gp.finite && gp.rel < 1e-3);

  const int first = big->add_slots(B);
  std::vector<rwkv::CudaModel::SlotSequence> ss;
  for (int s = 0; s < B; s++) {
    big->write_slot(first + s, warm_state(500 + s).data());
    ss.push_back({&tok[s], 1, first + s, LogitsMode::Last, lg_slot.data() + s * V});
  }
  big->forward_slots(ss);
  const Diff sl = compare(lg_slot, lg_graph, V);
  std::vector<float> back(fx().SF, kNaN);
  big->read_slot(first + 2, back.data());
  const Diff sst = compare(back, st_graph[2]);
  std::printf("  slots vs forward: logits rel %.2e, state rel %.2e\n", sl.rel, sst.rel);
  CHECK(sl.finite && sl.rel < 1e-3);
  CHECK(sst.finite && sst.rel < 1e-3);
  // A long stream through a slot, in two calls, against forward() in one call.
  const std::vector<int32_t> toks = random_tokens(90, static_cast<int>(V), 78);
  std::vector<float> st_fwd = warm_state(600);
  big->write_slot(first, st_fwd.data());
  std::vector<float> lg_a(V, kNaN), lg_b(V, kNaN);
  rwkv::Sequence f{toks.data(), toks.size(), st_fwd.data(), LogitsMode::Last, lg_a.data()};
  big->forward({f});
  big->forward_slots({{toks.data(), 40, first, LogitsMode::None, nullptr}});
  big->forward_slots({{toks.data() + 40, 50, first, LogitsMode::Last, lg_b.data()}});
  big->read_slot(first, back.data());
  const Diff a = compare(lg_b, lg_a, V), b = compare(back, st_fwd);
  std::printf("  slot 40+50 vs forward 90: logits rel %.2e, state rel %.2e\n", a.rel, b.rel);
  CHECK(a.finite && a.rel < 1e-2 && a.top1 == 1.0);
  CHECK(b.finite && b.rel < 1e-2);
}

TEST(errors) {
  auto m = gpu_model(fx().file, WeightType::BF16);
  std::vector<float> st(m->state_floats(), 0.f), lg(fx().V);
  const int32_t bad = static_cast<int32_t>(fx().V);
  CHECK_THROWS_CODE((m->forward({rwkv::Sequence{&bad, 1, st.data(), LogitsMode::Last, lg.data()}})),
                    rwkv::code::kToken);
  const int32_t ok = 1;
  CHECK_THROWS_CODE((m->forward({rwkv::Sequence{&ok, 1, nullptr, LogitsMode::Last, lg.data()}})),
                    rwkv::code::kArgument);
  CHECK_THROWS_CODE((m->forward({rwkv::Sequence{&ok, 1, st.data(), LogitsMode::Last, nullptr}})),
                    rwkv::code::kArgument);
  rwkv::EngineOptions o;
  o.device = "cuda:99";
  o.weights = WeightType::BF16;
  CHECK_THROWS_CODE(rwkv::make_cuda_model(fx().file, rwkv::rwkv7_params(*fx().file), o), rwkv::code::kDevice);
  // The core's dispatch reaches this backend for device "cuda".
  rwkv::EngineOptions c;
  c.device = "cuda";
  c.weights = WeightType::BF16;
  CHECK(rwkv::load_model(fx().file, c)->device() == "cuda:0");
}

}  // namespace

int main() {
  std::string why;
  if (rwkv::cuda_device_count(&why) == 0) {
    std::printf("skipped: no CUDA device (%s)\n", why.c_str());
    return 0;
  }
  for (auto& [name, fn] : check::registry()) {
    const int before = check::failures();
    std::printf("%s\n", name.c_str());
    try {
      fn();
    } catch (const std::exception& e) {
      ++check::failures();
      std::fprintf(stderr, "%s: uncaught exception: %s\n", name.c_str(), e.what());
    }
    std::printf("%s %s\n", check::failures() == before ? "ok  " : "FAIL", name.c_str());
  }
  std::printf("%d failure(s)\n", check::failures());
  return check::failures() == 0 ? 0 : 1;
}
