// Damaged input: every container cut at many points, garbage, and thousands of random byte mutations must
// each end in a clean rwkv::Error (or a successful load), never a crash or a hang.
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <random>
#include <set>

#include "check.h"
#include "rwkv/error.h"
#include "rwkv/tensor_file.h"
#include "test_io_writers.h"

using namespace rwkv;

namespace {

std::vector<uint8_t> fixture_bytes(const std::string& rel) {
  auto c = check::read_file(check::shared_path(rel));
  return std::vector<uint8_t>(c.begin(), c.end());
}

// Cut points, largest first: the first and last 300 bytes one by one, plus `spread` points evenly in between.
std::vector<size_t> cut_points(size_t size, size_t spread) {
  std::set<size_t, std::greater<size_t>> cuts;
  for (size_t i = 0; i < size && i < 300; i++) cuts.insert(i);
  for (size_t i = size > 300 ? size - 300 : 0; i < size; i++) cuts.insert(i);
  for (size_t k = 1; k <= spread; k++) cuts.insert(size * k / (spread + 1));
  return {cuts.begin(), cuts.end()};
}

// Writes `bytes` once and shortens the file step by step (cheaper than rewriting it for every cut).
void expect_all_cuts_refused(const std::string& what, const std::vector<uint8_t>& bytes, size_t spread) {
  iotest::TempFile tmp(".model");
  tmp.write(bytes);
  size_t wrong = 0;
  for (size_t cut : cut_points(bytes.size(), spread)) {
    if (::truncate(tmp.path().c_str(), static_cast<off_t>(cut)) != 0) {
      CHECK_MSG(false, "truncate failed");
      return;
    }
    try {
      TensorFile::open(tmp.path());
      CHECK_MSG(false, "%s cut to %zu bytes loaded", what.c_str(), cut);
    } catch (const Error& e) {
      if (e.code() != code::kModelTruncated && wrong++ < 5) {
        CHECK_MSG(false, "%s cut to %zu bytes: %s (%s), wanted E_MODEL_TRUNCATED", what.c_str(), cut, e.code().c_str(),
                  e.what());
      }
      CHECK(std::string(e.what()).find(tmp.path()) != std::string::npos);
    }
  }
}

void expect_all_cuts_refused(const std::string& rel, size_t spread) {
  expect_all_cuts_refused(rel, fixture_bytes(rel), spread);
}

}  // namespace

TEST(truncated_pth_files_are_refused) {
  expect_all_cuts_refused("fixtures/pth-container/251016_rosa_1bit_run.pth", 400);
  expect_all_cuts_refused("fixtures/pth-container/260123_reverse_L2_only_rwkv7.pth", 100);
  expect_all_cuts_refused("fixtures/rwkv7/tiny-rwkv7-834K-bf16.pth", 60);
}

TEST(truncated_ggml_files_are_refused) {
  expect_all_cuts_refused("fixtures/rwkv7/tiny-rwkv-7v0-834K-FP16.bin", 150);
  expect_all_cuts_refused("fixtures/older/tiny-rwkv-5v1-730K-FP32.bin", 30);
}

TEST(truncated_safetensors_files_are_refused) {
  auto pth = TensorFile::open(check::shared_path("fixtures/rwkv7/tiny-rwkv7-834K-bf16.pth"));
  std::vector<iotest::StTensor> st;
  for (const auto& [name, v] : pth->tensors()) st.push_back(iotest::st_from_view(name, v));
  auto bytes = iotest::safetensors_bytes(st);
  iotest::TempFile full(".safetensors");
  full.write(bytes);
  CHECK(TensorFile::open(full.path())->tensors().size() == 399);
  expect_all_cuts_refused("safetensors", bytes, 300);
}

TEST(garbage_is_refused) {
  iotest::TempFile tmp(".pth");
  std::mt19937_64 rng(7);
  std::vector<uint8_t> junk(4096);
  for (auto& b : junk) b = static_cast<uint8_t>(rng());
  tmp.write(junk);
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelFormat, tmp.path().c_str(), "expected a PyTorch .pth");
  std::string text = "This is not a model file, just some text that someone saved with a .pth name.\n";
  tmp.write(text);
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelFormat, "found bytes 54 68 69 73");
  tmp.write(std::vector<uint8_t>(100000, 0));
  CHECK_THROWS_CODE(TensorFile::open(tmp.path()), code::kModelFormat);
  std::vector<uint8_t> pk = {'P', 'K', 3, 4};
  pk.resize(5000, 0xAB);
  tmp.write(pk);
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelTruncated, "end-of-central-directory");
  tmp.write(std::string("GGUF\3\0\0\0 and more bytes here"));
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelFormat, "GGUF");
  tmp.write(std::string("\x80\x04\x95 a pickle but not a torch file"));
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelFormat, "bare pickle");
  tmp.write(std::string("tiny"));
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelTruncated, "4 bytes");
}

