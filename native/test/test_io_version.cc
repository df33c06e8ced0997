// detect_version on every fixture and on key sets for the generations no fixture covers; the dtype functions
// and InMemoryTensorFile.
#include <cmath>
#include <cstring>

#include "check.h"
#include "rwkv/error.h"
#include "rwkv/tensor_file.h"

using namespace rwkv;

namespace {

std::string version_of(const std::string& rel) {
  return detect_version(TensorFile::open(check::shared_path(rel))->tensors());
}

std::map<std::string, TensorView> keys(const std::vector<std::pair<std::string, std::vector<int64_t>>>& spec) {
  std::map<std::string, TensorView> m;
  for (const auto& [name, shape] : spec) m[name] = TensorView{DType::F32, shape, nullptr};
  return m;
}

}  // namespace

TEST(fixture_versions) {
  const std::pair<const char*, const char*> cases[] = {
      {"fixtures/rwkv7/tiny-rwkv7-834K-fp32.pth", "x070"},
      {"fixtures/rwkv7/tiny-rwkv7-834K-bf16.pth", "x070"},
      {"fixtures/rwkv7/synth-rwkv7-L3-D256-H4-bf16.pth", "x070"},
      {"fixtures/rwkv7/synth-rwkv7-L3-D256-H4-fp32.pth", "x070"},
      {"fixtures/rwkv7/tiny-rwkv-7v0-834K-FP32.bin", "x070"},
      {"fixtures/rwkv7/tiny-rwkv-7v0-834K-FP16.bin", "x070"},
      {"fixtures/older/random-v4-L2-C128.pth", "v4"},
      {"fixtures/older/random-v5.2-L2-C128.pth", "x052"},
      {"fixtures/older/random-v6-L2-C128.pth", "x060"},
      {"fixtures/older/tiny-rwkv-4v0-660K-FP32.bin", "v4"},
      {"fixtures/older/tiny-rwkv-4v0-660K-FP16.bin", "v4"},
      // rwkv.cpp calls this model "5v1", but it has no att.gate.weight: by the official rule that is x050.
      {"fixtures/older/tiny-rwkv-5v1-730K-FP32.bin", "x050"},
      {"fixtures/older/tiny-rwkv-5v2-730K-FP32.bin", "x052"},
      {"fixtures/older/tiny-rwkv-5v2-730K-FP16.bin", "x052"},
      {"fixtures/pth-container/260123_reverse_L2_only_rwkv7.pth", ""},
      {"fixtures/pth-container/251016_rosa_1bit_run.pth", ""},
  };
  for (const auto& [rel, want] : cases) {
    std::string got = version_of(rel);
    CHECK_MSG(got == want, "%s: got '%s', wanted '%s'", rel, got.c_str(), want);
  }
}

TEST(versions_from_key_sets) {
  CHECK(detect_version({}) == "");
  CHECK(detect_version(keys({{"emb.weight", {4, 4}}, {"head.weight", {4, 4}}})) == "");
  CHECK(detect_version(keys({{"blocks.0.att.r_k", {1, 64}}, {"blocks.3.qkv.qq.weight", {4, 4}}})) == "x070-7b");
  CHECK(detect_version(keys({{"blocks.0.att.k_k", {1, 1, 64}}, {"blocks.1.ffn.s_emb.weight", {4, 4}}})) == "x070-7a");
  CHECK(detect_version(keys({{"blocks.5.att.x_r", {1, 1, 64}}})) == "x070");
  CHECK(detect_version(keys({{"blocks.0.att.time_maa_x", {1, 1, 64}}, {"blocks.0.att.ln_x.weight", {64}}})) == "x060");
  CHECK(detect_version(keys({{"blocks.0.att.ln_x.weight", {64}}, {"blocks.0.att.time_decay", {1, 64}}})) == "x052");
  CHECK(detect_version(keys({{"blocks.0.att.ln_x.weight", {64}},
                             {"blocks.0.att.time_decay", {8}},
                             {"blocks.0.att.gate.weight", {64, 64}}})) == "x051");
  CHECK(detect_version(keys({{"blocks.0.att.ln_x.weight", {64}}, {"blocks.0.att.time_decay", {8, 1}}})) == "x050");
  CHECK(detect_version(keys({{"blocks.0.att.time_decay", {64}}, {"blocks.0.att.time_first", {64}}})) == "v4");
  // Names that only look like blocks do not count.
  CHECK(detect_version(keys({{"blocks.x.att.r_k", {1}}, {"blocksy.0.att.r_k", {1}}})) == "");
}

