// The CPU engine against the reference fixtures (shared/fixtures/rwkv7, see its README): every case of
// expected_manifest.json on every model file of that case, in sequence mode, one-token mode and cut into
// chunks; rwkv.cpp's official expected logits; 16-bit weight storage; batched calls; and the refusals.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "io/json.h"
#include "model/rwkv7_params.h"
#include "rwkv/error.h"
#include "rwkv/model.h"
#include "rwkv/tensor_file.h"

namespace {

const std::string kDir = "fixtures/rwkv7/";

std::vector<float> read_f32(const std::string& rel) {
  std::vector<char> bytes = check::read_file(check::shared_path(rel));
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

struct ModelFile {
  std::string name;
  double tol;  // max |delta| against the float64 expectations
};

struct Case {
  std::string name;
  std::vector<int32_t> tokens;
  std::vector<float> logits;  // [T][V]
  std::vector<float> state;
  int vocab = 0;
  std::vector<ModelFile> files;
};

std::vector<Case> load_cases() {
  std::vector<char> text = check::read_file(check::shared_path(kDir + "expected_manifest.json"));
  rwkv::io::JsonValue doc = rwkv::io::parse_json(std::string_view(text.data(), text.size()), "manifest");
  std::vector<Case> cases;
  for (const auto& [name, c] : doc.object) {
    Case k;
    k.name = name;
    for (const auto& t : c.get("tokens")->array) k.tokens.push_back(static_cast<int32_t>(t.u));
    k.logits = read_f32(kDir + c.get("logits_file")->str);
    k.state = read_f32(kDir + c.get("state_file")->str);
    k.vocab = static_cast<int>(c.get("model")->get("vocab")->u);
    const std::string& lf = c.get("logits_file")->str;
    if (lf.rfind("tiny-rwkv7-834K.", 0) == 0) {
      // The FP16 ggml file holds the same bf16-exact weights in fp16, which represents them exactly, so it is
      // held to the fp32 tolerance too.
      k.files = {{"tiny-rwkv7-834K-fp32.pth", 1e-4},
                 {"tiny-rwkv7-834K-bf16.pth", 1e-4},
                 {"tiny-rwkv-7v0-834K-FP32.bin", 1e-4},
                 {"tiny-rwkv-7v0-834K-FP16.bin", 1e-4}};
    } else if (lf.rfind("synth-rwkv7-L3-D256-H4.", 0) == 0) {
      k.files = {{"synth-rwkv7-L3-D256-H4-fp32.pth", 1e-4}, {"synth-rwkv7-L3-D256-H4-bf16.pth", 1e-4}};
    }
    CHECK_MSG(!k.files.empty(), "no model files known for case %s", name.c_str());
    CHECK(k.logits.size() == k.tokens.size() * static_cast<size_t>(k.vocab));
    cases.push_back(std::move(k));
  }
  CHECK(cases.size() == 3);
  return cases;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = load_cases();
  return c;
}

double max_abs_diff(const float* a, const float* b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) m = std::max(m, static_cast<double>(std::fabs(a[i] - b[i])));
  return m;
}

struct Output {
  std::vector<float> logits, state;
};

// Runs `tokens` from the zero state in chunks that end at `cuts` (increasing, the last one = tokens.size()).
Output run_chunks(rwkv::Model& m, const std::vector<int32_t>& tokens, const std::vector<size_t>& cuts) {
  const size_t V = static_cast<size_t>(m.config().vocab_size);
  Output o;
  o.state.assign(m.state_floats(), 0.0f);
  o.logits.assign(tokens.size() * V, 0.0f);
  size_t at = 0;
  for (size_t end : cuts) {
    rwkv::Sequence s{tokens.data() + at, end - at, o.state.data(), rwkv::LogitsMode::All, o.logits.data() + at * V};
    m.forward({s});
    at = end;
  }
  return o;
}

std::shared_ptr<rwkv::Model> load(const std::string& file, rwkv::WeightType w = rwkv::WeightType::F32,
                                  int threads = 2) {
  rwkv::EngineOptions o;
  o.weights = w;
  o.threads = threads;
  return rwkv::load_model(check::shared_path(kDir + file), o);
}

void check_against(const Case& c, const ModelFile& f, const char* mode, const Output& o) {
  double dl = max_abs_diff(o.logits.data(), c.logits.data(), c.logits.size());
  double ds = max_abs_diff(o.state.data(), c.state.data(), c.state.size());
  CHECK_MSG(o.state.size() == c.state.size(), "%s: state size %zu, expected %zu", f.name.c_str(), o.state.size(),
            c.state.size());
  CHECK_MSG(dl <= f.tol && ds <= f.tol, "%s on %s (%s): max |dlogit| %.3g, max |dstate| %.3g (tolerance %.g)",
            c.name.c_str(), f.name.c_str(), mode, dl, ds, f.tol);
}

TEST(every_case_every_file_sequence_one_token_and_chunked) {
  std::mt19937 rng(20250707);
  for (const Case& c : cases()) {
    for (const ModelFile& f : c.files) {
      auto m = load(f.name);
      CHECK(m->config().version == "x070");
      CHECK(m->config().vocab_size == c.vocab);
      CHECK(m->device() == "cpu");
      const size_t T = c.tokens.size();
      Output seq = run_chunks(*m, c.tokens, {T});
      check_against(c, f, "sequence", seq);

      std::vector<size_t> each(T);
      for (size_t i = 0; i < T; i++) each[i] = i + 1;
      Output one = run_chunks(*m, c.tokens, each);
      check_against(c, f, "one token", one);

      for (int trial = 0; trial < 3 && T > 2; trial++) {
        std::vector<size_t> cuts;
        for (int i = 0; i < 3; i++) cuts.push_back(1 + rng() % (T - 1));
        cuts.push_back(T);
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
        Output chunked = run_chunks(*m, c.tokens, cuts);
        check_against(c, f, "chunked", chunked);
        // Cutting is exact in this engine: the same bits as one uncut call.
        CHECK_MSG(chunked.logits == seq.logits && chunked.state == seq.state, "%s on %s: chunked differs from uncut",
                  c.name.c_str(), f.name.c_str());
      }
      CHECK_MSG(one.logits == seq.logits && one.state == seq.state, "%s on %s: one-token differs from sequence",
                c.name.c_str(), f.name.c_str());
    }
  }
}

TEST(sixteen_bit_weight_storage_matches_fp32) {
  for (const Case& c : cases()) {
    for (const ModelFile& f : c.files) {
      auto full = load(f.name);
      Output ref = run_chunks(*full, c.tokens, {c.tokens.size()});
      // bf16 storage is exact for these bf16-representable weights; f16 storage for the fp16 file.
      const bool fp16_file = f.name.find("FP16") != std::string::npos;
      auto narrow = load(f.name, fp16_file ? rwkv::WeightType::F16 : rwkv::WeightType::BF16);
      Output o = run_chunks(*narrow, c.tokens, {c.tokens.size()});
      check_against(c, f, fp16_file ? "f16 weights" : "bf16 weights", o);
      CHECK_MSG(o.logits == ref.logits && o.state == ref.state, "%s: 16-bit storage of exact weights changed results",
                f.name.c_str());
    }
  }
}

TEST(rwkv_cpp_expected_logits) {
  const std::vector<float> expected = read_f32(kDir + "expected-logits-7v0-834K.bin");
  CHECK(expected.size() == 256);
  for (const char* file : {"tiny-rwkv-7v0-834K-FP32.bin", "tiny-rwkv-7v0-834K-FP16.bin", "tiny-rwkv7-834K-bf16.pth"}) {
    auto m = load(file);
    CHECK(m->config().format == (std::string(file).find(".bin") != std::string::npos ? "ggml" : "pth"));
    std::vector<float> state(m->state_floats(), 0.0f), logits(256);
    for (int32_t t : {34, 105, 110}) {
      rwkv::Sequence s{&t, 1, state.data(), rwkv::LogitsMode::Last, logits.data()};
      m->forward({s});
    }
    double d = max_abs_diff(logits.data(), expected.data(), 256);
    CHECK_MSG(d <= 1e-4, "%s: max |dlogit| vs rwkv.cpp %.3g", file, d);
    CHECK(std::max_element(logits.begin(), logits.end()) - logits.begin() == 32);
  }
}

TEST(batched_sequences_equal_one_at_a_time) {
  for (const char* file : {"synth-rwkv7-L3-D256-H4-fp32.pth", "tiny-rwkv7-834K-bf16.pth"}) {
    for (rwkv::WeightType w : {rwkv::WeightType::F32, rwkv::WeightType::BF16}) {
      auto m = load(file, w, 3);
      const size_t V = static_cast<size_t>(m->config().vocab_size);
      std::mt19937 rng(7);
      std::vector<std::vector<int32_t>> toks;
      for (size_t len : {5u, 1u, 17u, 2u, 40u}) {
        std::vector<int32_t> t(len);
        for (auto& x : t) x = static_cast<int32_t>(rng() % V);
        toks.push_back(t);
      }
      const rwkv::LogitsMode modes[] = {rwkv::LogitsMode::All, rwkv::LogitsMode::Last, rwkv::LogitsMode::None,
                                        rwkv::LogitsMode::Last, rwkv::LogitsMode::All};
      // Alone, each from its own non-zero state (after a short prefix).
      std::vector<std::vector<float>> start, alone_state, alone_logits;
      for (size_t i = 0; i < toks.size(); i++) {
        std::vector<float> st(m->state_floats(), 0.0f), scratch(V);
        int32_t pre[2] = {static_cast<int32_t>(i), static_cast<int32_t>(3 * i + 1)};
        m->forward({rwkv::Sequence{pre, 2, st.data(), rwkv::LogitsMode::None, nullptr}});
        start.push_back(st);
        std::vector<float> lg(modes[i] == rwkv::LogitsMode::All ? toks[i].size() * V : V, -1.0f);
        m->forward({rwkv::Sequence{toks[i].data(), toks[i].size(), st.data(), modes[i], lg.data()}});
        alone_state.push_back(st);
        alone_logits.push_back(lg);
      }
      std::vector<std::vector<float>> states = start, logits;
      std::vector<rwkv::Sequence> seqs;
      for (size_t i = 0; i < toks.size(); i++)
        logits.emplace_back(modes[i] == rwkv::LogitsMode::All ? toks[i].size() * V : V, -1.0f);
      for (size_t i = 0; i < toks.size(); i++)
        seqs.push_back({toks[i].data(), toks[i].size(), states[i].data(), modes[i], logits[i].data()});
      m->forward(seqs);
      for (size_t i = 0; i < toks.size(); i++) {
        CHECK_MSG(states[i] == alone_state[i], "%s sequence %zu: batched state differs", file, i);
        CHECK_MSG(logits[i] == alone_logits[i], "%s sequence %zu: batched logits differ", file, i);
      }
    }
  }
}

TEST(calls_larger_than_one_round) {
  // More tokens than the engine stacks in one activation matrix (1024 rows): a long sequence and a batch whose
  // sequences straddle rounds must give the bits of shorter calls.
  auto m = load("tiny-rwkv7-834K-bf16.pth");
  std::mt19937 rng(11);
  std::vector<int32_t> tokens(2500);
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % 256);
  Output whole = run_chunks(*m, tokens, {tokens.size()});
  Output pieces = run_chunks(*m, tokens, {700, 1400, 2100, 2500});
  CHECK(whole.logits == pieces.logits && whole.state == pieces.state);

