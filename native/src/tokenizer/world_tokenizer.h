// The RWKV World tokenizer: greedy longest byte-prefix matching over the tokens of a vocab file.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "rwkv/tokenizer.h"
#include "tokenizer/double_array_trie.h"
#include "tokenizer/vocab_file.h"

namespace rwkv::tok {

class WorldTokenizer final : public Tokenizer {
 public:
  // Throws E_TOKENIZER when two ids share the same bytes or a single byte has no token; `path` names the
  // source in those messages.
  WorldTokenizer(const std::vector<VocabEntry>& entries, const std::string& path);

  std::vector<int32_t> encode(std::string_view bytes) const override;
  std::string decode(const int32_t* ids, size_t n) const override;
  int32_t vocab_size() const override { return vocab_size_; }
  const std::string& kind() const override { return kind_; }
  const std::string& fingerprint() const override { return fingerprint_; }

  // Heap bytes held by the loaded tokenizer (matching trie plus decode tables).
  size_t memory_bytes() const;

 private:
  // Token id's bytes are text_[offsets_[id], offsets_[id + 1]); tokens are never empty, so an empty range
  // marks an id the file does not define (always id 0, the end-of-text id that decodes to nothing).
  std::string text_;
  std::vector<uint32_t> offsets_;
  int32_t vocab_size_ = 0;
  std::string kind_ = "world";
  std::string fingerprint_;
  DoubleArrayTrie trie_;
};

}  // namespace rwkv::tok
