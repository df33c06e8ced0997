// The identity of a vocabulary: a hash over every (id, bytes) pair in increasing id order. It depends only
// on what the tokens are, not on how a file spells them (quote style, escapes, line endings), so states and
// models can be matched to the tokenizer that produced their ids.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "util/hash.h"

namespace rwkv::tok {

class VocabFingerprint {
 public:
  // Tokens must be added in increasing id order.
  void add(int32_t id, std::string_view bytes) {
    // Fixed-width little-endian id and length make the byte stream unambiguous.
    uint8_t head[8];
    const auto uid = static_cast<uint32_t>(id);
    const auto len = static_cast<uint32_t>(bytes.size());
    for (int k = 0; k < 4; k++) {
      head[k] = static_cast<uint8_t>(uid >> (8 * k));
      head[4 + k] = static_cast<uint8_t>(len >> (8 * k));
    }
    hash_.update(head, sizeof head);
    hash_.update(bytes.data(), bytes.size());
  }
  std::string hex() const { return hex64(hash_.digest()); }

 private:
  Xxh64 hash_;
};

}  // namespace rwkv::tok
