#include "tokenizer/python_literal.h"

#include <cstdint>

namespace rwkv::tok {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads exactly `count` hex digits starting at body[pos]; -1 when they are not all there.
int64_t read_hex(std::string_view body, size_t pos, size_t count) {
  if (body.size() - pos < count) return -1;
  int64_t v = 0;
  for (size_t k = 0; k < count; k++) {
    int d = hex_digit(body[pos + k]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF): a str literal copied from a file
// Python could read is always valid, so anything else means the file is damaged.
bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
      min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
      min = 0x10000;
    } else
      return false;
    if (n - i < len) return false;
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace

bool decode_python_literal(std::string_view literal, std::string& out, std::string& expected) {
  out.clear();
  size_t start = 0;
  const bool is_bytes = !literal.empty() && (literal[0] == 'b' || literal[0] == 'B');
  if (is_bytes) start = 1;
  if (literal.size() < start + 2 || (literal[start] != '\'' && literal[start] != '"') ||
      literal.back() != literal[start]) {
    expected = "a quoted Python str or bytes literal ('…', \"…\", b'…' or b\"…\")";
    return false;
  }
  const char quote = literal[start];
  const std::string_view body = literal.substr(start + 1, literal.size() - start - 2);

  // A code point in a str becomes its UTF-8 bytes; in bytes the same escape is one raw byte.
  auto emit = [&](uint32_t v) {
    if (is_bytes)
      out.push_back(static_cast<char>(v));
    else
      append_utf8(out, v);
  };

  for (size_t i = 0; i < body.size();) {
    const char c = body[i];
    if (c == quote) {
      expected = std::string("no unescaped ") + quote + " inside the literal";
      return false;
    }
    if (c != '\\') {
      if (is_bytes && static_cast<unsigned char>(c) >= 0x80) {
        expected = "only ASCII characters inside a bytes literal";
        return false;
      }
      out.push_back(c);
      i++;
      continue;
    }
    if (i + 1 == body.size()) {
      expected = "a closing quote that is not escaped by a backslash";
      return false;
    }
    const char e = body[i + 1];
    i += 2;
    switch (e) {
      case '\\': out.push_back('\\'); break;
      case '\'': out.push_back('\''); break;
      case '"': out.push_back('"'); break;
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'v': out.push_back('\v'); break;
      case 'x': {
        int64_t v = read_hex(body, i, 2);
        if (v < 0) {
          expected = "two hex digits after \\x";
          return false;
        }
        emit(static_cast<uint32_t>(v));
        i += 2;
        break;
      }
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7': {
        uint32_t v = static_cast<uint32_t>(e - '0');
        for (int k = 0; k < 2 && i < body.size() && body[i] >= '0' && body[i] <= '7'; k++, i++)
          v = v * 8 + static_cast<uint32_t>(body[i] - '0');
        if (is_bytes && v > 0xFF) {
          expected = "an octal escape of at most \\377 in a bytes literal";
          return false;
        }
        emit(v);
        break;
      }
      case 'u':
      case 'U': {
        if (is_bytes) {  // not an escape in bytes: Python keeps the backslash
          out.push_back('\\');
          out.push_back(e);
          break;
        }
        const size_t digits = e == 'u' ? 4 : 8;
        int64_t v = read_hex(body, i, digits);
        if (v < 0) {
          expected = std::string("exactly ") + std::to_string(digits) + " hex digits after \\" + e;
          return false;
        }
        if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
          expected = "a Unicode scalar value (not a surrogate, at most U+10FFFF)";
          return false;
        }
        append_utf8(out, static_cast<uint32_t>(v));
        i += digits;
        break;
      }
      case 'N':
        if (!is_bytes) {
          expected = "no \\N{…} named escape (character names are not supported)";
          return false;
        }
        out.push_back('\\');
        out.push_back('N');
        break;
      default:
        // Python keeps an unrecognised escape as written, backslash included.
        if (is_bytes && static_cast<unsigned char>(e) >= 0x80) {
          expected = "only ASCII characters inside a bytes literal";
          return false;
        }
        out.push_back('\\');
        out.push_back(e);
        break;
    }
  }
  if (!is_bytes && !valid_utf8(out)) {
    expected = "valid UTF-8 text inside a str literal";
    return false;
  }
  return true;
}

}  // namespace rwkv::tok