  std::vector<std::vector<float>> st(3, std::vector<float>(m->state_floats(), 0.0f)), alone = st;
  std::vector<float> lg(3 * 256), lg_alone(3 * 256);
  std::vector<rwkv::Sequence> seqs;
  for (size_t i = 0; i < 3; i++)
    seqs.push_back({tokens.data() + 600 * i, 600, st[i].data(), rwkv::LogitsMode::Last, lg.data() + 256 * i});
  m->forward(seqs);
  for (size_t i = 0; i < 3; i++)
    m->forward({rwkv::Sequence{tokens.data() + 600 * i, 600, alone[i].data(), rwkv::LogitsMode::Last,
                               lg_alone.data() + 256 * i}});
  CHECK(st == alone);
  CHECK(lg == lg_alone);
}

TEST(one_token_decode_batch) {
  // A decode step for several streams at once (one token each) equals separate steps.
  auto m = load("synth-rwkv7-L3-D256-H4-bf16.pth");
  const size_t V = 1024;
  std::vector<std::vector<float>> st(4, std::vector<float>(m->state_floats(), 0.0f)), st2 = st;
  std::vector<std::vector<float>> lg(4, std::vector<float>(V)), lg2 = lg;
  for (int step = 0; step < 3; step++) {
    std::vector<int32_t> tok = {step, 100 + step, 1023, 7 * step};
    std::vector<rwkv::Sequence> seqs;
    for (size_t i = 0; i < 4; i++) seqs.push_back({&tok[i], 1, st[i].data(), rwkv::LogitsMode::Last, lg[i].data()});
    m->forward(seqs);
    for (size_t i = 0; i < 4; i++)
      m->forward({rwkv::Sequence{&tok[i], 1, st2[i].data(), rwkv::LogitsMode::Last, lg2[i].data()}});
  }
  CHECK(st == st2);
  CHECK(lg == lg2);
}

