// RWKV-7a DeepEmbed (x070-7a) on the CPU engine, against the official package's outputs for a random model in
// the official key layout (native/test/fixtures/deepembed, see its README): sequence, one-token and chunked
// modes, every position's logits and batches; s_emb_x optional; state identity that names the variant; the
// CUDA backend's refusal; and RWKV-7b refused with its version named.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "io/json.h"
#include "rwkv/error.h"
#include "rwkv/model.h"
#include "rwkv/state_blob.h"
#include "rwkv/tensor_file.h"
#include "test_io_writers.h"

namespace {

const std::string kStem = "deepembed/random-x070-7a-L2-C32";
constexpr double kTol = 1e-4;  // fp32 compute against the official package's fp32 compute

struct Expected {
  std::vector<int32_t> tokens;
  std::vector<size_t> chunks;
  std::vector<float> logits, logits_one_token, logits_chunked, logits_all;
  std::vector<float> state;
};

std::vector<float> floats(const rwkv::io::JsonValue& doc, const char* key) {
  std::vector<float> out;
  for (const auto& x : doc.get(key)->array) out.push_back(static_cast<float>(x.num));
  return out;
}

Expected load_expected() {
  std::vector<char> text = check::read_file(check::fixture_path(kStem + ".expected.json"));
  rwkv::io::JsonValue doc = rwkv::io::parse_json(std::string_view(text.data(), text.size()), kStem);
  Expected e;
  for (const auto& t : doc.get("tokens")->array) e.tokens.push_back(static_cast<int32_t>(t.u));
  for (const auto& c : doc.get("chunks")->array) e.chunks.push_back(static_cast<size_t>(c.u));
  e.logits = floats(doc, "logits");
  e.logits_one_token = floats(doc, "logits_one_token");
  e.logits_chunked = floats(doc, "logits_chunked");
  e.logits_all = floats(doc, "logits_all_positions");
  std::vector<char> bytes = check::read_file(check::fixture_path(kStem + ".expected.state.f32"));
  e.state.resize(bytes.size() / 4);
  std::memcpy(e.state.data(), bytes.data(), e.state.size() * 4);
  return e;
}

double max_diff(const float* a, const float* b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}
double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() ? max_diff(a.data(), b.data(), a.size()) : INFINITY;
}

std::string model_path() { return check::fixture_path(kStem + ".pth"); }

// Runs `tokens` from the initial state in chunks of the given sizes (the last one repeated); returns the last
// position's logits and leaves the final state in *state.
std::vector<float> run_chunks(rwkv::Model& m, const std::vector<int32_t>& tokens, const std::vector<size_t>& sizes,
                              std::vector<float>* state) {
  state->assign(m.state_floats(), 0.0f);
  m.initial_state(state->data());
  std::vector<float> logits(static_cast<size_t>(m.config().vocab_size));
  size_t pos = 0, which = 0;
  while (pos < tokens.size()) {
    const size_t n = std::min(sizes[std::min(which++, sizes.size() - 1)], tokens.size() - pos);
    m.forward({rwkv::Sequence{tokens.data() + pos, n, state->data(), rwkv::LogitsMode::Last, logits.data()}});
    pos += n;
  }
  return logits;
}

// The fixture's tensors, minus those `drop` names and with `zero` ones set to zeros, as a file in memory.
std::shared_ptr<rwkv::InMemoryTensorFile> edited(bool (*drop)(const std::string&), bool (*zero)(const std::string&)) {
  auto file = rwkv::TensorFile::open(model_path());
  auto out = std::make_shared<rwkv::InMemoryTensorFile>();
  for (const auto& [name, v] : file->tensors()) {
    if (drop && drop(name)) continue;
    if (zero && zero(name)) {
      std::vector<uint8_t> zeros(v.nbytes(), 0);
      out->add(name, v.dtype, v.shape, zeros.data());
    } else {
      out->add(name, v.dtype, v.shape, v.data);
    }
  }
  return out;
}

bool is_s_emb_x(const std::string& n) { return n.find(".ffn.s_emb_x.") != std::string::npos; }
bool is_deep_embed(const std::string& n) {
  for (const char* k : {".ffn.s_emb.", ".ffn.s_emb_x.", ".ffn.s0", ".ffn.s1", ".ffn.s2"})
    if (n.find(k) != std::string::npos) return true;
  return false;
}

rwkv::StateInfo identity(const rwkv::Model& m) {
  rwkv::StateInfo s;
  const rwkv::ModelConfig& c = m.config();
  s.version = c.version;
  s.model_fingerprint = m.fingerprint();
  s.n_layer = static_cast<uint32_t>(c.n_layer);
  s.n_embd = static_cast<uint32_t>(c.n_embd);
  s.n_head = static_cast<uint32_t>(c.n_head);
  s.head_size = static_cast<uint32_t>(c.head_size);
  s.n_floats = m.state_floats();
  return s;
}

}  // namespace

