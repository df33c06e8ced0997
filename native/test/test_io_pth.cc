// .pth (torch.save zip + pickle) reading: the fixtures, real torch-written files, and hand-made archives that
// exercise strides, shared storages, byte order, pickle protocol 4, Zip64 and every refusal.
#include <chrono>
#include <cmath>
#include <cstring>

#include "check.h"
#include "rwkv/error.h"
#include "rwkv/tensor_file.h"
#include "test_io_writers.h"

using namespace rwkv;
using iotest::PthTensor;

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

using Shape = std::vector<int64_t>;

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

std::vector<float> iota(size_t n, float start = 0) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; i++) v[i] = start + static_cast<float>(i);
  return v;
}

}  // namespace

TEST(tiny_fp32_pth_has_official_layout) {
  auto f = open_fixture("fixtures/rwkv7/tiny-rwkv7-834K-fp32.pth");
  CHECK(f->format() == "pth");
  CHECK(f->tensors().size() == 399);
  for (const auto& [name, v] : f->tensors()) CHECK_MSG(v.dtype == DType::F32, "%s", name.c_str());
  CHECK(get(*f, "emb.weight").shape == (Shape{256, 64}));
  CHECK(get(*f, "head.weight").shape == (Shape{256, 64}));
  CHECK(get(*f, "blocks.0.ln0.weight").shape == (Shape{64}));
  CHECK(get(*f, "blocks.0.att.x_r").shape == (Shape{1, 1, 64}));
  CHECK(get(*f, "blocks.0.att.w0").shape == (Shape{1, 1, 64}));
  CHECK(get(*f, "blocks.0.att.w1").shape == (Shape{64, 32}));
  CHECK(get(*f, "blocks.0.att.w2").shape == (Shape{32, 64}));
  CHECK(get(*f, "blocks.0.att.r_k").shape == (Shape{1, 64}));
  CHECK(get(*f, "blocks.11.ffn.key.weight").shape == (Shape{256, 64}));
  CHECK(get(*f, "blocks.11.ffn.value.weight").shape == (Shape{64, 256}));
  CHECK(get(*f, "blocks.1.att.v1").shape == (Shape{64, 32}));
  CHECK(f->tensors().count("blocks.0.att.v1") == 0);
  // Views are aligned to their element size.
  for (const auto& [name, v] : f->tensors()) CHECK(reinterpret_cast<uintptr_t>(v.data) % 4 == 0);
}

TEST(tiny_bf16_equals_fp32_after_conversion) {
  auto a = open_fixture("fixtures/rwkv7/tiny-rwkv7-834K-bf16.pth");
  auto b = open_fixture("fixtures/rwkv7/tiny-rwkv7-834K-fp32.pth");
  CHECK(a->tensors().size() == b->tensors().size());
  for (const auto& [name, v] : a->tensors()) {
    CHECK_MSG(v.dtype == DType::BF16, "%s is %s", name.c_str(), dtype_name(v.dtype));
    const TensorView& w = get(*b, name);
    CHECK_MSG(v.shape == w.shape, "%s", name.c_str());
    CHECK_MSG(tensor_to_f32(v) == tensor_to_f32(w), "%s differs", name.c_str());
  }
}

TEST(synth_model_has_four_heads_and_distinct_ranks) {
  auto bf = open_fixture("fixtures/rwkv7/synth-rwkv7-L3-D256-H4-bf16.pth");
  auto fp = open_fixture("fixtures/rwkv7/synth-rwkv7-L3-D256-H4-fp32.pth");
  CHECK(bf->tensors().size() == 105);
  CHECK(fp->tensors().size() == 105);
  for (const auto* f : {bf.get(), fp.get()}) {
    CHECK(get(*f, "emb.weight").shape == (Shape{1024, 256}));
    CHECK(get(*f, "blocks.0.att.r_k").shape == (Shape{4, 64}));
    CHECK(get(*f, "blocks.2.att.w1").shape == (Shape{256, 32}));
    CHECK(get(*f, "blocks.2.att.a1").shape == (Shape{256, 48}));
    CHECK(get(*f, "blocks.2.att.v1").shape == (Shape{256, 16}));
    CHECK(get(*f, "blocks.2.att.g1").shape == (Shape{256, 64}));
    CHECK(get(*f, "blocks.2.att.g2").shape == (Shape{64, 256}));
    CHECK(get(*f, "blocks.0.ffn.key.weight").shape == (Shape{896, 256}));
    CHECK(get(*f, "blocks.0.att.v0").shape == (Shape{1, 1, 256}));
  }
  CHECK(get(*bf, "emb.weight").dtype == DType::BF16);
  CHECK(get(*fp, "emb.weight").dtype == DType::F32);
  for (const auto& [name, v] : bf->tensors())
    CHECK_MSG(tensor_to_f32(v) == tensor_to_f32(get(*fp, name)), "%s", name.c_str());
}

