// RWKV-4/5/6 files other than the official .pth: rwkv.cpp .bin files written from the random fixtures with
// the changes rwkv.cpp's converter makes (so RWKV-6, which has no rwkv.cpp fixture, is covered too) must give
// the logits of the .pth's weights; and state-tuning files (blocks.{i}.att.time_state), as separate files and inside a
// model file, must start a document from the state they hold.
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/float16.h"
#include "rwkv/error.h"
#include "rwkv/model.h"
#include "rwkv/tensor_file.h"
#include "test_io_writers.h"

namespace {

using rwkv::cpu::f32_to_f16;

const std::string kDir = "fixtures/older/";

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); i++) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// The official tensors as rwkv.cpp's converter writes them (python/convert_pytorch_to_ggml.py): .time_*
// squeezed, then per version the changes listed in fixtures/older/README.md; with fp16, every matrix that is
// not a .time_* tensor is stored as fp16.
std::vector<iotest::GgmlTensor> as_rwkv_cpp(const rwkv::TensorFile& file, bool fp16) {
  const auto& t = file.tensors();
  const bool v6 = t.count("blocks.0.att.time_maa_x") != 0;
  const bool v5 = t.count("blocks.0.att.ln_x.weight") != 0;
  const bool gate = t.count("blocks.0.att.gate.weight") != 0;
  const int64_t heads = v6 ? t.at("blocks.0.att.time_faaaa").shape[0] : 0;
  std::vector<iotest::GgmlTensor> out;
  for (const auto& [name, view] : t) {
    std::vector<float> v = rwkv::tensor_to_f32(view);
    std::vector<int64_t> shape = view.shape;
    const bool time = contains(name, ".time_");
    if (time) {
      std::vector<int64_t> squeezed;
      for (int64_t d : shape)
        if (d != 1) squeezed.push_back(d);
      shape = squeezed;
    }
    auto transpose2 = [&](int64_t batch, int64_t rows, int64_t cols) {
      std::vector<float> o(v.size());
      for (int64_t b = 0; b < batch; b++)
        for (int64_t r = 0; r < rows; r++)
          for (int64_t c = 0; c < cols; c++)
            o[static_cast<size_t>((b * cols + c) * rows + r)] = v[static_cast<size_t>((b * rows + r) * cols + c)];
      v = o;
    };
    if (v6) {
      if (contains(name, ".time_faaaa")) shape.push_back(1);
      if (contains(name, ".time_maa_w1") || contains(name, ".time_decay_w")) {
        transpose2(1, shape[0], shape[1]);
        shape = {shape[1], shape[0]};
      }
      if (contains(name, ".time_maa_w2")) {
        transpose2(shape[0], shape[1], shape[2]);
        shape = {shape[0], shape[2], shape[1]};
      }
      if (contains(name, ".time_decay") && !contains(name, "_w"))
        shape = {heads, static_cast<int64_t>(v.size()) / heads, 1};
    } else if (v5) {
      if (contains(name, ".time_decay")) {
        for (float& x : v) x = static_cast<float>(std::exp(-std::exp(static_cast<double>(x))));
        if (gate)
          shape.push_back(1);
        else
          shape = {static_cast<int64_t>(v.size()), 1, 1};
      }
      if (contains(name, ".time_first")) {
        for (float& x : v) x = static_cast<float>(std::exp(static_cast<double>(x)));
        shape = {static_cast<int64_t>(v.size()), 1, 1};
      }
      if (contains(name, ".time_faaaa")) shape.push_back(1);
    } else if (contains(name, ".time_decay")) {
      for (float& x : v) x = static_cast<float>(-std::exp(static_cast<double>(x)));
    }
    iotest::GgmlTensor g{name, 0, shape, {}};
    if (fp16 && shape.size() > 1 && !time) {
      g.type = 1;
      g.data.resize(v.size() * 2);
      for (size_t i = 0; i < v.size(); i++) {
        const uint16_t h = f32_to_f16(v[i]);
        std::memcpy(&g.data[2 * i], &h, 2);
      }
    } else {
      g.data = f32_bytes(v);
    }
    out.push_back(std::move(g));
  }
  return out;
}

std::vector<float> first_logits(rwkv::Model& m, const std::vector<int32_t>& tokens, std::vector<float> state) {
  std::vector<float> logits(static_cast<size_t>(m.config().vocab_size));
  m.forward({rwkv::Sequence{tokens.data(), tokens.size(), state.data(), rwkv::LogitsMode::Last, logits.data()}});
  return logits;
}

const std::vector<int32_t> kTokens = {7, 300, 511, 0, 42, 42, 128, 5, 260, 99, 17, 400};

}  // namespace