TEST(config_and_fingerprint) {
  auto a = load("tiny-rwkv7-834K-fp32.pth");
  const rwkv::ModelConfig& c = a->config();
  CHECK(c.n_layer == 12 && c.n_embd == 64 && c.n_head == 1 && c.head_size == 64 && c.vocab_size == 256 && c.ffn == 256);
  CHECK(c.format == "pth" && c.file_dtype == "f32");
  CHECK(c.ranks.size() == 12 && c.ranks[0].w == 32 && c.ranks[0].v == 0 && c.ranks[1].v == 32);
  CHECK(a->state_floats() == 50688);
  CHECK(a->fingerprint().size() == 16);
  CHECK(load("tiny-rwkv7-834K-fp32.pth", rwkv::WeightType::BF16)->fingerprint() == a->fingerprint());
  CHECK(load("tiny-rwkv7-834K-bf16.pth")->fingerprint() != a->fingerprint());
  auto s = load("synth-rwkv7-L3-D256-H4-bf16.pth");
  CHECK(s->config().n_head == 4 && s->config().ffn == 896 && s->config().file_dtype == "bf16");
  CHECK(s->config().ranks[2].w == 32 && s->config().ranks[2].a == 48 && s->config().ranks[2].v == 16 &&
        s->config().ranks[2].g == 64);
}