TEST(real_torch_file_ordered_dict_with_metadata_and_zip64) {
  // Written by torch: archive prefix no_rosa5/, flag 0x0808 descriptors, Zip64 end record, trailing BUILD.
  auto f = open_fixture("fixtures/pth-container/260123_reverse_L2_only_rwkv7.pth");
  CHECK(f->tensors().size() == 99);
  const TensorView& e = get(*f, "e.weight");
  CHECK(e.shape == (Shape{12, 32}));
  CHECK(e.dtype == DType::F32);
  auto v = tensor_to_f32(e);
  CHECK(v[0] == -0.00894071813672781f);
  CHECK(v[1] == 0.47992706298828125f);
  double sum = 0;
  for (float x : v) sum += x;
  CHECK(std::fabs(sum - -29.354858239472378) < 1e-4);
  CHECK(get(*f, "rwkv1.r_k").shape == (Shape{2, 16}));
  CHECK(get(*f, "rwkv2.x_g").shape == (Shape{1, 1, 32}));
  CHECK(tensor_to_f32(get(*f, "o.bias"))[0] == -0.8506467938423157f);
}

TEST(real_torch_file_plain_dict_of_parameters) {
  auto f = open_fixture("fixtures/pth-container/251016_rosa_1bit_run.pth");
  CHECK(f->tensors().size() == 10);
  CHECK(get(*f, "e.weight").shape == (Shape{11, 32}));
  CHECK(tensor_to_f32(get(*f, "e.weight"))[0] == 1.880099892616272f);
  CHECK(get(*f, "rosa1.emb0").shape == (Shape{1, 1, 32}));
  CHECK(tensor_to_f32(get(*f, "rosa1.emb0"))[2] == 0.353939950466156f);
  CHECK(get(*f, "o.bias").shape == (Shape{11}));
}

TEST(older_version_pth_files_open) {
  auto v4 = open_fixture("fixtures/older/random-v4-L2-C128.pth");
  CHECK(v4->tensors().size() == 42);
  CHECK(get(*v4, "blocks.0.att.time_decay").shape == (Shape{128}));
  CHECK(get(*v4, "blocks.0.att.time_mix_k").shape == (Shape{1, 1, 128}));
  CHECK(get(*v4, "emb.weight").dtype == DType::BF16);
  auto v5 = open_fixture("fixtures/older/random-v5.2-L2-C128.pth");
  CHECK(v5->tensors().size() == 50);
  CHECK(get(*v5, "blocks.1.att.time_faaaa").shape == (Shape{2, 64}));
  auto v6 = open_fixture("fixtures/older/random-v6-L2-C128.pth");
  CHECK(v6->tensors().size() == 62);
  CHECK(get(*v6, "blocks.0.att.time_maa_w2").shape == (Shape{5, 32, 128}));
  CHECK(get(*v6, "blocks.0.att.time_maa_w1").shape == (Shape{128, 160}));
  CHECK(tensor_to_f32(get(*v6, "emb.weight"))[1] == 0.1796875f);
  CHECK(tensor_to_f32(get(*v6, "head.weight"))[0] == -0.30859375f);
}

TEST(strided_offset_and_shared_storages) {
  // One storage of 24 floats: "a" is rows 0-1 (2,4); "b" is a transposed (3,2) view at offset 8 with strides
  // (1,3) (non-contiguous: copied); "c" is (1,1,4) at offset 20 with strides (4,4,1) (contiguous: a view).
  iotest::PthFile f;
  f.storages["0"] = f32_bytes(iota(24));
  std::vector<PthTensor> t = {
      {"a", "FloatStorage", "0", 24, 0, {2, 4}, {4, 1}},
      {"b", "FloatStorage", "0", 24, 8, {3, 2}, {1, 3}},
      {"c", "FloatStorage", "0", 24, 20, {1, 1, 4}, {4, 4, 1}},
      {"empty", "FloatStorage", "0", 24, 0, {0, 4}, {4, 1}},
  };
  f.pickle = iotest::state_dict_pickle(t);
  iotest::TempFile tmp(".pth");
  f.write(tmp.path());
  auto r = TensorFile::open(tmp.path());
  CHECK(tensor_to_f32(get(*r, "a")) == iota(8));
  CHECK(get(*r, "b").shape == (Shape{3, 2}));
  CHECK(tensor_to_f32(get(*r, "b")) == (std::vector<float>{8, 11, 9, 12, 10, 13}));
  CHECK(tensor_to_f32(get(*r, "c")) == (std::vector<float>{20, 21, 22, 23}));
  CHECK(get(*r, "c").data == get(*r, "a").data + 80);  // a view of the same mapping
  CHECK(get(*r, "empty").numel() == 0);
}