TEST(rwkv_cpp_bins_of_every_older_version_match_the_pth) {
  for (const char* stem : {"random-v4-L2-C128", "random-v5.2-L2-C128", "random-v6-L2-C128"}) {
    const std::string pth = check::shared_path(kDir + stem + ".pth");
    auto file = rwkv::TensorFile::open(pth);
    // The reference is the .pth's weights in fp32: a .bin stores the embedding in fp32 or fp16, so ln0(emb)
    // is exact, not the bf16 LayerNorm of the bf16 .pth (see Rwkv456CpuWeights::official_bf16_ln0).
    auto widened = std::make_shared<rwkv::InMemoryTensorFile>();
    for (const auto& [name, view] : file->tensors())
      widened->add(name, rwkv::DType::F32, view.shape, rwkv::tensor_to_f32(view).data());
    auto ref_model = rwkv::load_model(widened, rwkv::EngineOptions{});
    std::vector<float> zero(ref_model->state_floats());
    ref_model->initial_state(zero.data());
    const std::vector<float> ref = first_logits(*ref_model, kTokens, zero);
    const auto& c = ref_model->config();
    std::vector<float> fp32_bin;
    for (bool fp16 : {false, true}) {
      iotest::TempFile bin(".bin");
      bin.write(iotest::ggml_bytes(c.vocab_size, c.n_embd, c.n_layer, fp16 ? 1 : 0, as_rwkv_cpp(*file, fp16)));
      auto back = rwkv::TensorFile::open(bin.path());
      // Every tensor reads back in the official shape, with the official values (the decays after their
      // round trip through exp and log).
      for (const auto& [name, view] : file->tensors()) {
        auto it = back->tensors().find(name);
        if (it == back->tensors().end()) {
          CHECK_MSG(false, "%s: %s missing from the .bin", stem, name.c_str());
          continue;
        }
        CHECK_MSG(it->second.shape == view.shape, "%s: %s has another shape after the round trip", stem, name.c_str());
        if (!fp16 || contains(name, ".time_")) {
          const double d = max_diff(rwkv::tensor_to_f32(it->second), rwkv::tensor_to_f32(view));
          CHECK_MSG(d <= 1e-5, "%s: %s differs by %g", stem, name.c_str(), d);
        }
      }
      auto m = rwkv::load_model(bin.path(), rwkv::EngineOptions{});
      CHECK(m->config().version == c.version && m->config().format == "ggml");
      CHECK(m->config().file_dtype == (fp16 ? "f16" : "f32"));
      const std::vector<float> got = first_logits(*m, kTokens, zero);
      if (!fp16) fp32_bin = got;
      const double d = max_diff(got, ref);
      std::printf("  %s %s .bin vs the .pth in fp32: max|dlogit| %.3g\n", stem, fp16 ? "FP16" : "FP32", d);
      if (c.version == "x052") {
        // rwkv.cpp runs RWKV-5's ln_x with eps 1e-5 where the official code uses 64e-5 (Rwkv456Params), so
        // the same weights give slightly different logits from a .bin than from the .pth.
        CHECK_MSG(d > 0 && d <= 2e-2, "%s: %s .bin logits differ by %g", stem, fp16 ? "FP16" : "FP32", d);
      } else {
        CHECK_MSG(d <= (fp16 ? 1e-4 : 1e-6), "%s: %s .bin logits differ by %g", stem, fp16 ? "FP16" : "FP32", d);
      }
      // These bf16 weights are exact in fp16 too unless very small, so FP16 files land next to FP32 ones.
      if (fp16)
        CHECK_MSG(max_diff(got, fp32_bin) <= 1e-4, "%s: FP16 and FP32 .bin differ by %g", stem,
                  max_diff(got, fp32_bin));
    }
  }
}

TEST(quantized_bins_are_refused_with_the_type_named) {
  auto file = rwkv::TensorFile::open(check::shared_path(kDir + "random-v4-L2-C128.pth"));
  auto tensors = as_rwkv_cpp(*file, false);
  for (auto& t : tensors) {
    if (t.name == "blocks.0.att.key.weight") t.type = 8;  // Q5_1
  }
  iotest::TempFile bin(".bin");
  bin.write(iotest::ggml_bytes(512, 128, 2, 0, tensors));
  CHECK_ERROR_MENTIONS(rwkv::load_model(bin.path(), rwkv::EngineOptions{}), rwkv::code::kModelDtype, "Q5_1",
                       "blocks.0.att.key.weight");
}

