// inspect_model: the configuration a full load_model reports, read from the header and parameter tables only,
// for every container and version among the fixtures; the same fingerprint when asked; and the same refusal
// codes as a load for files that are not models, are cut short, or are of an unsupported version.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "check.h"
#include "rwkv/error.h"
#include "rwkv/model.h"
#include "rwkv/tensor_file.h"
#include "rwkv/tensor_writer.h"
#include "test_io_writers.h"

namespace {

using rwkv::ModelConfig;

bool same_config(const ModelConfig& a, const ModelConfig& b) {
  if (a.version != b.version || a.format != b.format || a.file_dtype != b.file_dtype || a.n_layer != b.n_layer ||
      a.n_embd != b.n_embd || a.n_head != b.n_head || a.head_size != b.head_size || a.vocab_size != b.vocab_size ||
      a.ffn != b.ffn || a.ranks.size() != b.ranks.size()) {
    return false;
  }
  for (size_t i = 0; i < a.ranks.size(); i++) {
    const auto &x = a.ranks[i], &y = b.ranks[i];
    if (x.w != y.w || x.a != y.a || x.v != y.v || x.g != y.g || x.mix != y.mix) return false;
  }
  return true;
}

void expect_agrees_with_load(const std::string& path) {
  rwkv::EngineOptions opts;
  opts.threads = 1;
  auto model = rwkv::load_model(path, opts);
  rwkv::ModelFileInfo info = rwkv::inspect_model(path, true);
  CHECK_MSG(same_config(info.config, model->config()), "%s: inspect says %s L%d C%d V%d, load says %s L%d C%d V%d",
            path.c_str(), info.config.version.c_str(), info.config.n_layer, info.config.n_embd, info.config.vocab_size,
            model->config().version.c_str(), model->config().n_layer, model->config().n_embd,
            model->config().vocab_size);
  CHECK_MSG(info.fingerprint == model->fingerprint(), "%s: fingerprint %s, the loaded model's %s", path.c_str(),
            info.fingerprint.c_str(), model->fingerprint().c_str());
  CHECK(rwkv::inspect_model(path).fingerprint.empty());  // only when asked: it reads every byte

  auto file = rwkv::TensorFile::open(path);
  uint64_t parameters = 0;
  for (const auto& [name, view] : file->tensors()) parameters += static_cast<uint64_t>(view.numel());
  CHECK(info.parameters == parameters);
  CHECK(info.tensors == file->tensors().size());
  CHECK(std::find(info.dtypes.begin(), info.dtypes.end(), info.config.file_dtype) != info.dtypes.end());
  std::printf("  %-48s %-7s %-11s L%-2d C%-4d V%-5d %llu parameters in %s\n", path.substr(path.rfind('/') + 1).c_str(),
              info.config.version.c_str(), info.config.format.c_str(), info.config.n_layer, info.config.n_embd,
              info.config.vocab_size, static_cast<unsigned long long>(info.parameters), info.config.file_dtype.c_str());
}

// The refusal code of load_model, which inspect_model must give too.
std::string load_code(const std::string& path) {
  try {
    rwkv::load_model(path, rwkv::EngineOptions{});
  } catch (const rwkv::Error& e) {
    return e.code();
  }
  return "";
}

std::string inspect_code(const std::string& path) {
  try {
    rwkv::inspect_model(path);
  } catch (const rwkv::Error& e) {
    return e.code();
  }
  return "";
}

void expect_refused_like_load(const std::string& path, const char* want) {
  const std::string load = load_code(path), inspect = inspect_code(path);
  CHECK_MSG(load == want && inspect == want, "%s: load refused with \"%s\", inspect with \"%s\", wanted %s",
            path.c_str(), load.c_str(), inspect.c_str(), want);
}

std::vector<char> prefix_of(const std::string& path, size_t bytes) {
  std::vector<char> all = check::read_file(path);
  all.resize(std::min(all.size(), bytes));
  return all;
}

}  // namespace

