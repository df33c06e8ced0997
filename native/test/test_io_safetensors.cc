// safetensors reading and key normalization: Hugging Face / flash-linear-attention files and web-rwkv's
// transposed LoRA layout written from the official tensors must load back to identical tensors; bad headers,
// dtypes and offsets are refused; sharded checkpoints load through their index.
#include <cstring>
#include <set>

#include "check.h"
#include "rwkv/error.h"
#include "rwkv/tensor_file.h"
#include "test_io_writers.h"

using namespace rwkv;
using iotest::StTensor;
using Shape = std::vector<int64_t>;

namespace {

std::unique_ptr<TensorFile> open_fixture(const std::string& rel) { return TensorFile::open(check::shared_path(rel)); }

StTensor squeezed(const std::string& name, const TensorView& v) {
  StTensor t = iotest::st_from_view(name, v);
  t.shape = {v.numel()};
  return t;
}

// Splits "blocks.<i>.<rest>" into i and rest.
bool split(const std::string& name, std::string* layer, std::string* rest) {
  if (name.rfind("blocks.", 0) != 0) return false;
  size_t dot = name.find('.', 7);
  *layer = name.substr(7, dot - 7);
  *rest = name.substr(dot + 1);
  return true;
}

// The fla converter's renames (utils/convert_from_rwkv7.py): LoRA matrices as nn.Linear weights (transposed),
// LoRA biases and k_k/k_a/ffn.x_k squeezed to (C); layer 0's unused v0/v1/v2 dropped. `pack_x` writes the six
// token-shift vectors as one (6, C) attn.x_x, the older layout.
std::vector<StTensor> to_fla(const std::map<std::string, TensorView>& official, bool pack_x, const std::string& top) {
  std::vector<StTensor> out;
  std::map<std::string, std::vector<uint8_t>> packed;
  for (const auto& [name, v] : official) {
    if (name == "emb.weight") {
      out.push_back(iotest::st_from_view(top + "embeddings.weight", v));
      continue;
    }
    if (name == "ln_out.weight") {
      out.push_back(iotest::st_from_view(top + "norm.weight", v));
      continue;
    }
    if (name == "ln_out.bias") {
      out.push_back(iotest::st_from_view(top + "norm.bias", v));
      continue;
    }
    if (name == "head.weight") {
      out.push_back(iotest::st_from_view("lm_head.weight", v));
      continue;
    }
    std::string layer, rest;
    if (!split(name, &layer, &rest)) {
      out.push_back(iotest::st_from_view(name, v));
      continue;
    }
    std::string p = top + "layers." + layer + ".";
    static const std::map<std::string, std::string> kRename = {{"ln0.weight", "pre_norm.weight"},
                                                               {"ln0.bias", "pre_norm.bias"},
                                                               {"ln1.weight", "attn_norm.weight"},
                                                               {"ln1.bias", "attn_norm.bias"},
                                                               {"ln2.weight", "ffn_norm.weight"},
                                                               {"ln2.bias", "ffn_norm.bias"},
                                                               {"att.receptance.weight", "attn.r_proj.weight"},
                                                               {"att.key.weight", "attn.k_proj.weight"},
                                                               {"att.value.weight", "attn.v_proj.weight"},
                                                               {"att.output.weight", "attn.o_proj.weight"},
                                                               {"att.ln_x.weight", "attn.g_norm.weight"},
                                                               {"att.ln_x.bias", "attn.g_norm.bias"},
                                                               {"att.r_k", "attn.r_k"},
                                                               {"ffn.key.weight", "ffn.key.weight"},
                                                               {"ffn.value.weight", "ffn.value.weight"}};
    if (auto it = kRename.find(rest); it != kRename.end()) {
      out.push_back(iotest::st_from_view(p + it->second, v));
      continue;
    }
    if (rest.size() == 6 && rest.rfind("att.", 0) == 0 && std::string("wavg").find(rest[4]) != std::string::npos) {
      if (layer == "0" && rest[4] == 'v') continue;
      std::string lora = p + "attn." + rest[4] + "_lora.lora.";
      if (rest[5] == '1')
        out.push_back(iotest::st_transposed(lora + "0.weight", v));
      else if (rest[5] == '2')
        out.push_back(iotest::st_transposed(lora + "2.weight", v));
      else
        out.push_back(squeezed(lora + "2.bias", v));
      continue;
    }
    if (rest == "att.k_k" || rest == "att.k_a") {
      out.push_back(squeezed(p + "attn." + rest.substr(4), v));
      continue;
    }
    if (rest == "ffn.x_k") {
      out.push_back(squeezed(p + "ffn.x_k", v));
      continue;
    }
    if (rest.rfind("att.x_", 0) == 0) {
      if (pack_x) {
        auto& buf = packed[p];
        if (buf.empty()) buf.resize(6 * v.nbytes());
        size_t row = std::string("rwkvag").find(rest[6]);
        std::memcpy(&buf[row * v.nbytes()], v.data, v.nbytes());
      } else {
        out.push_back(iotest::st_from_view(p + "attn." + rest.substr(4), v));
      }
      continue;
    }
    CHECK_MSG(false, "unexpected official key %s", name.c_str());
  }
  for (auto& [p, buf] : packed) {
    out.push_back({p + "attn.x_x", "F32", {6, static_cast<int64_t>(buf.size() / 24)}, buf});
  }
  return out;
}

// Every official tensor (except layer 0's unused v0/v1/v2) must come back identical.
void expect_same_model(const TensorFile& got, const TensorFile& want) {
  size_t compared = 0;
  for (const auto& [name, w] : want.tensors()) {
    if (name == "blocks.0.att.v0" || name == "blocks.0.att.v1" || name == "blocks.0.att.v2") continue;
    auto it = got.tensors().find(name);
    if (it == got.tensors().end()) {
      CHECK_MSG(false, "missing %s", name.c_str());
      continue;
    }
    CHECK_MSG(it->second.shape == w.shape, "%s shape", name.c_str());
    CHECK_MSG(iotest::same_tensor(it->second, w), "%s differs", name.c_str());
    compared++;
  }
  CHECK(compared == got.tensors().size());
  for (const auto& [name, g] : got.tensors()) CHECK_MSG(want.tensors().count(name), "unexpected %s", name.c_str());
}

}  // namespace

