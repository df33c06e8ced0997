// The World tokenizer against the shared reference vocab: fixture ids, published expectations, exact byte
// round trips, agreement with a naive longest-prefix search, and a throughput measurement.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "check.h"
#include "rwkv/error.h"
#include "rwkv/tokenizer.h"
#include "tokenizer/world_tokenizer.h"

namespace {

const std::string kVocab = check::shared_path("data/rwkv_vocab_v20230424.txt");

const rwkv::Tokenizer& world() {
  static const std::unique_ptr<rwkv::Tokenizer> t = rwkv::load_world_tokenizer(kVocab);
  return *t;
}

// Just enough JSON for tokenizer_cases.json: objects, arrays, strings, integers, null.
struct Json {
  enum Kind { Null, Number, String, Array, Object } kind = Null;
  int64_t number = 0;
  std::string string;
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> fields;

  const Json& operator[](const std::string& key) const {
    for (const auto& [k, v] : fields)
      if (k == key) return v;
    static const Json null;
    return null;
  }
};

class JsonReader {
 public:
  explicit JsonReader(std::string text) : s_(std::move(text)) {}
  Json parse() {
    Json v = value();
    ws();
    if (pos_ != s_.size()) fail("trailing text");
    return v;
  }

 private:
  [[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string("tokenizer_cases.json: ") + what + " at offset " + std::to_string(pos_));
  }
  void ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) pos_++;
  }
  bool eat(char c) {
    ws();
    if (pos_ < s_.size() && s_[pos_] == c) {
      pos_++;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail("unexpected character");
  }
  Json value() {
    ws();
    Json v;
    if (pos_ >= s_.size()) fail("unexpected end");
    char c = s_[pos_];
    if (c == '{') {
      pos_++;
      v.kind = Json::Object;
      if (eat('}')) return v;
      do {
        ws();
        std::string key = str();
        expect(':');
        v.fields.emplace_back(std::move(key), value());
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      pos_++;
      v.kind = Json::Array;
      if (eat(']')) return v;
      do v.items.push_back(value());
      while (eat(','));
      expect(']');
    } else if (c == '"') {
      v.kind = Json::String;
      v.string = str();
    } else if (s_.compare(pos_, 4, "null") == 0) {
      pos_ += 4;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = Json::Number;
      size_t used = 0;
      v.number = std::stoll(s_.substr(pos_, 24), &used);
      pos_ += used;
    } else {
      fail("unsupported value");
    }
    return v;
  }
  uint32_t hex4() {
    if (pos_ + 4 > s_.size()) fail("short \\u escape");
    uint32_t v = static_cast<uint32_t>(std::stoul(s_.substr(pos_, 4), nullptr, 16));
    pos_ += 4;
    return v;
  }
  std::string str() {
    if (s_[pos_] != '"') fail("expected a string");
    pos_++;
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) fail("unterminated string");
      char c = s_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      char e = s_[pos_++];
      switch (e) {
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && s_.compare(pos_, 2, "\\u") == 0) {
            pos_ += 2;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4() - 0xDC00);
          }
          utf8(out, cp);
          break;
        }
        default: out.push_back(e); break;
      }
    }
  }
  static void utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
      return;
    }
    if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    } else {
      if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      }
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    }
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }

  std::string s_;
  size_t pos_ = 0;
};

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t k = 0; k + 1 < hex.size(); k += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(k, 2), nullptr, 16)));
  return out;
}

std::vector<int32_t> ids_of(const Json& array) {
  std::vector<int32_t> ids;
  for (const auto& v : array.items) ids.push_back(static_cast<int32_t>(v.number));
  return ids;
}

std::string decode(const std::vector<int32_t>& ids) { return world().decode(ids.data(), ids.size()); }

// Longest-prefix search by trying every length against a hash map: slow, but obviously right.
class NaiveEncoder {
 public:
  NaiveEncoder() {
    tokens_.reserve(static_cast<size_t>(world().vocab_size()));  // keeps the views below valid
    for (int32_t id = 1; id < world().vocab_size(); id++) {
      tokens_.push_back(decode({id}));
      max_len_ = std::max(max_len_, tokens_.back().size());
      ids_.emplace(tokens_.back(), id);
    }
  }
  std::vector<int32_t> encode(std::string_view s) const {
    std::vector<int32_t> out;
    for (size_t i = 0; i < s.size();) {
      for (size_t len = std::min(max_len_, s.size() - i); len > 0; len--) {
        auto it = ids_.find(s.substr(i, len));
        if (it != ids_.end()) {
          out.push_back(it->second);
          i += len;
          break;
        }
      }
    }
    return out;
  }

 private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string_view, int32_t> ids_;
  size_t max_len_ = 0;
};

