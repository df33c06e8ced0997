// rwkv.cpp ggml .bin reading: the RWKV-7 converter's changes are undone exactly (checked against the official
// layout .pth of the same model), older versions are exposed as stored, quantized and cut files are refused.
#include <cmath>
#include <cstring>

#include "check.h"
#include "rwkv/error.h"
#include "rwkv/tensor_file.h"
#include "test_io_writers.h"

using namespace rwkv;
using Shape = std::vector<int64_t>;

namespace {

std::unique_ptr<TensorFile> open_fixture(const std::string& rel) { return TensorFile::open(check::shared_path(rel)); }

const TensorView& get(const TensorFile& f, const std::string& name) {
  static TensorView empty;
  auto it = f.tensors().find(name);
  if (it == f.tensors().end()) {
    ++check::failures();
    std::fprintf(stderr, "missing tensor %s\n", name.c_str());
    return empty;
  }
  return it->second;
}

bool is_lora_or_matrix(const TensorView& v) { return v.shape.size() == 2 && v.shape[0] > 1; }

}  // namespace

TEST(v7_fp32_bin_equals_official_pth) {
  auto bin = open_fixture("fixtures/rwkv7/tiny-rwkv-7v0-834K-FP32.bin");
  auto pth = open_fixture("fixtures/rwkv7/tiny-rwkv7-834K-fp32.pth");
  CHECK(bin->format() == "ggml");
  CHECK(bin->tensors().size() == 399);
  CHECK(bin->tensors().size() == pth->tensors().size());
  for (const auto& [name, want] : pth->tensors()) {
    auto it = bin->tensors().find(name);
    if (it == bin->tensors().end()) {
      CHECK_MSG(false, "ggml file lacks %s", name.c_str());
      continue;
    }
    const TensorView& got = it->second;
    CHECK_MSG(got.shape == want.shape, "%s shape", name.c_str());
    CHECK_MSG(got.dtype == DType::F32, "%s dtype %s", name.c_str(), dtype_name(got.dtype));
    CHECK_MSG(tensor_to_f32(got) == tensor_to_f32(want), "%s values differ", name.c_str());
  }
  for (const auto& [name, v] : bin->tensors()) CHECK(reinterpret_cast<uintptr_t>(v.data) % 4 == 0);
}

TEST(v7_fp16_bin_matches_official_pth_to_half_precision) {
  auto bin = open_fixture("fixtures/rwkv7/tiny-rwkv-7v0-834K-FP16.bin");
  auto pth = open_fixture("fixtures/rwkv7/tiny-rwkv7-834K-fp32.pth");
  CHECK(bin->tensors().size() == 399);
  CHECK(get(*bin, "blocks.3.att.receptance.weight").dtype == DType::F16);
  CHECK(get(*bin, "blocks.3.att.w1").dtype == DType::F16);
  CHECK(get(*bin, "blocks.3.att.x_k").dtype == DType::F32);
  CHECK(get(*bin, "blocks.3.att.r_k").dtype == DType::F32);
  CHECK(get(*bin, "blocks.3.ln1.weight").dtype == DType::F32);
  for (const auto& [name, want] : pth->tensors()) {
    const TensorView& got = get(*bin, name);
    CHECK_MSG(got.shape == want.shape, "%s shape", name.c_str());
    CHECK_MSG(got.dtype == (is_lora_or_matrix(want) ? DType::F16 : DType::F32), "%s dtype", name.c_str());
    auto a = tensor_to_f32(got), b = tensor_to_f32(want);
    if (a.size() != b.size()) continue;
    for (size_t i = 0; i < a.size(); i++) {
      // Half precision: 11 significant bits, subnormals below 2^-14.
      if (std::fabs(a[i] - b[i]) > std::fabs(b[i]) * 0x1p-11f + 0x1p-25f) {
        CHECK_MSG(false, "%s[%zu]: %g vs %g", name.c_str(), i, a[i], b[i]);
        break;
      }
    }
  }
}

TEST(older_bins_read_as_official_tensors) {
  // rwkv.cpp's converter squeezes the .time_* tensors and stores decays and bonuses transformed
  // (fixtures/older/README.md); the reader gives back the official shapes and values.
  auto v4 = open_fixture("fixtures/older/tiny-rwkv-4v0-660K-FP32.bin");
  CHECK(v4->tensors().size() == 78);
  CHECK(get(*v4, "emb.weight").shape == (Shape{256, 128}));
  CHECK(get(*v4, "blocks.0.att.time_decay").shape == (Shape{128}));
  CHECK(get(*v4, "blocks.0.att.time_mix_k").shape == (Shape{1, 1, 128}));
  CHECK(get(*v4, "blocks.0.ffn.time_mix_r").shape == (Shape{1, 1, 128}));
  CHECK(get(*v4, "blocks.0.ffn.key.weight").shape == (Shape{256, 128}));
  auto v4h = open_fixture("fixtures/older/tiny-rwkv-4v0-660K-FP16.bin");
  CHECK(v4h->tensors().size() == 78);
  CHECK(get(*v4h, "blocks.0.att.key.weight").dtype == DType::F16);
  CHECK(get(*v4h, "blocks.0.att.time_first").dtype == DType::F32);
  // Both files hold the same time_decay: the FP16 one keeps .time_* tensors in fp32.
  CHECK(rwkv::tensor_to_f32(get(*v4, "blocks.3.att.time_decay")) ==
        rwkv::tensor_to_f32(get(*v4h, "blocks.3.att.time_decay")));
  auto v51 = open_fixture("fixtures/older/tiny-rwkv-5v1-730K-FP32.bin");
  CHECK(v51->tensors().size() == 246);
  CHECK(get(*v51, "blocks.0.att.time_decay").shape == (Shape{8}));
  CHECK(get(*v51, "blocks.0.att.time_first").shape == (Shape{8}));
  for (const char* rel : {"fixtures/older/tiny-rwkv-5v2-730K-FP32.bin", "fixtures/older/tiny-rwkv-5v2-730K-FP16.bin"}) {
    auto v52 = open_fixture(rel);
    CHECK(v52->tensors().size() == 270);
    CHECK(get(*v52, "blocks.0.att.time_decay").shape == (Shape{8, 8}));
    CHECK(get(*v52, "blocks.0.att.time_faaaa").shape == (Shape{8, 8}));
    CHECK(get(*v52, "blocks.0.att.time_mix_g").shape == (Shape{1, 1, 64}));
    CHECK(get(*v52, "blocks.11.att.gate.weight").shape == (Shape{64, 64}));
    // Decays were stored as exp(-exp(d)) in (0, 1): d comes back finite.
    for (float d : rwkv::tensor_to_f32(get(*v52, "blocks.5.att.time_decay"))) CHECK(std::isfinite(d));
  }
}