namespace {

// Mutates 1-8 bytes (or cuts the file); half the mutations land in the first and last 2 KiB, where the headers,
// the pickle and the zip directory live.
size_t fuzz(const std::vector<uint8_t>& original, int rounds, uint64_t seed) {
  std::mt19937_64 rng(seed);
  iotest::TempFile tmp(".fuzz");
  size_t loaded = 0;
  auto start = std::chrono::steady_clock::now();
  for (int round = 0; round < rounds; round++) {
    std::vector<uint8_t> b = original;
    size_t n = b.size();
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; e++) {
      size_t pos;
      switch (rng() % 4) {
        case 0: pos = rng() % n; break;
        case 1: pos = rng() % std::min<size_t>(n, 2048); break;
        default: pos = n - 1 - rng() % std::min<size_t>(n, 2048); break;
      }
      switch (rng() % 5) {
        case 0: b[pos] = static_cast<uint8_t>(rng()); break;
        case 1: b[pos] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 2: b[pos] = 0xff; break;
        case 3: b[pos] = 0; break;
        default: b[pos] = static_cast<uint8_t>(b[pos] + 1); break;
      }
    }
    if (rng() % 16 == 0) b.resize(rng() % n);
    tmp.write(b);
    try {
      auto f = TensorFile::open(tmp.path());
      for (const auto& [name, v] : f->tensors()) {
        volatile uint8_t sink = 0;
        if (v.nbytes()) sink = v.data[0] ^ v.data[v.nbytes() - 1];
        (void)sink;
      }
      loaded++;
    } catch (const Error&) {
    }
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("  %d mutations, %zu still loaded, %.2f s\n", rounds, loaded, s);
  return loaded;
}

}  // namespace

TEST(fuzzed_pth_never_crashes) { fuzz(fixture_bytes("fixtures/pth-container/251016_rosa_1bit_run.pth"), 2000, 1); }

TEST(fuzzed_safetensors_and_ggml_never_crash) {
  // Small files of each kind, so mutations often hit structure rather than weights.
  auto pth = TensorFile::open(check::shared_path("fixtures/pth-container/251016_rosa_1bit_run.pth"));
  std::vector<iotest::StTensor> st;
  for (const auto& [name, v] : pth->tensors()) st.push_back(iotest::st_from_view(name, v));
  fuzz(iotest::safetensors_bytes(st, "{\"format\":\"pt\"}"), 1000, 2);

  std::vector<iotest::GgmlTensor> g;
  auto f32 = [](std::vector<int64_t> shape, const std::string& name) {
    size_t n = 1;
    for (auto s : shape) n *= static_cast<size_t>(s);
    return iotest::GgmlTensor{name, 0, shape, std::vector<uint8_t>(n * 4, 0x3f)};
  };
  g.push_back(f32({16, 8}, "emb.weight"));
  g.push_back(f32({6, 1, 8}, "blocks.0.att.x_rwkvag"));
  g.push_back(f32({4, 8}, "blocks.0.att.w1"));
  g.push_back(f32({8, 4}, "blocks.0.att.w2"));
  g.push_back(f32({1, 8}, "blocks.0.att.r_k"));
  g.push_back(f32({8}, "ln_out.weight"));
  g.push_back(f32({16, 8}, "head.weight"));
  auto bytes = iotest::ggml_bytes(16, 8, 1, 0, g);
  iotest::TempFile ok(".bin");
  ok.write(bytes);
  auto r = TensorFile::open(ok.path());
  CHECK(r->tensors().size() == 12);
  CHECK(r->tensors().at("blocks.0.att.w1").shape == (std::vector<int64_t>{8, 4}));
  CHECK(r->tensors().at("blocks.0.att.x_g").shape == (std::vector<int64_t>{1, 1, 8}));
  fuzz(bytes, 1000, 3);
}

TEST_MAIN()
