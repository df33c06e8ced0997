// Reading of a World vocab file: one `<id> <python literal> <byte length>` line per token.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rwkv::tok {

// Ids above this are refused: every id-indexed table is sized by the largest id, so a stray huge id in a
// damaged file must not turn into a multi-gigabyte allocation.
inline constexpr int32_t kMaxTokenId = (1 << 24) - 1;

struct VocabEntry {
  int32_t id = 0;
  std::string bytes;
  size_t line = 0;  // 1-based line in the file, for error messages
};

// Entries in file order. Checks each line on its own (syntax, literal, declared length, 1 <= id <=
// kMaxTokenId, non-empty token) and that no id repeats; throws E_IO when the file cannot be read and
// E_TOKENIZER naming the first bad line otherwise.
std::vector<VocabEntry> read_world_vocab(const std::string& path);

// The same checks on text already in memory; `path` only names the source in messages.
std::vector<VocabEntry> parse_world_vocab(const std::string& text, const std::string& path);

}  // namespace rwkv::tok