namespace {

// A minimal v4-style model (C=4, V=3, one layer) with a chosen type for one matrix.
std::vector<iotest::GgmlTensor> small_model(int32_t key_type) {
  auto f32 = [](std::vector<int64_t> shape) {
    size_t n = 1;
    for (auto s : shape) n *= static_cast<size_t>(s);
    std::vector<uint8_t> d(n * 4);
    for (size_t i = 0; i < n; i++) {
      float v = 0.25f * static_cast<float>(i);
      std::memcpy(&d[i * 4], &v, 4);
    }
    return iotest::GgmlTensor{"", 0, shape, d};
  };
  std::vector<iotest::GgmlTensor> t;
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    auto x = f32(shape);
    x.name = name;
    t.push_back(x);
  };
  add("emb.weight", {3, 4});
  add("blocks.0.ln1.weight", {4});
  add("blocks.0.att.key.weight", {4, 4});
  if (key_type != 0) {
    t.back().type = key_type;
    t.back().data.resize(20);  // one Q4_0 block of 32 weights would be 18 bytes; the size is never read
  }
  add("ln_out.weight", {4});
  add("head.weight", {3, 4});
  return t;
}

}  // namespace

TEST(small_handmade_bin_round_trips) {
  iotest::TempFile tmp(".bin");
  tmp.write(iotest::ggml_bytes(3, 4, 1, 0, small_model(0)));
  auto r = TensorFile::open(tmp.path());
  CHECK(r->tensors().size() == 5);
  CHECK(get(*r, "emb.weight").shape == (Shape{3, 4}));
  CHECK(tensor_to_f32(get(*r, "head.weight"))[11] == 2.75f);
}

TEST(quantized_types_are_refused_by_name) {
  iotest::TempFile tmp(".bin");
  tmp.write(iotest::ggml_bytes(3, 4, 1, 0, small_model(2)));
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelDtype, tmp.path().c_str(), "Q4_0",
                       "'blocks.0.att.key.weight'");
  tmp.write(iotest::ggml_bytes(3, 4, 1, 8, small_model(0)));
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelDtype, "Q5_1", "header");
  tmp.write(iotest::ggml_bytes(3, 4, 1, 0, small_model(77)));
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelFormat, "77");
}

TEST(header_and_record_refusals) {
  iotest::TempFile tmp(".bin");
  auto bytes = iotest::ggml_bytes(3, 4, 1, 0, small_model(0));
  auto bad_version = bytes;
  bad_version[4] = 99;
  tmp.write(bad_version);
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelFormat, "version", "99");
  // The header promises two layers but the file holds one.
  tmp.write(iotest::ggml_bytes(3, 4, 2, 0, small_model(0)));
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelFormat, "2 layers");
  // The header's vocabulary disagrees with emb.weight.
  tmp.write(iotest::ggml_bytes(5, 4, 1, 0, small_model(0)));
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelFormat, "emb.weight", "(5, 4)");
  // A duplicated record.
  auto dup = small_model(0);
  dup.push_back(dup[1]);
  tmp.write(iotest::ggml_bytes(3, 4, 1, 0, dup));
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelFormat, "twice");
  // An absurd dimension count.
  auto absurd = bytes;
  absurd[24] = 9;
  tmp.write(absurd);
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelFormat, "dims");
}

TEST(cut_at_record_boundaries_is_reported_as_truncated) {
  auto t = small_model(0);
  iotest::TempFile tmp(".bin");
  for (size_t keep = 0; keep < t.size(); keep++) {
    std::vector<iotest::GgmlTensor> part(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(keep));
    tmp.write(iotest::ggml_bytes(3, 4, 1, 0, part));
    bool threw = false;
    try {
      TensorFile::open(tmp.path());
    } catch (const Error& e) {
      threw = true;
      CHECK_MSG(e.code() == code::kModelTruncated, "keep %zu: %s", keep, e.what());
    }
    CHECK_MSG(threw, "keep %zu loaded", keep);
  }
}

TEST_MAIN()
