#include "tokenizer/vocab_file.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "rwkv/error.h"
#include "tokenizer/python_literal.h"

namespace rwkv::tok {
namespace {

[[noreturn]] void bad_line(const std::string& path, size_t line, const std::string& expected, std::string_view got) {
  constexpr size_t kShown = 80;
  size_t cut = std::min(got.size(), kShown);
  // Cut at a character boundary so the message stays valid UTF-8 when the line is.
  while (cut < got.size() && cut > 0 && (static_cast<unsigned char>(got[cut]) & 0xC0) == 0x80) cut--;
  std::string shown(got.substr(0, cut));
  if (cut < got.size()) shown += "…";
  throw Error(code::kTokenizer, "vocab file " + path + ", line " + std::to_string(line) + ": expected " + expected +
                                    ", got \"" + shown + "\"");
}

// Parses a decimal number of at most 9 digits (enough for every id and length we accept, and never
// overflows); -1 when `s` is not such a number.
int64_t parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 9) return -1;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string read_all(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error(code::kIo, "cannot open vocab file " + path + ": " + std::strerror(errno));
  std::string data;
  char buf[1 << 16];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, got);
  const bool failed = std::ferror(f);
  const int err = errno;
  std::fclose(f);
  if (failed) throw Error(code::kIo, "cannot read vocab file " + path + ": " + std::strerror(err));
  return data;
}

}  // namespace

std::vector<VocabEntry> parse_world_vocab(const std::string& text, const std::string& path) {
  std::string_view rest(text);
  // A UTF-8 byte order mark is formatting, not content; editors add it when re-saving the file.
  if (rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);

  std::vector<VocabEntry> entries;
  std::string expected;
  size_t line_no = 0;
  while (!rest.empty()) {
    line_no++;
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;

    // The literal itself may contain spaces, so the id ends at the first space and the length starts after
    // the last one.
    const size_t first = line.find(' ');
    const size_t last = line.rfind(' ');
    if (first == std::string_view::npos || first == last)
      bad_line(path, line_no, "`<id> <python literal> <byte length>`", line);

    const int64_t id = parse_decimal(line.substr(0, first));
    if (id < 1 || id > kMaxTokenId)
      bad_line(path, line_no, "a token id between 1 and " + std::to_string(kMaxTokenId), line.substr(0, first));
    const int64_t length = parse_decimal(line.substr(last + 1));
    if (length < 0) bad_line(path, line_no, "a decimal byte length at the end of the line", line);

    VocabEntry entry;
    entry.id = static_cast<int32_t>(id);
    entry.line = line_no;
    if (!decode_python_literal(line.substr(first + 1, last - first - 1), entry.bytes, expected))
      bad_line(path, line_no, expected, line);
    if (entry.bytes.empty()) bad_line(path, line_no, "a non-empty token", line);
    if (static_cast<int64_t>(entry.bytes.size()) != length)
      bad_line(path, line_no,
               "byte length " + std::to_string(length) + " to match the literal, which decodes to " +
                   std::to_string(entry.bytes.size()) + " bytes",
               line);
    entries.push_back(std::move(entry));
  }

  // Report the earliest line that repeats an id seen before it.
  std::vector<const VocabEntry*> by_id;
  by_id.reserve(entries.size());
  for (const auto& e : entries) by_id.push_back(&e);
  std::sort(by_id.begin(), by_id.end(), [](const VocabEntry* a, const VocabEntry* b) {
    return a->id != b->id ? a->id < b->id : a->line < b->line;
  });
  const VocabEntry* repeat = nullptr;
  const VocabEntry* original = nullptr;
  for (size_t k = 1; k < by_id.size(); k++) {
    const bool first_repeat_of_id = by_id[k]->id == by_id[k - 1]->id && (k < 2 || by_id[k - 2]->id != by_id[k]->id);
    if (first_repeat_of_id && (!repeat || by_id[k]->line < repeat->line)) {
      repeat = by_id[k];
      original = by_id[k - 1];
    }
  }
  if (repeat)
    throw Error(code::kTokenizer, "vocab file " + path + ", line " + std::to_string(repeat->line) +
                                      ": expected a new token id, got id " + std::to_string(repeat->id) +
                                      " already used on line " + std::to_string(original->line));
  return entries;
}

std::vector<VocabEntry> read_world_vocab(const std::string& path) { return parse_world_vocab(read_all(path), path); }

}  // namespace rwkv::tok