TEST(refuses_bad_tokens_and_arguments) {
  auto m = load("tiny-rwkv7-834K-fp32.pth");
  std::vector<float> state(m->state_floats(), 0.0f), logits(256 * 4);
  const std::vector<float> zero = state;
  for (int32_t bad : {256, -1, 1 << 30}) {
    int32_t t[3] = {1, bad, 2};
    CHECK_THROWS_CODE(m->forward({rwkv::Sequence{t, 3, state.data(), rwkv::LogitsMode::Last, logits.data()}}),
                      rwkv::code::kToken);
  }
  CHECK(state == zero);  // a refused call leaves the state alone
  int32_t t[2] = {1, 2};
  CHECK_THROWS_CODE(m->forward({rwkv::Sequence{t, 2, nullptr, rwkv::LogitsMode::Last, logits.data()}}),
                    rwkv::code::kArgument);
  CHECK_THROWS_CODE(m->forward({rwkv::Sequence{nullptr, 2, state.data(), rwkv::LogitsMode::None, nullptr}}),
                    rwkv::code::kArgument);
  CHECK_THROWS_CODE(m->forward({rwkv::Sequence{t, 2, state.data(), rwkv::LogitsMode::All, nullptr}}),
                    rwkv::code::kArgument);
  CHECK_THROWS_CODE(m->forward({rwkv::Sequence{t, 0, state.data(), rwkv::LogitsMode::Last, logits.data()}}),
                    rwkv::code::kArgument);
  CHECK_THROWS_CODE(m->forward({rwkv::Sequence{t, 1, state.data(), rwkv::LogitsMode::None, nullptr},
                                rwkv::Sequence{t, 1, state.data(), rwkv::LogitsMode::None, nullptr}}),
                    rwkv::code::kArgument);
  // Empty calls and empty sequences are no-ops.
  m->forward({});
  m->forward({rwkv::Sequence{nullptr, 0, state.data(), rwkv::LogitsMode::None, nullptr}});
  CHECK(state == zero);

  rwkv::EngineOptions o;
  o.device = "tpu";
  CHECK_THROWS_CODE(rwkv::load_model(check::shared_path(kDir + "tiny-rwkv7-834K-fp32.pth"), o), rwkv::code::kArgument);
  o.device = "cpu";
  o.threads = -1;
  CHECK_THROWS_CODE(rwkv::load_model(check::shared_path(kDir + "tiny-rwkv7-834K-fp32.pth"), o), rwkv::code::kArgument);
  // A build without the CUDA backend refuses a named GPU and runs "auto" on the CPU (the dispatcher alone
  // knows which build this is, so the test asks it).
  if (!rwkv::capabilities().cuda_compiled) {
    o.threads = 0;
    o.device = "cuda";
    CHECK_THROWS_CODE(rwkv::load_model(check::shared_path(kDir + "tiny-rwkv7-834K-fp32.pth"), o), rwkv::code::kDevice);
    o.device = "auto";
    CHECK(rwkv::load_model(check::shared_path(kDir + "tiny-rwkv7-834K-fp32.pth"), o)->device() == "cpu");
    CHECK(rwkv::capabilities().cuda_devices == 0);
  }
}

