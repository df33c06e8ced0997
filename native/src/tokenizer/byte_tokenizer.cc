// The tokenizer of byte-level models: each byte is its own id.
#include <cstdint>
#include <string>

#include "rwkv/error.h"
#include "rwkv/tokenizer.h"
#include "tokenizer/vocab_fingerprint.h"

namespace rwkv {
namespace {

class ByteTokenizer final : public Tokenizer {
 public:
  ByteTokenizer() {
    tok::VocabFingerprint fp;
    for (int b = 0; b < 256; b++) {
      const char c = static_cast<char>(b);
      fp.add(b, std::string_view(&c, 1));
    }
    fingerprint_ = fp.hex();
  }

  std::vector<int32_t> encode(std::string_view bytes) const override {
    std::vector<int32_t> ids(bytes.size());
    for (size_t k = 0; k < bytes.size(); k++) ids[k] = static_cast<uint8_t>(bytes[k]);
    return ids;
  }

  std::string decode(const int32_t* ids, size_t n) const override {
    std::string out(n, '\0');
    for (size_t k = 0; k < n; k++) {
      if (ids[k] < 0 || ids[k] > 255)
        throw Error(code::kToken, "token id " + std::to_string(ids[k]) + " is not a byte (ids 0..255)");
      out[k] = static_cast<char>(ids[k]);
    }
    return out;
  }

  int32_t vocab_size() const override { return 256; }
  const std::string& kind() const override { return kind_; }
  const std::string& fingerprint() const override { return fingerprint_; }

 private:
  std::string kind_ = "bytes";
  std::string fingerprint_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_byte_tokenizer() { return std::make_unique<ByteTokenizer>(); }

}  // namespace rwkv
