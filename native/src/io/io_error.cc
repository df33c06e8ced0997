#include "io/io_error.h"

#include <cstdio>

namespace rwkv::io {

void fail(const char* code, const std::string& path, const std::string& message) {
  throw Error(code, path + ": " + message);
}

std::string hex_bytes(const uint8_t* p, size_t n) {
  if (n > 16) n = 16;
  std::string out;
  char buf[4];
  for (size_t i = 0; i < n; i++) {
    std::snprintf(buf, sizeof buf, "%02x", p[i]);
    if (i) out += ' ';
    out += buf;
  }
  return out;
}

std::string quoted(const std::string& s) {
  constexpr size_t kMax = 120;
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < kMax; i++) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > kMax) out += "...";
  return out + "'";
}

}  // namespace rwkv::io