// The RWKV-7 parameter table refuses every other generation, naming it (load_model routes those that another
// backend runs elsewhere before it gets here).
void expect_version_error(const std::string& rel, const std::string& version) {
  try {
    auto file = rwkv::TensorFile::open(check::shared_path(rel));
    rwkv::rwkv7_params(*file);
    CHECK_MSG(false, "%s was taken as RWKV-7", rel.c_str());
  } catch (const rwkv::Error& e) {
    CHECK_MSG(e.code() == rwkv::code::kModelVersion, "%s: %s (%s)", rel.c_str(), e.code().c_str(), e.what());
    CHECK_MSG(std::string(e.what()).find(version) != std::string::npos, "%s: message \"%s\" lacks %s", rel.c_str(),
              e.what(), version.c_str());
  }
}

TEST(rwkv7_table_refuses_older_versions) {
  expect_version_error("fixtures/older/random-v4-L2-C128.pth", "v4");
  expect_version_error("fixtures/older/random-v5.2-L2-C128.pth", "x052");
  expect_version_error("fixtures/older/random-v6-L2-C128.pth", "x060");
  expect_version_error("fixtures/older/tiny-rwkv-4v0-660K-FP32.bin", "v4");
  expect_version_error("fixtures/older/tiny-rwkv-5v1-730K-FP32.bin", "x050");  // no att.gate: 5.0 by the key rules
  expect_version_error("fixtures/older/tiny-rwkv-5v2-730K-FP16.bin", "x052");
}