TEST(dtype_names_and_sizes) {
  CHECK(std::string(dtype_name(DType::F32)) == "f32");
  CHECK(std::string(dtype_name(DType::BF16)) == "bf16");
  CHECK(std::string(dtype_name(DType::F16)) == "f16");
  CHECK(std::string(dtype_name(DType::Bool)) == "bool");
  CHECK(dtype_size(DType::F32) == 4);
  CHECK(dtype_size(DType::F16) == 2);
  CHECK(dtype_size(DType::BF16) == 2);
  CHECK(dtype_size(DType::F64) == 8);
  CHECK(dtype_size(DType::I64) == 8);
  CHECK(dtype_size(DType::I32) == 4);
  CHECK(dtype_size(DType::I16) == 2);
  CHECK(dtype_size(DType::I8) == 1);
  CHECK(dtype_size(DType::U8) == 1);
  CHECK(dtype_size(DType::Bool) == 1);
}

TEST(half_and_bfloat_conversions) {
  InMemoryTensorFile m;
  const uint16_t h[] = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x8000, 0x7c00, 0xfc00, 0x7e00};
  m.add("h", DType::F16, {9}, h);
  auto f = tensor_to_f32(m.tensors().at("h"));
  CHECK(f[0] == 1.0f);
  CHECK(f[1] == -2.0f);
  CHECK(f[2] == 65504.0f);
  CHECK(f[3] == std::ldexp(1.0f, -24));
  CHECK(f[4] == std::ldexp(1023.0f, -24));
  CHECK(std::signbit(f[5]) && f[5] == 0.0f);
  CHECK(std::isinf(f[6]) && f[6] > 0);
  CHECK(std::isinf(f[7]) && f[7] < 0);
  CHECK(std::isnan(f[8]));
  const uint16_t b[] = {0x3f80, 0xc0a0, 0x7f80};
  m.add("b", DType::BF16, {3}, b);
  auto g = tensor_to_f32(m.tensors().at("b"));
  CHECK(g[0] == 1.0f);
  CHECK(g[1] == -5.0f);
  CHECK(std::isinf(g[2]));
  const double d[] = {0.5, -1e300};
  m.add("d", DType::F64, {2}, d);
  auto e = tensor_to_f32(m.tensors().at("d"));
  CHECK(e[0] == 0.5f && std::isinf(e[1]));
  int32_t ints[2] = {1, 2};
  m.add("i", DType::I32, {2}, ints);
  CHECK_THROWS_CODE(tensor_to_f32(m.tensors().at("i")), code::kModelDtype);
}

TEST(in_memory_tensor_file_copies_and_replaces) {
  InMemoryTensorFile m;
  float a[6] = {1, 2, 3, 4, 5, 6};
  m.add("a", DType::F32, {2, 3}, a);
  a[0] = 100;  // the file holds its own copy
  CHECK(m.format() == "memory");
  CHECK(m.tensors().size() == 1);
  const TensorView& v = m.tensors().at("a");
  CHECK(v.shape == (std::vector<int64_t>{2, 3}));
  CHECK(v.nbytes() == 24);
  CHECK(tensor_to_f32(v) == (std::vector<float>{1, 2, 3, 4, 5, 6}));
  uint16_t h[2] = {0x3c00, 0x4000};
  m.add("a", DType::F16, {2}, h);
  CHECK(m.tensors().at("a").dtype == DType::F16);
  CHECK(tensor_to_f32(m.tensors().at("a")) == (std::vector<float>{1, 2}));
  m.add("scalar", DType::F32, {}, a + 1);
  CHECK(m.tensors().at("scalar").numel() == 1);
  m.add("empty", DType::F32, {0, 5}, nullptr);
  CHECK(m.tensors().at("empty").nbytes() == 0);
  CHECK_THROWS_CODE(m.add("bad", DType::F32, {-1}, a), code::kArgument);
  CHECK_THROWS_CODE(m.add("bad", DType::F32, {2}, nullptr), code::kArgument);
  CHECK(m.tensors().count("bad") == 0);
}

TEST_MAIN()