TEST(hf_fla_names_load_as_official_tensors) {
  for (const char* rel :
       {"fixtures/rwkv7/tiny-rwkv7-834K-fp32.pth", "fixtures/rwkv7/synth-rwkv7-L3-D256-H4-fp32.pth"}) {
    auto pth = open_fixture(rel);
    for (bool pack : {false, true}) {
      for (const char* top : {"model.", ""}) {
        iotest::TempFile tmp(".safetensors");
        tmp.write(iotest::safetensors_bytes(to_fla(pth->tensors(), pack, top), "{\"format\":\"pt\"}"));
        auto st = TensorFile::open(tmp.path());
        CHECK(st->format() == "safetensors");
        expect_same_model(*st, *pth);
        CHECK(detect_version(st->tensors()) == "x070");
      }
    }
  }
}

TEST(hf_names_in_a_pth_container_are_normalized_too) {
  auto pth = open_fixture("fixtures/rwkv7/synth-rwkv7-L3-D256-H4-fp32.pth");
  InMemoryTensorFile fla;
  for (const auto& t : to_fla(pth->tensors(), false, "model.")) {
    fla.add(t.name, DType::F32, t.shape, t.data.data());
  }
  iotest::TempFile tmp(".bin");
  iotest::write_pth(tmp.path(), fla.tensors());
  expect_same_model(*TensorFile::open(tmp.path()), *pth);
}

TEST(web_rwkv_transposed_lora_is_turned_back) {
  auto pth = open_fixture("fixtures/rwkv7/synth-rwkv7-L3-D256-H4-fp32.pth");
  std::vector<StTensor> st;
  for (const auto& [name, v] : pth->tensors()) {
    size_t dot = name.rfind('.');
    std::string leaf = name.substr(dot + 1);
    bool lora = leaf.size() == 2 && std::string("wavg").find(leaf[0]) != std::string::npos &&
                (leaf[1] == '1' || leaf[1] == '2');
    st.push_back(lora ? iotest::st_transposed(name, v) : iotest::st_from_view(name, v));
  }
  iotest::TempFile tmp(".st");
  tmp.write(iotest::safetensors_bytes(st));
  auto r = TensorFile::open(tmp.path());
  CHECK(r->tensors().size() == pth->tensors().size());
  for (const auto& [name, w] : pth->tensors())
    CHECK_MSG(iotest::same_tensor(r->tensors().at(name), w), "%s", name.c_str());
}

TEST(official_names_pass_through_unchanged) {
  auto pth = open_fixture("fixtures/rwkv7/tiny-rwkv7-834K-bf16.pth");
  std::vector<StTensor> st;
  for (const auto& [name, v] : pth->tensors()) st.push_back(iotest::st_from_view(name, v));
  iotest::TempFile tmp(".safetensors");
  tmp.write(iotest::safetensors_bytes(st, "{\"note\":\"caf\\u00e9 \\ud83d\\ude00\"}"));
  auto r = TensorFile::open(tmp.path());
  CHECK(r->tensors().size() == 399);
  for (const auto& [name, w] : pth->tensors())
    CHECK_MSG(iotest::same_tensor(r->tensors().at(name), w), "%s", name.c_str());
}

TEST(header_length_starting_like_a_pickle_is_still_safetensors) {
  // A 640-byte header makes the file start 80 02, the first bytes of a protocol-2 pickle.
  std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  h.resize(640, ' ');
  iotest::Bytes b;
  b.u64(h.size()).str(h).u32(0x3f800000).u32(0x40000000);
  iotest::TempFile tmp(".safetensors");
  tmp.write(b.b);
  auto r = TensorFile::open(tmp.path());
  CHECK(tensor_to_f32(r->tensors().at("a")) == (std::vector<float>{1.0f, 2.0f}));
}

