// Reading World vocab files: Python literal decoding, formatting that must not change the vocabulary, and
// refusal of damaged files with the line that is wrong.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "check.h"
#include "rwkv/error.h"
#include "rwkv/tokenizer.h"
#include "tokenizer/python_literal.h"

namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("rwkv_test_tokenizer_vocab_" + std::to_string(getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string write_file(const std::string& name, const std::string& content) {
  static TempDir dir;
  const fs::path p = dir.path / name;
  std::ofstream(p, std::ios::binary) << content;
  return p.string();
}

std::string hex_byte(unsigned b) {
  const char* digits = "0123456789abcdef";
  return std::string("\\x") + digits[b >> 4] + digits[b & 15];
}

// Ids 1..256 are the single bytes 0x00..0xFF, as in the real vocabulary; `skip` leaves one byte out.
std::string single_byte_lines(int skip = -1) {
  std::string s;
  for (unsigned b = 0; b < 256; b++)
    if (static_cast<int>(b) != skip) s += std::to_string(b + 1) + " b'" + hex_byte(b) + "' 1\n";
  return s;
}

std::string decode_one(const rwkv::Tokenizer& t, int32_t id) { return t.decode(&id, 1); }

// Expects loading `content` to fail with `code` and a message containing `needle`.
void expect_refused(const std::string& content, const char* code, const std::string& needle) {
  const std::string path = write_file("refused.txt", content);
  bool thrown = false;
  try {
    rwkv::load_world_tokenizer(path);
  } catch (const rwkv::Error& e) {
    thrown = true;
    CHECK_MSG(e.code() == code, "got %s (%s), wanted %s", e.code().c_str(), e.what(), code);
    CHECK_MSG(std::string(e.what()).find(needle) != std::string::npos, "message \"%s\" lacks \"%s\"", e.what(),
              needle.c_str());
  }
  CHECK_MSG(thrown, "a vocab expecting \"%s\" was accepted", needle.c_str());
}

bool literal(const std::string& text, std::string& out) {
  std::string expected;
  return rwkv::tok::decode_python_literal(text, out, expected);
}

std::string literal_or_fail(const std::string& text) {
  std::string out;
  CHECK_MSG(literal(text, out), "literal %s refused", text.c_str());
  return out;
}

TEST(literal_escapes) {
  CHECK(literal_or_fail("'ab'") == "ab");
  CHECK(literal_or_fail("\"it's\"") == "it's");
  CHECK(literal_or_fail("'\\x80'") == "\xC2\x80");  // str: code point U+0080
  CHECK(literal_or_fail("b'\\x80'") == "\x80");     // bytes: the byte itself
  CHECK(literal_or_fail("B\"\\xff\"") == "\xFF");
  CHECK(literal_or_fail("'\\u00e9t\\xe9'") == "\xC3\xA9t\xC3\xA9");
  CHECK(literal_or_fail("'\\U0001F600'") == "\xF0\x9F\x98\x80");
  CHECK(literal_or_fail("'\xF0\x9F\x98\x80!'") == "\xF0\x9F\x98\x80!");
  CHECK(literal_or_fail("'a b'") == "a b");
  CHECK(literal_or_fail("'\\n\\t\\r\\\\\\'\\\"'") == "\n\t\r\\'\"");
  CHECK(literal_or_fail("b'\\a\\b\\f\\v\\0'") == std::string("\a\b\f\v\0", 5));
  CHECK(literal_or_fail("b'\\101\\7\\0012'") == std::string("A\a\001"
                                                            "2",
                                                            4));
  CHECK(literal_or_fail("'\\777'") == "\xC7\xBF");    // U+01FF
  CHECK(literal_or_fail("'\\q'") == "\\q");           // Python keeps an unknown escape as written
  CHECK(literal_or_fail("b'\\u00e9'") == "\\u00e9");  // \u is no escape in bytes
  CHECK(literal_or_fail("'\\x00'") == std::string(1, '\0'));
}

TEST(literal_refusals) {
  std::string out;
  for (const char* bad :
       {"ab",      "'ab",           "ab'",     "'",          "b'",          "'ab\"",     "'a'b'",
        "'ab\\'",  "r'ab'",         "'\\xZZ'", "'\\x4'",     "b'\xC3\xA9'", "'\\ud800'", "'\\U00110000'",
        "'\\u12'", "'\\N{BULLET}'", "'\xFF'",  "'\xC0\x80'", "b'\\777'",    "'\xE4\xBD'"}) {
    CHECK_MSG(!literal(bad, out), "literal %s accepted", bad);
  }
}

TEST(small_vocab_with_escapes_and_gaps) {
  const std::string path = write_file("small.txt", single_byte_lines() +
                                                       "300 'ab' 2\n"
                                                       "301 \"say \\\"hi\\\"\" 8\n"
                                                       "302 '\\u00e9t\\xe9' 5\n"
                                                       "303 b'\\a\\b\\f\\v\\0' 5\n"
                                                       "304 'a b c' 5\n"
                                                       "400 '\\U0001F600' 4\n");
  auto t = rwkv::load_world_tokenizer(path);
  CHECK(t->vocab_size() == 401);
  CHECK(t->kind() == "world");
  CHECK(decode_one(*t, 301) == "say \"hi\"");
  CHECK(decode_one(*t, 302) == "\xC3\xA9t\xC3\xA9");
  CHECK(decode_one(*t, 303) == std::string("\a\b\f\v\0", 5));
  CHECK(t->encode("xab a b c\xF0\x9F\x98\x80") == (std::vector<int32_t>{121, 300, 33, 304, 400}));
  CHECK_THROWS_CODE(decode_one(*t, 350), rwkv::code::kToken);  // a gap in the ids
  CHECK_THROWS_CODE(decode_one(*t, 401), rwkv::code::kToken);
  CHECK(decode_one(*t, 0).empty());
}

TEST(formatting_does_not_change_the_vocabulary) {
  const std::string real = check::shared_path("data/rwkv_vocab_v20230424.txt");
  auto original = rwkv::load_world_tokenizer(real);

  // Every token as a bytes literal of \x escapes, Windows line endings and a byte order mark.
  std::string as_bytes = "\xEF\xBB\xBF";
  // Tokens in reverse id order, each a double-quoted str with \u escapes where it is valid UTF-8.
  std::string reversed;
  const int32_t n = original->vocab_size();
  for (int32_t id = 1; id < n; id++) {
    const std::string tok = decode_one(*original, id);
    std::string lit = "b'";
    for (unsigned char c : tok) lit += hex_byte(c);
    as_bytes += std::to_string(id) + " " + lit + "' " + std::to_string(tok.size()) + "\r\n";
  }
  for (int32_t id = n - 1; id >= 1; id--) {
    const std::string tok = decode_one(*original, id);
    std::string lit;
    bool text = true;
    for (size_t i = 0; i < tok.size() && text;) {
      const auto c = static_cast<unsigned char>(tok[i]);
      size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
      if (len == 0 || i + len > tok.size()) {
        text = false;
        break;
      }
      uint32_t cp = len == 1 ? c : c & (0x7F >> len);
      for (size_t k = 1; k < len; k++) {
        if ((static_cast<unsigned char>(tok[i + k]) & 0xC0) != 0x80) text = false;
        cp = (cp << 6) | (static_cast<unsigned char>(tok[i + k]) & 0x3F);
      }
      if (!text) break;
      char esc[16];
      if (cp == '"' || cp == '\\') {
        lit += '\\';
        lit += static_cast<char>(cp);
      } else if (cp >= 0x20 && cp < 0x7F)
        lit += static_cast<char>(cp);
      else if (cp < 0x10000) {
        std::snprintf(esc, sizeof esc, "\\u%04x", cp);
        lit += esc;
      } else {
        std::snprintf(esc, sizeof esc, "\\U%08x", cp);
        lit += esc;
      }
      i += len;
    }
    if (!text) {
      lit = "b\"";
      for (unsigned char c : tok) lit += hex_byte(c);
    } else {
      lit = "\"" + lit;
    }
    reversed += std::to_string(id) + " " + lit + "\" " + std::to_string(tok.size()) + "\n";
  }

  const std::string sample = "Today is a beautiful day. 今天是美好的一天。\n\n\x80\xC2\x80 \xF0\x9F\x98\x80";
  for (const std::string& content : {as_bytes, reversed}) {
    auto t = rwkv::load_world_tokenizer(write_file("reformatted.txt", content));
    CHECK(t->fingerprint() == original->fingerprint());
    CHECK(t->vocab_size() == original->vocab_size());
    CHECK(t->encode(sample) == original->encode(sample));
  }

  auto smaller = rwkv::load_world_tokenizer(write_file("base.txt", single_byte_lines()));
  auto larger = rwkv::load_world_tokenizer(write_file("larger.txt", single_byte_lines() + "257 'ab' 2\n"));
  CHECK(smaller->fingerprint() != larger->fingerprint());
  CHECK(smaller->fingerprint() != original->fingerprint());
}

TEST(refuses_damaged_files) {
  const std::string base = single_byte_lines();
  const char* tk = rwkv::code::kTokenizer;
  expect_refused(base + "257 'ab' 3\n", tk, "line 257");
  expect_refused(base + "257 'ab' 3\n", tk, "byte length 3");
  expect_refused(base + "257 'ab' 2\n257 'cd' 2\n", tk, "line 258");
  expect_refused(base + "257 'ab' 2\n257 'cd' 2\n", tk, "id 257 already used on line 257");
  expect_refused("5 b'\\x04' 1\n" + base, tk, "line 6");  // the repeat, not the first use
  expect_refused(base + "257 'ab 2\n", tk, "line 257");
  expect_refused(base + "257 ab 2\n", tk, "quoted Python str or bytes literal");
  expect_refused(base + "257 'a\\xZZ' 2\n", tk, "hex digits");
  expect_refused(base + "257 b'\xC3\xA9' 2\n", tk, "ASCII");
  expect_refused(base + "257 '\\ud800' 3\n", tk, "surrogate");
  expect_refused(base + "257 '\xFF' 1\n", tk, "UTF-8");
  expect_refused(base + "257 'a'b' 3\n", tk, "line 257");
  expect_refused(base + "257\n", tk, "<id> <python literal> <byte length>");
  expect_refused(base + "257 'ab'\n", tk, "<id> <python literal> <byte length>");
  expect_refused(base + "x 'ab' 2\n", tk, "token id between 1 and");
  expect_refused(base + "0 'ab' 2\n", tk, "token id between 1 and");
  expect_refused(base + "-1 'ab' 2\n", tk, "token id between 1 and");
  expect_refused(base + "99999999999 'ab' 2\n", tk, "token id between 1 and");
  expect_refused(base + "257 'ab' two\n", tk, "decimal byte length");
  expect_refused(base + "257 'ab' 2 \n", tk, "line 257");
  expect_refused(base + "257 '' 0\n", tk, "non-empty token");
  expect_refused(base + "257 b'\\x00' 1\n", tk, "line 257");
  expect_refused(base + "257 'ab' 2\n258 b'ab' 2\n", tk, "bytes of id 257 (line 257) again as id 258");
  expect_refused(single_byte_lines(0x41), tk, "0x41");
  expect_refused("", tk, "at least one token");
  // Blank lines and CRLF endings are formatting, but they still count in line numbers.
  expect_refused("1 b'\\x00' 1\r\n\r\n3 'ab' 9\r\n", tk, "line 3");
}

TEST(refuses_unreadable_files) {
  CHECK_THROWS_CODE(rwkv::load_world_tokenizer("/nonexistent/rwkv_vocab.txt"), rwkv::code::kIo);
  const std::string dir = fs::path(write_file("probe.txt", "")).parent_path().string();
  CHECK_THROWS_CODE(rwkv::load_world_tokenizer(dir), rwkv::code::kIo);
  try {
    rwkv::load_world_tokenizer("/nonexistent/rwkv_vocab.txt");
  } catch (const rwkv::Error& e) {
    CHECK(std::string(e.what()).find("/nonexistent/rwkv_vocab.txt") != std::string::npos);
  }
}

}  // namespace

TEST_MAIN()