TEST(big_endian_byteorder_is_swapped) {
  iotest::PthFile f;
  std::vector<uint8_t> be;
  for (float x : {1.5f, -2.0f, 3.25f}) {
    uint8_t b[4];
    std::memcpy(b, &x, 4);
    be.insert(be.end(), {b[3], b[2], b[1], b[0]});
  }
  f.storages["0"] = be;
  f.pickle = iotest::state_dict_pickle({{"x", "FloatStorage", "0", 3, 0, {3}, {1}}});
  f.byteorder = "big";
  iotest::TempFile tmp(".pth");
  f.write(tmp.path());
  CHECK(tensor_to_f32(get(*TensorFile::open(tmp.path()), "x")) == (std::vector<float>{1.5f, -2.0f, 3.25f}));
}

TEST(storage_types_are_recognised) {
  iotest::PthFile f;
  f.storages["d"] = std::vector<uint8_t>(16, 0);
  f.storages["l"] = std::vector<uint8_t>(16, 0);
  f.storages["b"] = {1, 0, 1};
  f.storages["h"] = {0x00, 0x3c};  // f16 1.0
  f.pickle = iotest::state_dict_pickle({{"d", "DoubleStorage", "d", 2, 0, {2}, {1}},
                                        {"l", "LongStorage", "l", 2, 0, {2}, {1}},
                                        {"b", "BoolStorage", "b", 3, 0, {3}, {1}},
                                        {"h", "HalfStorage", "h", 1, 0, {}, {}}});
  f.byteorder = "";
  f.options.data_descriptors = false;
  f.options.zip64_end = false;
  iotest::TempFile tmp(".pth");
  f.write(tmp.path());
  auto r = TensorFile::open(tmp.path());
  CHECK(get(*r, "d").dtype == DType::F64);
  CHECK(get(*r, "l").dtype == DType::I64);
  CHECK(get(*r, "b").dtype == DType::Bool);
  CHECK(get(*r, "h").dtype == DType::F16);
  CHECK(get(*r, "h").shape.empty());
  CHECK(tensor_to_f32(get(*r, "h")) == std::vector<float>{1.0f});
}

TEST(protocol4_pickle_plain_dict_parameter_and_state_dict_wrapper) {
  // {"state_dict": {"w": Parameter(tensor)}, "epoch": 3} in protocol 4: FRAME, SHORT_BINUNICODE, STACK_GLOBAL,
  // MEMOIZE and BINGET of a memoized global.
  iotest::Pickle p;
  auto sbu = [&](const std::string& s) {
    p.op(0x8c).op(static_cast<uint8_t>(s.size()));
    p.out.str(s);
    p.op(0x94);
  };
  p.proto(4).op(0x95);
  p.out.u64(0);
  p.empty_dict().op(0x94).mark();
  sbu("state_dict");
  p.empty_dict().op(0x94).mark();
  sbu("w");
  sbu("torch._utils");
  sbu("_rebuild_parameter");
  p.op(0x93).op(0x94);
  sbu("torch._utils");
  sbu("_rebuild_tensor_v2");
  p.op(0x93).op(0x94);
  p.mark();
  p.mark();
  sbu("storage");
  sbu("torch");
  sbu("FloatStorage");
  p.op(0x93).op(0x94);
  sbu("0");
  sbu("cpu");
  p.integer(4).tuple().persid();
  p.integer(0).integer(2).integer(2).op(0x86).integer(2).integer(1).op(0x86).newfalse();
  sbu("collections");
  sbu("OrderedDict");
  p.op(0x93).empty_tuple().reduce();
  p.tuple().reduce();
  p.newtrue().global("collections", "OrderedDict").empty_tuple().reduce().op(0x87).reduce();
  p.setitems();
  sbu("epoch");
  p.integer(3);
  p.op(0x8a).op(0);  // LONG1 of zero bytes: the value 0 is not used, only parsed
  p.op('0');         // POP
  p.setitems().stop();
  iotest::PthFile f;
  f.pickle = p.out.b;
  f.storages["0"] = f32_bytes({1, 2, 3, 4});
  iotest::TempFile tmp(".pth");
  f.write(tmp.path());
  auto r = TensorFile::open(tmp.path());
  CHECK(r->tensors().size() == 1);
  CHECK(get(*r, "w").shape == (Shape{2, 2}));
  CHECK(tensor_to_f32(get(*r, "w")) == (std::vector<float>{1, 2, 3, 4}));
}