TEST(official_outputs_in_sequence_one_token_and_chunked_modes) {
  const Expected e = load_expected();
  auto m = rwkv::load_model(model_path(), rwkv::EngineOptions{});
  const rwkv::ModelConfig& c = m->config();
  CHECK_MSG(c.version == "x070-7a", "version %s", c.version.c_str());
  CHECK(c.file_dtype == "bf16" && c.n_layer == 2 && c.n_embd == 32 && c.n_head == 2 && c.vocab_size == 64 &&
        c.ffn == 128);
  CHECK(m->device() == "cpu");
  CHECK(m->state_floats() == e.state.size());
  struct Mode {
    const char* name;
    std::vector<size_t> sizes;
    const std::vector<float>* want;
  };
  const Mode modes[] = {{"sequence", {e.tokens.size()}, &e.logits},
                        {"one-token", {1}, &e.logits_one_token},
                        {"official chunks", e.chunks, &e.logits_chunked},
                        {"chunks 31", {31}, &e.logits},
                        {"chunks 1,2,3,...", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, &e.logits}};
  for (const Mode& mode : modes) {
    std::vector<float> state;
    const std::vector<float> logits = run_chunks(*m, e.tokens, mode.sizes, &state);
    const double dl = max_diff(logits, *mode.want), ds = max_diff(state, e.state);
    std::printf("  %-17s vs official: max|dlogit| %.3g max|dstate| %.3g\n", mode.name, dl, ds);
    CHECK_MSG(dl <= kTol, "%s: logits differ by %g", mode.name, dl);
    CHECK_MSG(ds <= kTol, "%s: state differs by %g", mode.name, ds);
  }
}

TEST(every_position_and_batched_streams_match_the_official_logits) {
  const Expected e = load_expected();
  auto m = rwkv::load_model(model_path(), rwkv::EngineOptions{});
  const size_t V = static_cast<size_t>(m->config().vocab_size), T = e.tokens.size();
  CHECK(e.logits_all.size() == T * V);
  // Three streams in one call, so rows of different tokens and segments share each GEMM: the whole text
  // with every position's logits, its first half, and its second half continuing from the first.
  std::vector<float> s_all(m->state_floats()), s_first(m->state_floats()), s_second;
  m->initial_state(s_all.data());
  m->initial_state(s_first.data());
  run_chunks(*m, std::vector<int32_t>(e.tokens.begin(), e.tokens.begin() + T / 2), {T}, &s_second);
  std::vector<float> all(T * V), first(V), second(V);
  m->forward(
      {rwkv::Sequence{e.tokens.data(), T, s_all.data(), rwkv::LogitsMode::All, all.data()},
       rwkv::Sequence{e.tokens.data(), T / 2, s_first.data(), rwkv::LogitsMode::Last, first.data()},
       rwkv::Sequence{e.tokens.data() + T / 2, T - T / 2, s_second.data(), rwkv::LogitsMode::Last, second.data()}});
  const double d_all = max_diff(all, e.logits_all);
  std::printf("  every position vs official: max|dlogit| %.3g\n", d_all);
  CHECK_MSG(d_all <= kTol, "all-position logits differ by %g", d_all);
  CHECK(max_diff(first.data(), e.logits_all.data() + (T / 2 - 1) * V, V) <= kTol);
  CHECK(max_diff(second, e.logits) <= kTol);
  CHECK(max_diff(s_all, e.state) <= kTol);
  CHECK(max_diff(s_second, e.state) <= kTol);
}

TEST(half_precision_weights_stay_close_to_the_official_logits) {
  // bf16/f16 matrices (the DeepEmbed ones included) take the other packing path. This file's weights are
  // bf16 values, exact in bf16 and nearly so in f16, so the logits stay within fp32 rounding.
  const Expected e = load_expected();
  for (rwkv::WeightType wt : {rwkv::WeightType::BF16, rwkv::WeightType::F16}) {
    rwkv::EngineOptions o;
    o.weights = wt;
    auto m = rwkv::load_model(model_path(), o);
    std::vector<float> state;
    const std::vector<float> logits = run_chunks(*m, e.tokens, {7}, &state);
    const double d = max_diff(logits, e.logits);
    const auto top = [](const std::vector<float>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); };
    std::printf("  %s weights: max|dlogit| %.3g\n", wt == rwkv::WeightType::BF16 ? "bf16" : "f16", d);
    CHECK_MSG(d <= 1e-3, "logits differ by %g", d);
    CHECK(top(logits) == top(e.logits));
  }
}

