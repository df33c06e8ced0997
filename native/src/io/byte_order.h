// Little-endian field access for the container parsers. Every container we read is little-endian and the
// engine only targets little-endian hosts, so a field is a memcpy; memcpy also makes unaligned fields legal.
#pragma once
#include <bit>
#include <cstdint>
#include <cstring>

namespace rwkv::io {

static_assert(std::endian::native == std::endian::little, "the model readers assume a little-endian host");

inline uint16_t le16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t le32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline int32_t le32s(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// a * b and a + b for sizes read from a file, refusing wrap-around instead of silently producing small numbers.
inline bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_mul_overflow(a, b, out); }
inline bool checked_add(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_add_overflow(a, b, out); }

}  // namespace rwkv::io