// Deterministic mixed-language text: English, Chinese, Japanese, Russian, Arabic, code, numbers, emoji.
std::string synthetic_text(size_t bytes, uint64_t seed) {
  static const char* const pieces[] = {"the ",
                                       "quick ",
                                       "brown ",
                                       "fox ",
                                       "jumps ",
                                       "over ",
                                       "lazy ",
                                       "dog",
                                       ". ",
                                       ", ",
                                       "and ",
                                       "of ",
                                       "information ",
                                       "transformer ",
                                       "recurrent ",
                                       "network ",
                                       "RWKV ",
                                       "language ",
                                       "model ",
                                       "is ",
                                       "今天",
                                       "天气",
                                       "很好",
                                       "我们",
                                       "一起",
                                       "去",
                                       "公园",
                                       "散步",
                                       "。",
                                       "，",
                                       "人工智能",
                                       "语言模型",
                                       "東京",
                                       "の",
                                       "天気",
                                       "は",
                                       "晴れ",
                                       "です",
                                       "。",
                                       "ロケット",
                                       "スペース",
                                       "Привет ",
                                       "мир ",
                                       "как ",
                                       "дела ",
                                       "сегодня ",
                                       "погода ",
                                       "хорошая ",
                                       "مرحبا ",
                                       "بالعالم ",
                                       "😀",
                                       "👍🏽",
                                       " ñ",
                                       " é",
                                       " ß",
                                       "\n",
                                       "\n\n",
                                       "    ",
                                       "\t",
                                       "def f(x):\n    return x ** 2\n",
                                       "if (a && b) { c(); }\n",
                                       "0",
                                       "1",
                                       "42",
                                       "3.14159",
                                       "2024-01-01",
                                       " 1000000",
                                       "#",
                                       "<|endoftext|>",
                                       "User: ",
                                       "Assistant:"};
  constexpr size_t kPieces = sizeof(pieces) / sizeof(pieces[0]);
  std::mt19937_64 rng(seed);
  std::string text;
  text.reserve(bytes + 64);
  while (text.size() < bytes) text += pieces[rng() % kPieces];
  text.resize(bytes);
  return text;
}

TEST(fixture_cases_match_reference_ids) {
  const std::vector<char> file = check::read_file(check::shared_path("fixtures/tokenizer/tokenizer_cases.json"));
  JsonReader reader(std::string(file.begin(), file.end()));
  const Json root = reader.parse();
  const Json& cases = root["cases"];
  CHECK(cases.kind == Json::Array);
  CHECK(cases.items.size() >= 40);
  for (size_t k = 0; k < cases.items.size(); k++) {
    const Json& c = cases.items[k];
    const std::string bytes = from_hex(c["utf8_hex"].string);
    if (c["text"].kind == Json::String) CHECK_MSG(c["text"].string == bytes, "case %zu: text and utf8_hex differ", k);
    const std::vector<int32_t> want = ids_of(c["ids"]);
    const std::vector<int32_t> got = world().encode(bytes);
    CHECK_MSG(got == want, "case %zu (%s): %zu ids, wanted %zu", k, c["note"].string.c_str(), got.size(), want.size());
    CHECK_MSG(decode(got) == bytes, "case %zu does not round-trip", k);
  }
}

TEST(published_expectations) {
  CHECK(world().encode("Today is a beautiful day. 今天是美好的一天。") ==
        (std::vector<int32_t>{33520, 4600, 332, 59219, 21509, 47, 33, 10381, 11639, 13091, 15597, 11685, 14734, 10250,
                              11639, 10080}));
  CHECK(world().encode("I'll 'd test блабла 以下は、]) -> <|endoftext|><|padding|> int") ==
        (std::vector<int32_t>{74,   5229, 274, 101, 32223, 5092, 27980, 2795, 27980, 33,  10399, 10258, 10139, 10079,
                              1682, 3463, 295, 125, 25258, 7588, 2318,  125,  790,   125, 49520, 125,   63,    21888}));
}

TEST(str_literal_x80_is_a_code_point_not_a_byte) {
  // '\x80' in a str literal is U+0080 (two UTF-8 bytes); b'\x80' would be the byte itself (id 0x80 + 1).
  CHECK(decode({2423}) == "\xC2\x80");
  CHECK(decode({2424}) == "\xC2\x81");
  CHECK(decode({2429}) == "\xC2\x97");
  CHECK(world().encode("\xC2\x80") == std::vector<int32_t>{2423});
  CHECK(world().encode("\x80") == std::vector<int32_t>{129});
  CHECK(decode({129}) == "\x80");
  CHECK(decode({2419}) == "\xA3\xBC");  // b'\xa3\xbc': raw bytes
}

TEST(single_bytes_and_landmarks) {
  for (int b = 0; b < 256; b++) {
    const std::string s(1, static_cast<char>(b));
    CHECK_MSG(world().encode(s) == std::vector<int32_t>{b + 1}, "byte %d", b);
  }
  CHECK(world().encode("\n\n") == std::vector<int32_t>{261});
  CHECK(decode({65529}) == std::string(128, ' '));
  CHECK(world().encode(std::string(128, ' ')) == std::vector<int32_t>{65529});
  CHECK(world().encode("") == std::vector<int32_t>{});
}

