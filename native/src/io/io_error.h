// Failures while reading a model file. Every message starts with the file's path and says what the reader
// expected and what it found, so a user can tell a cut-short download from a file of the wrong kind.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "rwkv/error.h"

namespace rwkv::io {

[[noreturn]] void fail(const char* code, const std::string& path, const std::string& message);

// "6c fc 9c 46" for the first `n` bytes at `p` (at most 16), for messages about unexpected bytes.
std::string hex_bytes(const uint8_t* p, size_t n);

// A name made printable for a message: quoted, control and non-ASCII bytes escaped, long names shortened.
std::string quoted(const std::string& s);

}  // namespace rwkv::io