TEST(inspect_agrees_with_a_full_load_for_every_fixture_family) {
  for (const char* rel :
       {"fixtures/rwkv7/tiny-rwkv7-834K-fp32.pth", "fixtures/rwkv7/tiny-rwkv7-834K-bf16.pth",
        "fixtures/rwkv7/synth-rwkv7-L3-D256-H4-fp32.pth", "fixtures/rwkv7/synth-rwkv7-L3-D256-H4-bf16.pth",
        "fixtures/rwkv7/tiny-rwkv-7v0-834K-FP32.bin", "fixtures/rwkv7/tiny-rwkv-7v0-834K-FP16.bin",
        "fixtures/older/random-v4-L2-C128.pth", "fixtures/older/random-v5.2-L2-C128.pth",
        "fixtures/older/random-v6-L2-C128.pth", "fixtures/older/tiny-rwkv-4v0-660K-FP32.bin",
        "fixtures/older/tiny-rwkv-4v0-660K-FP16.bin", "fixtures/older/tiny-rwkv-5v1-730K-FP32.bin",
        "fixtures/older/tiny-rwkv-5v2-730K-FP16.bin", "fixtures/older/tiny-rwkv-5v2-730K-FP32.bin"}) {
    expect_agrees_with_load(check::shared_path(rel));
  }
  expect_agrees_with_load(check::fixture_path("deepembed/random-x070-7a-L2-C32.pth"));
  // safetensors: a small random x070 model written by the engine's own writer.
  iotest::TempFile st(".safetensors");
  rwkv::RandomModelShape shape;
  shape.n_layer = 2;
  shape.n_embd = 64;
  shape.vocab_size = 300;
  shape.ffn = 256;
  shape.rank_w = shape.rank_a = shape.rank_v = shape.rank_g = 8;
  rwkv::write_safetensors(st.path(), rwkv::random_rwkv7_tensors(shape, 7)->tensors(), {{"format", "pt"}});
  expect_agrees_with_load(st.path());
  rwkv::ModelFileInfo info = rwkv::inspect_model(st.path());
  CHECK(info.config.format == "safetensors" && info.config.vocab_size == 300 && info.config.n_layer == 2);
  // The writer keeps the random weights in bf16, and so do the dtypes the file is said to hold.
  CHECK(info.dtypes == std::vector<std::string>{"bf16"});
}

TEST(inspect_refuses_what_a_load_refuses_with_the_same_code) {
  // Torch-written containers of toy layouts that are not RWKV language models.
  expect_refused_like_load(check::shared_path("fixtures/pth-container/260123_reverse_L2_only_rwkv7.pth"),
                           rwkv::code::kModelVersion);
  expect_refused_like_load("/nonexistent/model.pth", rwkv::code::kIo);

  iotest::TempFile cut(".pth");
  for (const char* rel :
       {"fixtures/rwkv7/synth-rwkv7-L3-D256-H4-fp32.pth", "fixtures/older/tiny-rwkv-5v2-730K-FP32.bin"}) {
    const std::string path = check::shared_path(rel);
    // Half a file: a cut download.
    std::vector<char> half = prefix_of(path, check::read_file(path).size() / 2);
    cut.write(half.data(), half.size());
    const std::string load = load_code(cut.path()), inspect = inspect_code(cut.path());
    CHECK_MSG(!load.empty() && load == inspect, "%s cut in half: load %s, inspect %s", rel, load.c_str(),
              inspect.c_str());
    // A few bytes.
    std::vector<char> start = prefix_of(path, 10);
    cut.write(start.data(), start.size());
    expect_refused_like_load(cut.path(), rwkv::code::kModelTruncated);
  }
  // Not a model file at all.
  const std::string text = "this is a text file, not a model; it is long enough to pass the length check\n";
  cut.write(text.data(), text.size());
  expect_refused_like_load(cut.path(), rwkv::code::kModelFormat);
}

TEST_MAIN()