TEST(unsupported_dtypes_are_refused_by_name) {
  iotest::TempFile tmp(".safetensors");
  tmp.write(iotest::safetensors_bytes(
      {{"a", "F32", {2}, std::vector<uint8_t>(8)}, {"quant.w", "I8", {4}, std::vector<uint8_t>(4)}}));
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelDtype, tmp.path().c_str(), "'quant.w'", "I8",
                       "F32, F16 or BF16");
  tmp.write(iotest::safetensors_bytes({{"x", "F8_E4M3", {4}, std::vector<uint8_t>(4)}}));
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelDtype, "F8_E4M3");
}

namespace {
std::vector<uint8_t> raw_safetensors(const std::string& header, size_t data_bytes) {
  iotest::Bytes b;
  b.u64(header.size()).str(header);
  b.b.resize(b.b.size() + data_bytes, 0);
  return b.b;
}
void expect_header_refused(const std::string& header, size_t data_bytes, const char* want_code, const char* mention) {
  iotest::TempFile tmp(".safetensors");
  tmp.write(raw_safetensors(header, data_bytes));
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), want_code, tmp.path().c_str(), mention);
}
}  // namespace

TEST(bad_headers_and_offsets_are_refused) {
  const char* F = code::kModelFormat;
  expect_header_refused(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4, code::kModelTruncated,
                        "cut short");
  expect_header_refused(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}})", 12, F, "spanning 8 bytes");
  expect_header_refused(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12, F, "start at byte 0");
  expect_header_refused(
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
      4, F, "start at byte 4");
  expect_header_refused(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8, F, "after the last tensor");
  expect_header_refused(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4, F, "non-negative");
  expect_header_refused(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4, F, "non-negative");
  expect_header_refused(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4, F,
                        "too large");
  expect_header_refused(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", 4, F, "\"shape\"");
  expect_header_refused(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},})", 4, F, "invalid JSON");
  expect_header_refused(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{}})", 4, F, "twice");
  expect_header_refused(R"({"__metadata__":{"n":1}})", 0, F, "__metadata__");
  expect_header_refused(R"({"a":"b"} x)", 0, F, "end of the JSON");
  expect_header_refused(R"({"a":"\ud800"})", 0, F, "surrogate");
  expect_header_refused("{\"a\":" + std::string(5000, '[') + std::string(5000, ']') + "}", 0, F, "nesting");
  expect_header_refused(R"({"a":tru})", 0, F, "invalid JSON");
  expect_header_refused("{\"a\":\"x\ny\"}", 0, F, "control");
  expect_header_refused(R"({"a":1})", 0, F, "expected an object");
  // A header length beyond the file is a cut file; one beyond 100 MiB is not a safetensors file at all.
  iotest::TempFile tmp(".safetensors");
  iotest::Bytes b;
  b.u64(1000).str("{\"a\":");
  tmp.write(b.b);
  CHECK_ERROR_MENTIONS(TensorFile::open(tmp.path()), code::kModelTruncated, "1000-byte");
}

TEST(sharded_checkpoint_loads_through_its_index) {
  auto pth = open_fixture("fixtures/rwkv7/tiny-rwkv7-834K-fp32.pth");
  auto fla = to_fla(pth->tensors(), false, "model.");
  std::vector<StTensor> a(fla.begin(), fla.begin() + static_cast<std::ptrdiff_t>(fla.size() / 2));
  std::vector<StTensor> b(fla.begin() + static_cast<std::ptrdiff_t>(fla.size() / 2), fla.end());
  iotest::TempDir dir;
  iotest::TempFile s1(dir.path(), "model-00001-of-00002.safetensors"),
      s2(dir.path(), "model-00002-of-00002.safetensors");
  iotest::TempFile index(dir.path(), "model.safetensors.index.json");
  s1.write(iotest::safetensors_bytes(a));
  s2.write(iotest::safetensors_bytes(b));
  std::string json = "{\n  \"metadata\": {\"total_size\": 0},\n  \"weight_map\": {";
  for (size_t i = 0; i < fla.size(); i++) {
    json += std::string(i ? "," : "") + "\n    \"" + fla[i].name + "\": \"" +
            (i < a.size() ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors") + "\"";
  }
  index.write(json + "\n  }\n}\n");
  auto r = TensorFile::open(index.path());
  CHECK(r->format() == "safetensors");
  expect_same_model(*r, *pth);

  index.write(std::string("{\"weight_map\": {\"x\": \"../etc/passwd\"}}"));
  CHECK_ERROR_MENTIONS(TensorFile::open(index.path()), code::kModelFormat, "plain file name");
  index.write(std::string("{\"weight_map\": {\"nope\": \"model-00001-of-00002.safetensors\"}}"));
  CHECK_ERROR_MENTIONS(TensorFile::open(index.path()), code::kModelFormat, "'nope'");
  index.write(std::string("{\"weight_map\": {\"x\": \"missing.safetensors\"}}"));
  CHECK_ERROR_MENTIONS(TensorFile::open(index.path()), code::kIo, "missing.safetensors");
  index.write(std::string("{\"not_an_index\": 1}"));
  CHECK_ERROR_MENTIONS(TensorFile::open(index.path()), code::kModelFormat, "weight_map");
}

TEST_MAIN()