TEST(s_emb_x_is_optional_and_counts_when_present) {
  const Expected e = load_expected();
  auto without = rwkv::load_model(edited(is_s_emb_x, nullptr), rwkv::EngineOptions{});
  auto zeroed = rwkv::load_model(edited(nullptr, is_s_emb_x), rwkv::EngineOptions{});
  CHECK(without->config().version == "x070-7a");
  std::vector<float> sa, sb;
  const std::vector<float> a = run_chunks(*without, e.tokens, {5, 17, 1}, &sa);
  const std::vector<float> b = run_chunks(*zeroed, e.tokens, {5, 17, 1}, &sb);
  CHECK_MSG(max_diff(a, b) <= 1e-6 && max_diff(sa, sb) <= 1e-6, "no s_emb_x and a zero s_emb_x differ by %g",
            max_diff(a, b));
  CHECK_MSG(max_diff(a, e.logits) > 1e-2, "s_emb_x changed the logits by only %g", max_diff(a, e.logits));
}

TEST(inconsistent_deepembed_tensors_are_refused_with_the_tensor_named) {
  auto wide = edited(nullptr, nullptr);
  std::vector<float> s1(32 * 300, 0.01f);
  wide->add("blocks.0.ffn.s1", rwkv::DType::F32, {32, 300}, s1.data());
  CHECK_ERROR_MENTIONS(rwkv::load_model(wide, rwkv::EngineOptions{}), rwkv::code::kModelShape, "blocks.0.ffn.s1",
                       "D <= 256");
  auto narrow = edited(nullptr, nullptr);
  std::vector<float> s1b(32 * 16, 0.01f);
  narrow->add("blocks.1.ffn.s1", rwkv::DType::F32, {32, 16}, s1b.data());
  CHECK_ERROR_MENTIONS(rwkv::load_model(narrow, rwkv::EngineOptions{}), rwkv::code::kModelShape, "blocks.1.ffn.s1");
  auto short_emb = edited(nullptr, nullptr);
  std::vector<float> se(64 * 512, 0.01f);
  short_emb->add("blocks.1.ffn.s_emb.weight", rwkv::DType::F32, {64, 512}, se.data());
  CHECK_ERROR_MENTIONS(rwkv::load_model(short_emb, rwkv::EngineOptions{}), rwkv::code::kModelShape,
                       "blocks.1.ffn.s_emb.weight");
  auto missing = edited([](const std::string& n) { return n == "blocks.1.ffn.s0"; }, nullptr);
  CHECK_ERROR_MENTIONS(rwkv::load_model(missing, rwkv::EngineOptions{}), rwkv::code::kModelShape, "blocks.1.ffn.s0");
}

TEST(state_identity_names_the_variant) {
  auto de = rwkv::load_model(model_path(), rwkv::EngineOptions{});
  // The same file without its DeepEmbed tensors: a plain x070 model of the same shape and state size.
  auto plain = rwkv::load_model(edited(is_deep_embed, nullptr), rwkv::EngineOptions{});
  CHECK(plain->config().version == "x070");
  CHECK(plain->state_floats() == de->state_floats());
  const rwkv::StateInfo a = identity(*de), b = identity(*plain);
  std::vector<float> state(de->state_floats());
  de->initial_state(state.data());
  std::vector<uint8_t> blob(rwkv::state_blob_size(a.n_floats));
  rwkv::encode_state_blob(a, state.data(), blob.data());
  const rwkv::StateInfo read = rwkv::decode_state_blob(blob.data(), blob.size(), nullptr);
  CHECK(read.version == "x070-7a");
  rwkv::check_state_matches(read, a);
  // Refused on the version, before the fingerprint, in both directions.
  CHECK_ERROR_MENTIONS(rwkv::check_state_matches(read, b), rwkv::code::kStateMismatch, "model version", "x070-7a");
  CHECK_ERROR_MENTIONS(rwkv::check_state_matches(b, a), rwkv::code::kStateMismatch, "model version", "x070-7a");
}

TEST(the_cuda_backend_refuses_deepembed_and_auto_runs_it_on_the_cpu) {
  rwkv::EngineOptions o;
  o.device = "cuda";
  CHECK_ERROR_MENTIONS(rwkv::load_model(model_path(), o), rwkv::code::kDevice, "DeepEmbed", "x070-7a");
  o.device = "auto";
  CHECK(rwkv::load_model(model_path(), o)->device() == "cpu");
}

TEST(rwkv7b_is_refused_with_its_version_named) {
  // RWKV-7b (DeepEmbed with attention) adds per-layer qkv projections to the 7a layout.
  auto file = edited(nullptr, nullptr);
  std::vector<float> qkv(3 * 32 * 32, 0.01f);
  file->add("blocks.0.qkv.weight", rwkv::DType::F32, {96, 32}, qkv.data());
  file->add("blocks.1.qkv.weight", rwkv::DType::F32, {96, 32}, qkv.data());
  CHECK(rwkv::detect_version(file->tensors()) == "x070-7b");
  CHECK_ERROR_MENTIONS(rwkv::load_model(file, rwkv::EngineOptions{}), rwkv::code::kModelVersion, "x070-7b", "RWKV-7b");
  rwkv::EngineOptions o;
  o.device = "auto";
  CHECK_ERROR_MENTIONS(rwkv::load_model(file, o), rwkv::code::kModelVersion, "x070-7b");
}

TEST_MAIN()