TEST(zip64_archive_beyond_4gib_opens_fast_without_copying) {
  // A sparse 5.5 GiB archive: a 4.5 GiB bf16 storage (its size needs Zip64) followed by a small one whose local
  // header offset needs Zip64 too. Nothing of the big storage is on disk; opening must not touch it.
  const int64_t big_rows = 36864, cols = 65536;  // 36864 * 65536 * 2 bytes = 4.5 GiB
  iotest::TempFile tmp(".pth");
  {
    std::vector<PthTensor> t = {{"big", "BFloat16Storage", "0", big_rows * cols, 0, {big_rows, cols}, {cols, 1}},
                                {"small", "FloatStorage", "1", 4, 0, {4}, {1}}};
    iotest::ZipWriter z;
    z.add("model/data.pkl", iotest::state_dict_pickle(t));
    z.add("model/byteorder", {'l', 'i', 't', 't', 'l', 'e'});
    z.add_hole("model/data/0", static_cast<uint64_t>(big_rows * cols * 2));
    z.add("model/data/1", f32_bytes({5, 6, 7, 8}));
    z.write(tmp.path());
    CHECK(z.local_offset(3) > 0xffffffffull);
  }
  auto t0 = std::chrono::steady_clock::now();
  auto r = TensorFile::open(tmp.path());
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("  opened a 5.5 GiB sparse .pth in %.2f ms\n", ms);
  CHECK(ms < 500);
  const TensorView& big = get(*r, "big");
  CHECK(big.shape == (Shape{big_rows, cols}));
  CHECK(big.dtype == DType::BF16);
  CHECK(tensor_to_f32(get(*r, "small")) == (std::vector<float>{5, 6, 7, 8}));
  // Both point into the one mapping: the small storage lies past the end of the big one.
  CHECK(get(*r, "small").data > big.data + big.nbytes());
  CHECK(big.data[big.nbytes() - 1] == 0);
}

TEST(legacy_pickle_is_refused) {
  iotest::Bytes b;
  b.raw("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02M\xe9\x03.", 22);
  iotest::TempFile tmp(".pth");
  tmp.write(b.b);
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelLegacyPickle, tmp.path().c_str(), "legacy");
}

namespace {
void expect_pickle_refused(const std::vector<uint8_t>& pickle, const char* want_code, const char* mention,
                           std::map<std::string, std::vector<uint8_t>> storages = {}) {
  iotest::PthFile f;
  f.pickle = pickle;
  f.storages = std::move(storages);
  iotest::TempFile tmp(".pth");
  f.write(tmp.path());
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), want_code, tmp.path().c_str(), mention);
}
}  // namespace

TEST(unknown_globals_are_refused_by_name) {
  iotest::Pickle p;
  p.proto(2).global("os", "system").mark().unicode("echo pwned").tuple().reduce().stop();
  expect_pickle_refused(p.out.b, code::kModelFormat, "'os.system'");
  iotest::Pickle q;
  q.proto(2).ordered_dict().mark().unicode("x").global("builtins", "eval").setitems().stop();
  expect_pickle_refused(q.out.b, code::kModelFormat, "'builtins.eval'");
  iotest::Pickle r;
  r.proto(2).global("torch", "ComplexFloatStorage").stop();
  expect_pickle_refused(r.out.b, code::kModelDtype, "ComplexFloatStorage");
}