// An in-memory copy of the tiny model with `edit` applied to its tensor table.
std::shared_ptr<rwkv::InMemoryTensorFile> edited_tiny(
    const std::function<void(std::map<std::string, std::pair<rwkv::TensorView, std::vector<uint8_t>>>&)>& edit) {
  auto src = rwkv::TensorFile::open(check::shared_path(kDir + "tiny-rwkv7-834K-fp32.pth"));
  std::map<std::string, std::pair<rwkv::TensorView, std::vector<uint8_t>>> t;
  for (const auto& [name, v] : src->tensors()) t[name] = {v, std::vector<uint8_t>(v.data, v.data + v.nbytes())};
  edit(t);
  auto out = std::make_shared<rwkv::InMemoryTensorFile>();
  for (auto& [name, p] : t) out->add(name, p.first.dtype, p.first.shape, p.second.data());
  return out;
}

void expect_error(const std::shared_ptr<rwkv::InMemoryTensorFile>& f, const char* code, const std::string& needle) {
  try {
    rwkv::load_model(f, rwkv::EngineOptions{});
    CHECK_MSG(false, "model with %s loaded", needle.c_str());
  } catch (const rwkv::Error& e) {
    CHECK_MSG(e.code() == code, "%s: got %s (%s)", needle.c_str(), e.code().c_str(), e.what());
    CHECK_MSG(std::string(e.what()).find(needle) != std::string::npos, "message \"%s\" lacks %s", e.what(),
              needle.c_str());
  }
}

TEST(refuses_wrong_shapes_and_variants) {
  using Table = std::map<std::string, std::pair<rwkv::TensorView, std::vector<uint8_t>>>;
  expect_error(edited_tiny([](Table& t) {
                 auto& [v, bytes] = t.at("blocks.3.att.key.weight");
                 v.shape = {64, 63};
                 bytes.resize(64 * 63 * 4);
               }),
               rwkv::code::kModelShape, "blocks.3.att.key.weight");
  expect_error(edited_tiny([](Table& t) {
                 auto& [v, bytes] = t.at("blocks.5.att.a2");
                 v.shape = {16, 64};
                 bytes.resize(16 * 64 * 4);
               }),
               rwkv::code::kModelShape, "blocks.5.att.a2");
  expect_error(edited_tiny([](Table& t) {
                 auto& [v, bytes] = t.at("blocks.7.ffn.value.weight");
                 v.shape = {64, 255};
                 bytes.resize(64 * 255 * 4);
               }),
               rwkv::code::kModelShape, "blocks.7.ffn.value.weight");
  expect_error(edited_tiny([](Table& t) { t.erase("blocks.11.ln2.bias"); }), rwkv::code::kModelShape,
               "blocks.11.ln2.bias");
  expect_error(edited_tiny([](Table& t) {
                 auto& [v, bytes] = t.at("head.weight");
                 v.shape = {255, 64};
                 bytes.resize(255 * 64 * 4);
               }),
               rwkv::code::kModelShape, "head.weight");
  expect_error(edited_tiny([](Table& t) {
                 auto e = t.at("blocks.0.att.x_r");
                 t["blocks.0.ffn.s_emb.weight"] = e;
               }),
               rwkv::code::kModelShape, "blocks.0.ffn.s1");  // a DeepEmbed (x070-7a) layer missing its other tensors
  expect_error(edited_tiny([](Table& t) {
                 auto e = t.at("blocks.0.att.x_r");
                 t["blocks.2.qkv.k1"] = e;
               }),
               rwkv::code::kModelVersion, "x070-7b");
  expect_error(edited_tiny([](Table& t) {
                 auto e = t.at("blocks.0.att.x_r");
                 t["_strategy"] = e;
               }),
               rwkv::code::kModelFormat, "ChatRWKV");
  // Unused layer-0 value-residual tensors are ignored, whatever their shape.
  auto extra = edited_tiny([](Table& t) {
    auto e = t.at("blocks.0.att.x_r");
    e.first.shape = {4, 16};
    t["blocks.0.att.v0"] = e;
    t["blocks.0.att.v1"] = e;
  });
  CHECK(rwkv::load_model(extra, rwkv::EngineOptions{})->config().n_layer == 12);
}

}  // namespace

TEST_MAIN()
