// Tokenizers: the RWKV World tokenizer (greedy longest byte-prefix over the vocab file) and the byte tokenizer
// (id = byte value) of byte-level models. Both work on bytes, so any input (including invalid UTF-8) encodes,
// and decode returns bytes exactly.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<int32_t> encode(std::string_view bytes) const = 0;
  // Throws E_TOKEN for an id outside the vocabulary. Id 0 (World end-of-text) decodes to nothing.
  virtual std::string decode(const int32_t* ids, size_t n) const = 0;
  // Number of ids the tokenizer can produce: max id + 1 (World: 65530; bytes: 256).
  virtual int32_t vocab_size() const = 0;
  virtual const std::string& kind() const = 0;         // "world" or "bytes"
  virtual const std::string& fingerprint() const = 0;  // 16 hex digits over the vocabulary contents
};

// Parses a World vocab file (`<id> <python literal> <byte length>` per line). Throws E_IO / E_TOKENIZER with
// the line number of the first bad line.
std::unique_ptr<Tokenizer> load_world_tokenizer(const std::string& path);
std::unique_ptr<Tokenizer> make_byte_tokenizer();

}  // namespace rwkv