TEST(malformed_pickles_are_refused) {
  iotest::Pickle underflow;
  underflow.proto(2).empty_dict().setitem().stop();
  expect_pickle_refused(underflow.out.b, code::kModelFormat, "underflow");
  iotest::Pickle no_mark;
  no_mark.proto(2).empty_dict().setitems().stop();
  expect_pickle_refused(no_mark.out.b, code::kModelFormat, "MARK");
  iotest::Pickle no_stop;
  no_stop.proto(2).empty_dict();
  expect_pickle_refused(no_stop.out.b, code::kModelFormat, "STOP");
  iotest::Pickle bad_memo;
  bad_memo.proto(2).op('h').op(7).stop();
  expect_pickle_refused(bad_memo.out.b, code::kModelFormat, "memo");
  iotest::Pickle bad_op;
  bad_op.proto(2).op('i').stop();  // INST would instantiate a class
  expect_pickle_refused(bad_op.out.b, code::kModelFormat, "opcode");
  iotest::Pickle not_dict;
  not_dict.proto(2).empty_tuple().stop();
  expect_pickle_refused(not_dict.out.b, code::kModelFormat, "tuple");
  iotest::Pickle not_tensor;
  not_tensor.proto(2).empty_dict().unicode("step").integer(5).setitem().stop();
  expect_pickle_refused(not_tensor.out.b, code::kModelFormat, "'step'");
  iotest::Pickle strategy;
  strategy.proto(2).empty_dict().unicode("_strategy").unicode("cuda fp16").setitem().stop();
  expect_pickle_refused(strategy.out.b, code::kModelFormat, "pre-converted");
  iotest::Pickle huge_string;
  huge_string.proto(2).op('X');
  huge_string.out.u32(0x7fffffff);
  expect_pickle_refused(huge_string.out.b, code::kModelFormat, "past the end");
  iotest::Pickle huge_int;
  huge_int.proto(2).op(0x8a).op(9);
  huge_int.out.u64(1).u8(0);
  huge_int.stop();
  expect_pickle_refused(huge_int.out.b, code::kModelFormat, "9 bytes");
}

TEST(storages_out_of_range_are_refused) {
  auto storage = std::map<std::string, std::vector<uint8_t>>{{"0", f32_bytes(iota(4))}};
  expect_pickle_refused(iotest::state_dict_pickle({{"t", "FloatStorage", "0", 4, 2, {4}, {1}}}), code::kModelFormat,
                        "'t'", storage);
  expect_pickle_refused(iotest::state_dict_pickle({{"t", "FloatStorage", "0", 8, 0, {8}, {1}}}), code::kModelFormat,
                        "8 elements", storage);
  expect_pickle_refused(iotest::state_dict_pickle({{"t", "FloatStorage", "9", 4, 0, {4}, {1}}}), code::kModelFormat,
                        "archive/data/9", storage);
  expect_pickle_refused(iotest::state_dict_pickle({{"t", "FloatStorage", "0", 4, 0, {1000000, 4}, {0, 1}}}),
                        code::kModelFormat, "overlaps", storage);
  expect_pickle_refused(iotest::state_dict_pickle({{"t", "FloatStorage", "0", 4, 0, {2, 2}, {-1, 1}}}),
                        code::kModelFormat, "negative stride", storage);
  expect_pickle_refused(iotest::state_dict_pickle({{"t", "FloatStorage", "0", 4, 0, {4611686018427387904, 4}, {4, 1}}}),
                        code::kModelFormat, "'t'", storage);
}

TEST(zip_level_refusals) {
  // Compressed entries cannot be mapped.
  iotest::PthFile f;
  f.pickle = iotest::state_dict_pickle({});
  f.options.method = 8;
  iotest::TempFile tmp(".pth");
  f.write(tmp.path());
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelFormat, "compressed", "method 8");
  // A zip without data.pkl.
  iotest::ZipWriter z;
  z.add("hello.txt", {'h', 'i'});
  z.write(tmp.path());
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelFormat, "data.pkl");
  // A byteorder record that is neither little nor big.
  iotest::PthFile g;
  g.pickle = iotest::state_dict_pickle({});
  g.byteorder = "middle";
  g.write(tmp.path());
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelFormat, "'middle'");
}

TEST(non_files_are_refused) {
  CHECK_ERROR_MENTIONS(TensorFile::open("/nonexistent/model.pth"), code::kIo, "/nonexistent/model.pth");
  CHECK_ERROR_MENTIONS(TensorFile::open("/tmp"), code::kIo, "directory");
  iotest::TempFile empty(".pth");
  empty.write("", 0);
  CHECK_ERROR_MENTIONS(TensorFile::open(empty.path()), code::kModelTruncated, "empty");
}

TEST_MAIN()
