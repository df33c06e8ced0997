#include "tokenizer/world_tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "rwkv/error.h"
#include "tokenizer/vocab_fingerprint.h"

namespace rwkv::tok {
namespace {

int32_t max_id(const std::vector<VocabEntry>& entries) {
  int32_t m = 0;
  for (const auto& e : entries) m = std::max(m, e.id);
  return m;
}

// Sorted trie keys; refuses vocabularies that greedy matching cannot handle: a byte string under two ids
// would make the encoding ambiguous, and a missing single byte would leave some inputs unencodable.
std::vector<DoubleArrayTrie::Key> trie_keys(const std::vector<VocabEntry>& entries, const std::string& path) {
  if (entries.empty()) throw Error(code::kTokenizer, "vocab file " + path + ": expected at least one token, got none");
  std::vector<const VocabEntry*> sorted;
  sorted.reserve(entries.size());
  for (const auto& e : entries) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](const VocabEntry* a, const VocabEntry* b) {
    return a->bytes != b->bytes ? a->bytes < b->bytes : a->line < b->line;
  });

  const VocabEntry* repeat = nullptr;
  const VocabEntry* original = nullptr;
  for (size_t k = 1; k < sorted.size(); k++) {
    const bool first_repeat =
        sorted[k]->bytes == sorted[k - 1]->bytes && (k < 2 || sorted[k - 2]->bytes != sorted[k]->bytes);
    if (first_repeat && (!repeat || sorted[k]->line < repeat->line)) {
      repeat = sorted[k];
      original = sorted[k - 1];
    }
  }
  if (repeat)
    throw Error(code::kTokenizer, "vocab file " + path + ", line " + std::to_string(repeat->line) +
                                      ": expected a token not already in the vocabulary, got the bytes of id " +
                                      std::to_string(original->id) + " (line " + std::to_string(original->line) +
                                      ") again as id " + std::to_string(repeat->id));

  bool single[256] = {};
  for (const auto* e : sorted)
    if (e->bytes.size() == 1) single[static_cast<uint8_t>(e->bytes[0])] = true;
  for (int b = 0; b < 256; b++) {
    if (!single[b]) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", b);
      throw Error(code::kTokenizer, "vocab file " + path + ": expected a token for every single byte, none for " + hex);
    }
  }

  std::vector<DoubleArrayTrie::Key> keys;
  keys.reserve(sorted.size());
  for (const auto* e : sorted) keys.push_back({e->bytes, e->id});
  return keys;
}

}  // namespace

WorldTokenizer::WorldTokenizer(const std::vector<VocabEntry>& entries, const std::string& path)
    : vocab_size_(max_id(entries) + 1), trie_(trie_keys(entries, path)) {
  std::vector<const VocabEntry*> by_id(static_cast<size_t>(vocab_size_), nullptr);
  size_t total = 0;
  for (const auto& e : entries) {
    by_id[static_cast<size_t>(e.id)] = &e;
    total += e.bytes.size();
  }
  if (total > UINT32_MAX) throw Error(code::kTokenizer, "vocab file " + path + ": expected under 4 GiB of token bytes");
  text_.reserve(total);
  offsets_.resize(static_cast<size_t>(vocab_size_) + 1);
  VocabFingerprint fp;
  for (size_t id = 0; id < by_id.size(); id++) {
    offsets_[id] = static_cast<uint32_t>(text_.size());
    if (!by_id[id]) continue;
    text_ += by_id[id]->bytes;
    fp.add(static_cast<int32_t>(id), by_id[id]->bytes);
  }
  offsets_.back() = static_cast<uint32_t>(text_.size());
  fingerprint_ = fp.hex();
}

std::vector<int32_t> WorldTokenizer::encode(std::string_view bytes) const {
  std::vector<int32_t> ids;
  // Typical text averages three to four bytes per token; this avoids most regrowth without overcommitting.
  ids.reserve(bytes.size() / 3 + 8);
  trie_.greedy_encode(bytes, ids);
  return ids;
}

std::string WorldTokenizer::decode(const int32_t* ids, size_t n) const {
  size_t total = 0;
  for (size_t k = 0; k < n; k++) {
    const int32_t id = ids[k];
    const bool known = id >= 0 && id < vocab_size_ && (id == 0 || offsets_[id + 1] != offsets_[id]);
    if (!known)
      throw Error(code::kToken, "token id " + std::to_string(id) + " is not in the World vocabulary (ids 0.." +
                                    std::to_string(vocab_size_ - 1) + ")");
    total += offsets_[id + 1] - offsets_[id];
  }
  std::string out(total, '\0');
  char* dst = out.data();
  for (size_t k = 0; k < n; k++) {
    const uint32_t begin = offsets_[ids[k]], len = offsets_[ids[k] + 1] - begin;
    std::memcpy(dst, text_.data() + begin, len);
    dst += len;
  }
  return out;
}

size_t WorldTokenizer::memory_bytes() const {
  return text_.capacity() + offsets_.capacity() * sizeof(uint32_t) + trie_.memory_bytes();
}

}  // namespace rwkv::tok

namespace rwkv {

std::unique_ptr<Tokenizer> load_world_tokenizer(const std::string& path) {
  return std::make_unique<tok::WorldTokenizer>(tok::read_world_vocab(path), path);
}

}  // namespace rwkv
