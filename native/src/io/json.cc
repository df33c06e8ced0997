#include "io/json.h"

#include <cstdlib>
#include <unordered_set>

#include "io/io_error.h"

namespace rwkv::io {

const JsonValue* JsonValue::get(std::string_view key) const {
  for (const auto& [k, v] : object) {
    if (k == key) return &v;
  }
  return nullptr;
}

const char* kind_name(JsonValue::Kind k) {
  switch (k) {
    case JsonValue::Kind::Null: return "null";
    case JsonValue::Kind::Bool: return "boolean";
    case JsonValue::Kind::Number: return "number";
    case JsonValue::Kind::String: return "string";
    case JsonValue::Kind::Array: return "array";
    case JsonValue::Kind::Object: return "object";
  }
  return "?";
}

namespace {

constexpr int kMaxDepth = 64;
// Upper bounds: an element of a vector that doubles (while it grows, the old array and the new one exist
// together: three times the contents); an object member (key and value, likewise) with its key's node in the
// duplicate check.
constexpr uint64_t kElementCost = 3 * sizeof(JsonValue);
constexpr uint64_t kMemberCost = 3 * sizeof(std::pair<std::string, JsonValue>) + sizeof(std::string) + 48;

class JsonParser {
 public:
  JsonParser(std::string_view text, const std::string& where, ReadBudget& budget)
      : s_(text), where_(where), budget_(budget) {}

  JsonValue document() {
    ws();
    JsonValue v = value(0);
    ws();
    if (p_ != s_.size()) bad("expected the end of the JSON text", "more text");
    return v;
  }

 private:
  [[noreturn]] void bad(const std::string& expected, const std::string& found) const {
    throw Error(code::kModelFormat, where_ + ": invalid JSON at byte " + std::to_string(p_) + ": expected " + expected +
                                        ", found " + found);
  }
  std::string here() const {
    if (p_ >= s_.size()) return "the end of the text";
    return quoted(std::string(1, s_[p_]));
  }
  void ws() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r')) p_++;
  }
  bool eat(char c) {
    if (p_ < s_.size() && s_[p_] == c) {
      p_++;
      return true;
    }
    return false;
  }
  void literal(std::string_view word) {
    if (s_.substr(p_, word.size()) != word) bad("a JSON value", here());
    p_ += word.size();
  }

  JsonValue value(int depth) {
    if (depth > kMaxDepth) bad("at most 64 levels of nesting", "deeper nesting");
    JsonValue v;
    if (p_ >= s_.size()) bad("a JSON value", "the end of the text");
    char c = s_[p_];
    if (c == '{') {
      v.kind = JsonValue::Kind::Object;
      p_++;
      ws();
      if (eat('}')) return v;
      std::unordered_set<std::string> seen;
      while (true) {
        ws();
        if (p_ >= s_.size() || s_[p_] != '"') bad("a string key", here());
        std::string key = string();
        charge(kMemberCost + 2 * key.size());  // the member's key and the duplicate check's copy
        if (!seen.insert(key).second) bad("unique object keys", "the key " + quoted(key) + " twice");
        ws();
        if (!eat(':')) bad("':'", here());
        ws();
        v.object.emplace_back(std::move(key), value(depth + 1));
        ws();
        if (eat('}')) return v;
        if (!eat(',')) bad("',' or '}'", here());
      }
    }
    if (c == '[') {
      v.kind = JsonValue::Kind::Array;
      p_++;
      ws();
      if (eat(']')) return v;
      while (true) {
        ws();
        charge(kElementCost);
        v.array.push_back(value(depth + 1));
        ws();
        if (eat(']')) return v;
        if (!eat(',')) bad("',' or ']'", here());
      }
    }
    if (c == '"') {
      v.kind = JsonValue::Kind::String;
      v.str = string();
      return v;
    }
    if (c == 't') {
      literal("true");
      v.kind = JsonValue::Kind::Bool;
      v.b = true;
      return v;
    }
    if (c == 'f') {
      literal("false");
      v.kind = JsonValue::Kind::Bool;
      return v;
    }
    if (c == 'n') {
      literal("null");
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    bad("a JSON value", here());
  }

  JsonValue number() {
    size_t start = p_;
    eat('-');
    if (p_ >= s_.size() || s_[p_] < '0' || s_[p_] > '9') bad("a digit", here());
    if (s_[p_] == '0') {
      p_++;
    } else {
      while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') p_++;
    }
    bool integral = true;
    if (eat('.')) {
      integral = false;
      if (p_ >= s_.size() || s_[p_] < '0' || s_[p_] > '9') bad("a digit after '.'", here());
      while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') p_++;
    }
    if (p_ < s_.size() && (s_[p_] == 'e' || s_[p_] == 'E')) {
      integral = false;
      p_++;
      if (!eat('+')) eat('-');
      if (p_ >= s_.size() || s_[p_] < '0' || s_[p_] > '9') bad("a digit in the exponent", here());
      while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') p_++;
    }
    JsonValue v;
    v.kind = JsonValue::Kind::Number;
    std::string text(s_.substr(start, p_ - start));
    v.num = std::strtod(text.c_str(), nullptr);
    if (integral && text[0] != '-') {
      uint64_t u = 0;
      bool fits = true;
      for (char d : text) {
        if (__builtin_mul_overflow(u, 10, &u) || __builtin_add_overflow(u, static_cast<uint64_t>(d - '0'), &u)) {
          fits = false;
          break;
        }
      }
      v.is_uint = fits;
      v.u = fits ? u : 0;
    }
    return v;
  }

  unsigned hex4() {
    if (s_.size() - p_ < 4) bad("four hex digits", "the end of the text");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
      char c = s_[p_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<unsigned>(c - 'A' + 10);
      else
        bad("a hex digit", quoted(std::string(1, c)));
    }
    return v;
  }

  static void utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  std::string string() {
    p_++;  // opening quote
    std::string out;
    while (true) {
      if (p_ >= s_.size()) bad("a closing '\"'", "the end of the text");
      auto c = static_cast<unsigned char>(s_[p_]);
      if (c == '"') {
        p_++;
        charge(out.size());
        return out;
      }
      if (c < 0x20) bad("no raw control characters in a string", "byte " + std::to_string(c));
      if (c != '\\') {
        out += static_cast<char>(c);
        p_++;
        continue;
      }
      p_++;
      if (p_ >= s_.size()) bad("an escape", "the end of the text");
      char e = s_[p_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xd800 && cp < 0xdc00) {
            if (s_.size() - p_ < 2 || s_[p_] != '\\' || s_[p_ + 1] != 'u') bad("a low surrogate", here());
            p_ += 2;
            unsigned lo = hex4();
            if (lo < 0xdc00 || lo >= 0xe000) bad("a low surrogate", "another code unit");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          } else if (cp >= 0xdc00 && cp < 0xe000) {
            bad("a high surrogate first", "a lone low surrogate");
          }
          utf8(out, cp);
          break;
        }
        default: bad("a valid escape", quoted(std::string("\\") + e));
      }
    }
  }

  void charge(uint64_t bytes) { budget_.charge(bytes, "the JSON header"); }

  std::string_view s_;
  const std::string& where_;
  ReadBudget& budget_;
  size_t p_ = 0;
};

}  // namespace

JsonValue parse_json(std::string_view text, const std::string& where) {
  ReadBudget budget(where, text.size());
  return parse_json(text, where, budget);
}

JsonValue parse_json(std::string_view text, const std::string& where, ReadBudget& budget) {
  budget.charge(sizeof(JsonValue), "the JSON header");
  return JsonParser(text, where, budget).document();
}

}  // namespace rwkv::io