TEST(state_tuning_file_sets_the_initial_wkv_state) {
  auto m = rwkv::load_model(check::shared_path(kDir + "random-v6-L2-C128.pth"), rwkv::EngineOptions{});
  const auto& c = m->config();
  const size_t H = static_cast<size_t>(c.n_head), N = static_cast<size_t>(c.head_size),
               C = static_cast<size_t>(c.n_embd);
  const size_t per_layer = 2 * C + H * N * N;
  // A state-tuning file as RWKV-LM writes it: one (H, N, N) tensor per layer, [head][value][key].
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  std::vector<std::vector<float>> ts(static_cast<size_t>(c.n_layer), std::vector<float>(H * N * N));
  std::map<std::string, rwkv::TensorView> tensors;
  for (int l = 0; l < c.n_layer; l++) {
    for (float& x : ts[static_cast<size_t>(l)]) x = normal(rng);
    tensors["blocks." + std::to_string(l) + ".att.time_state"] =
        rwkv::TensorView{rwkv::DType::F32,
                         {static_cast<int64_t>(H), static_cast<int64_t>(N), static_cast<int64_t>(N)},
                         reinterpret_cast<const uint8_t*>(ts[static_cast<size_t>(l)].data())};
  }
  iotest::TempFile file(".pth");
  iotest::write_pth(file.path(), tensors);

  std::vector<float> tuned(m->state_floats(), 9.0f);
  rwkv::read_state_tuning(file.path(), c, tuned.data());
  // The same state built by hand: zero token shifts, each layer's wkv the transpose of its time_state.
  std::vector<float> by_hand(m->state_floats(), 0.0f);
  for (size_t l = 0; l < static_cast<size_t>(c.n_layer); l++)
    for (size_t h = 0; h < H; h++)
      for (size_t key = 0; key < N; key++)
        for (size_t val = 0; val < N; val++)
          by_hand[l * per_layer + C + (h * N + key) * N + val] = ts[l][(h * N + val) * N + key];
  CHECK(tuned == by_hand);

  std::vector<float> zero(m->state_floats());
  m->initial_state(zero.data());
  const std::vector<int32_t> first = {kTokens[0]};
  const std::vector<float> from_zero = first_logits(*m, first, zero);
  const std::vector<float> from_tuned = first_logits(*m, first, tuned);
  const std::vector<float> from_hand = first_logits(*m, first, by_hand);
  CHECK(from_tuned == from_hand);
  CHECK_MSG(max_diff(from_tuned, from_zero) > 0.1, "the tuned state changed the first logits by only %g",
            max_diff(from_tuned, from_zero));

  // A transposed reading ([head][key][value] taken as stored) gives other logits: the orientation matters.
  std::vector<float> untransposed(m->state_floats(), 0.0f);
  for (size_t l = 0; l < static_cast<size_t>(c.n_layer); l++)
    std::memcpy(&untransposed[l * per_layer + C], ts[l].data(), H * N * N * sizeof(float));
  CHECK(max_diff(first_logits(*m, first, untransposed), from_tuned) > 1e-3);

  // A model file that carries the time_state starts every document from it.
  auto model_file = rwkv::TensorFile::open(check::shared_path(kDir + "random-v6-L2-C128.pth"));
  auto with_state = std::make_shared<rwkv::InMemoryTensorFile>();
  for (const auto& [name, v] : model_file->tensors()) with_state->add(name, v.dtype, v.shape, v.data);
  for (const auto& [name, v] : tensors) with_state->add(name, v.dtype, v.shape, v.data);
  auto tuned_model = rwkv::load_model(with_state, rwkv::EngineOptions{});
  std::vector<float> init(tuned_model->state_floats());
  tuned_model->initial_state(init.data());
  CHECK(init == by_hand);
}

TEST(state_tuning_files_are_refused_when_they_do_not_fit) {
  auto v6 = rwkv::load_model(check::shared_path(kDir + "random-v6-L2-C128.pth"), rwkv::EngineOptions{});
  auto v4 = rwkv::load_model(check::shared_path(kDir + "random-v4-L2-C128.pth"), rwkv::EngineOptions{});
  std::vector<float> state(v6->state_floats());
  std::vector<float> block(2 * 64 * 64, 0.25f), small(2 * 32 * 32, 0.25f);
  auto view = [](std::vector<float>& d, int64_t h, int64_t n) {
    return rwkv::TensorView{rwkv::DType::F32, {h, n, n}, reinterpret_cast<const uint8_t*>(d.data())};
  };
  iotest::TempFile ok(".pth"), partial(".pth"), wrong(".pth"), none(".pth");
  iotest::write_pth(ok.path(),
                    {{"blocks.0.att.time_state", view(block, 2, 64)}, {"blocks.1.att.time_state", view(block, 2, 64)}});
  iotest::write_pth(partial.path(), {{"blocks.0.att.time_state", view(block, 2, 64)}});
  iotest::write_pth(wrong.path(),
                    {{"blocks.0.att.time_state", view(small, 2, 32)}, {"blocks.1.att.time_state", view(small, 2, 32)}});
  iotest::write_pth(
      none.path(),
      {{"emb.weight", rwkv::TensorView{rwkv::DType::F32, {2, 64}, reinterpret_cast<const uint8_t*>(block.data())}}});
  rwkv::read_state_tuning(ok.path(), v6->config(), state.data());
  CHECK_ERROR_MENTIONS(rwkv::read_state_tuning(partial.path(), v6->config(), state.data()), rwkv::code::kStateMismatch,
                       "blocks.1.att.time_state");
  CHECK_ERROR_MENTIONS(rwkv::read_state_tuning(wrong.path(), v6->config(), state.data()), rwkv::code::kStateMismatch,
                       "(2, 32, 32)", "(2, 64, 64)");
  CHECK_ERROR_MENTIONS(rwkv::read_state_tuning(none.path(), v6->config(), state.data()), rwkv::code::kState,
                       "time_state");
  std::vector<float> v4_state(v4->state_floats());
  CHECK_ERROR_MENTIONS(rwkv::read_state_tuning(ok.path(), v4->config(), v4_state.data()), rwkv::code::kStateMismatch,
                       "v4");
}

TEST_MAIN()