TEST(properties) {
  CHECK(world().vocab_size() == 65530);
  CHECK(world().kind() == "world");
  const std::string& fp = world().fingerprint();
  CHECK(fp.size() == 16);
  CHECK(fp.find_first_not_of("0123456789abcdef") == std::string::npos);
}

TEST(decode_of_end_of_text_and_unknown_ids) {
  CHECK(decode({0}) == "");
  CHECK(decode({0, 33520, 0}) == "Today");
  CHECK_THROWS_CODE(decode({65530}), rwkv::code::kToken);
  CHECK_THROWS_CODE(decode({33520, -1}), rwkv::code::kToken);
  CHECK_THROWS_CODE(decode({1 << 30}), rwkv::code::kToken);
  try {
    decode({70000});
  } catch (const rwkv::Error& e) {
    CHECK(std::string(e.what()).find("70000") != std::string::npos);
  }
}

TEST(fingerprint_is_stable_across_loads) {
  auto a = rwkv::load_world_tokenizer(kVocab);
  auto b = rwkv::load_world_tokenizer(kVocab);
  CHECK(a->fingerprint() == b->fingerprint());
  CHECK(a->fingerprint() == world().fingerprint());
  CHECK(a->fingerprint() != rwkv::make_byte_tokenizer()->fingerprint());
}

TEST(matches_naive_longest_prefix_and_round_trips) {
  const NaiveEncoder naive;
  std::mt19937_64 rng(20230424);
  std::vector<std::string> inputs;
  // Uniform random bytes: mostly invalid UTF-8.
  for (int n = 0; n < 200; n++) {
    std::string s(rng() % 300, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    inputs.push_back(std::move(s));
  }
  // Concatenated vocab tokens, some cut short or followed by a stray byte: stresses long partial matches.
  for (int n = 0; n < 200; n++) {
    std::string s;
    for (int t = static_cast<int>(rng() % 40); t > 0; t--) {
      std::string tok = decode({static_cast<int32_t>(1 + rng() % 65529)});
      if (rng() % 4 == 0) tok.resize(rng() % (tok.size() + 1));
      if (rng() % 8 == 0) tok.push_back(static_cast<char>(rng()));
      s += tok;
    }
    inputs.push_back(std::move(s));
  }
  // Mixed-language text with random bytes flipped into it.
  for (int n = 0; n < 50; n++) {
    std::string s = synthetic_text(2000, rng());
    for (int f = 0; f < 20; f++) s[rng() % s.size()] = static_cast<char>(rng());
    inputs.push_back(std::move(s));
  }
  inputs.push_back(std::string(1000, ' '));
  inputs.push_back(std::string(300, '\0'));
  inputs.push_back(std::string(300, '\xFF'));
  for (size_t k = 0; k < inputs.size(); k++) {
    const std::vector<int32_t> ids = world().encode(inputs[k]);
    CHECK_MSG(ids == naive.encode(inputs[k]), "input %zu differs from the naive encoder", k);
    CHECK_MSG(decode(ids) == inputs[k], "input %zu does not round-trip", k);
    for (int32_t id : ids) CHECK(id >= 1 && id < 65530);
  }
}

TEST(throughput_on_4mb_mixed_text) {
  const std::string text = synthetic_text(4 << 20, 7);
  auto t0 = std::chrono::steady_clock::now();
  auto loaded = rwkv::load_world_tokenizer(kVocab);
  auto t1 = std::chrono::steady_clock::now();
  std::vector<int32_t> ids;
  double best = 1e9;
  for (int rep = 0; rep < 5; rep++) {
    auto a = std::chrono::steady_clock::now();
    ids = loaded->encode(text);
    auto b = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(b - a).count());
  }
  auto c0 = std::chrono::steady_clock::now();
  const std::string back = loaded->decode(ids.data(), ids.size());
  auto c1 = std::chrono::steady_clock::now();
  CHECK(back == text);
  const auto* concrete = dynamic_cast<const rwkv::tok::WorldTokenizer*>(loaded.get());
  CHECK(concrete != nullptr);
  const double mb = text.size() / 1e6;
  std::printf(
      "  load %.1f ms; memory %.2f MB; encode %.2f MB in %.1f ms = %.0f MB/s (%.2f bytes/token); decode %.0f MB/s\n",
      std::chrono::duration<double, std::milli>(t1 - t0).count(), concrete ? concrete->memory_bytes() / 1e6 : 0.0, mb,
      best * 1e3, mb / best, static_cast<double>(text.size()) / ids.size(),
      mb / std::chrono::duration<double>(c1 - c0).count());
}

}  // namespace

TEST_MAIN()
