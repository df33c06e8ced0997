// safetensors: the header length and the JSON header. Mutations edit JSON tokens (numbers to edge values such
// as 2^64 or 1e308, strings to other dtypes and names, members repeated, structure characters inserted, deep
// nesting) and usually keep the length field consistent so the edits reach the parser and the checks after it.
#include "fuzz_common.h"
#include "hostile_files.h"
#include "rwkv/tensor_file.h"

namespace {

using fuzz::Bytes;

// Tensors of a real checkpoint written as safetensors; `hf` renames them the Hugging Face way for names.cc.
Bytes from_checkpoint(const std::string& rel, bool hf) {
  auto pth = rwkv::TensorFile::open(check::shared_path(rel));
  std::vector<iotest::StTensor> st;
  for (const auto& [name, v] : pth->tensors()) {
    std::string n = name;
    if (hf && n.rfind("blocks.", 0) == 0) n = "model.layers." + n.substr(7);
    if (hf && n == "emb.weight") n = "model.embeddings.weight";
    st.push_back(iotest::st_from_view(n, v));
  }
  return iotest::safetensors_bytes(st, "{\"format\":\"pt\"}");
}

std::vector<Bytes> seeds() {
  return {
      from_checkpoint("fixtures/pth-container/251016_rosa_1bit_run.pth", false),
      from_checkpoint("fixtures/pth-container/260123_reverse_L2_only_rwkv7.pth", false),
      from_checkpoint("fixtures/pth-container/260123_reverse_L2_only_rwkv7.pth", true),
      hostile::safetensors_naming_block_999999(),
      hostile::safetensors_with_huge_header(2000),
  };
}

const char* const kTokens[] = {"0",
                               "1",
                               "-1",
                               "4",
                               "18446744073709551615",
                               "18446744073709551616",
                               "9223372036854775807",
                               "1e308",
                               "0.5",
                               "\"F32\"",
                               "\"F16\"",
                               "\"BF16\"",
                               "\"F64\"",
                               "\"I8\"",
                               "\"\"",
                               "null",
                               "true",
                               "[]",
                               "{}",
                               "[",
                               "]",
                               "{",
                               "}",
                               ",",
                               ":",
                               "\"",
                               "\\u0000",
                               "\\ud800",
                               "\"__metadata__\"",
                               "\"blocks.999999.x\"",
                               "\"data_offsets\"",
                               "\"shape\"",
                               "\"dtype\""};

void mutate(Bytes& b, fuzz::Rng& rng, const std::vector<Bytes>&) {
  if (b.size() < 8) return;
  uint64_t len = fuzz::get(b, 0, 8);
  if (len > b.size() - 8) len = b.size() - 8;
  std::string h(b.begin() + 8, b.begin() + 8 + static_cast<std::ptrdiff_t>(len));
  if (rng.one_in(8)) {
    fuzz::put(b, 0, fuzz::interesting(rng, len), 8);  // the length field alone
    return;
  }
  size_t at = rng.below(h.size() + 1);
  switch (rng.below(4)) {
    case 0: {  // replace the token (number, string or literal) at `at`
      size_t end = at;
      if (at < h.size() && h[at] == '"') {
        end = h.find('"', at + 1);
        end = end == std::string::npos ? h.size() : end + 1;
      } else {
        while (end < h.size() && std::string("{}[],:\"").find(h[end]) == std::string::npos) end++;
      }
      h.replace(at, end - at, kTokens[rng.below(sizeof kTokens / sizeof kTokens[0])]);
      break;
    }
    case 1: h.insert(at, kTokens[rng.below(sizeof kTokens / sizeof kTokens[0])]); break;
    case 2: {  // repeat a stretch (members, array elements), sometimes many times
      size_t n = std::min<size_t>(1 + rng.below(120), h.size() - std::min(at, h.size()));
      std::string piece = h.substr(at, n);
      for (size_t k = rng.one_in(8) ? rng.below(2000) : 1; k-- > 0;) h.insert(at, piece);
      break;
    }
    default: {  // deep nesting
      std::string open(1 + rng.below(100), rng.one_in(2) ? '[' : '{');
      h.insert(at, open);
    }
  }
  Bytes out(8);
  fuzz::put(out, 0, rng.one_in(4) ? fuzz::interesting(rng, h.size()) : h.size(), 8);
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), b.begin() + 8 + static_cast<std::ptrdiff_t>(len), b.end());
  b = std::move(out);
}

void run(const uint8_t* data, size_t size) { fuzz::open_buffer("fuzz.safetensors", data, size); }

}  // namespace

FUZZ_MAIN((fuzz::Target{"safetensors", seeds, mutate, run}))
