// XXH64 (Yann Collet's xxHash, 64-bit variant): a fast non-cryptographic hash for fingerprints of weights and
// vocabularies and for the checksum of state blobs. Streaming, so multi-gigabyte weights hash without copies.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace rwkv {

class Xxh64 {
 public:
  explicit Xxh64(uint64_t seed = 0) { reset(seed); }

  void reset(uint64_t seed = 0) {
    v_[0] = seed + kP1 + kP2;
    v_[1] = seed + kP2;
    v_[2] = seed;
    v_[3] = seed - kP1;
    seed_ = seed;
    total_ = 0;
    buffered_ = 0;
  }

  void update(const void* data, size_t len) {
    auto* p = static_cast<const uint8_t*>(data);
    total_ += len;
    if (buffered_ + len < 32) {
      std::memcpy(buf_ + buffered_, p, len);
      buffered_ += len;
      return;
    }
    if (buffered_) {
      size_t fill = 32 - buffered_;
      std::memcpy(buf_ + buffered_, p, fill);
      consume(buf_);
      p += fill;
      len -= fill;
      buffered_ = 0;
    }
    while (len >= 32) {
      consume(p);
      p += 32;
      len -= 32;
    }
    std::memcpy(buf_, p, len);
    buffered_ = len;
  }

  uint64_t digest() const {
    uint64_t h;
    if (total_ >= 32) {
      h = rotl(v_[0], 1) + rotl(v_[1], 7) + rotl(v_[2], 12) + rotl(v_[3], 18);
      for (int i = 0; i < 4; i++) h = merge(h, v_[i]);
    } else {
      h = seed_ + kP5;
    }
    h += total_;
    const uint8_t* p = buf_;
    size_t len = buffered_;
    while (len >= 8) {
      h ^= round(0, read64(p));
      h = rotl(h, 27) * kP1 + kP4;
      p += 8;
      len -= 8;
    }
    if (len >= 4) {
      h ^= static_cast<uint64_t>(read32(p)) * kP1;
      h = rotl(h, 23) * kP2 + kP3;
      p += 4;
      len -= 4;
    }
    while (len--) {
      h ^= (*p++) * kP5;
      h = rotl(h, 11) * kP1;
    }
    h ^= h >> 33;
    h *= kP2;
    h ^= h >> 29;
    h *= kP3;
    h ^= h >> 32;
    return h;
  }

  static uint64_t hash(const void* data, size_t len, uint64_t seed = 0) {
    Xxh64 x(seed);
    x.update(data, len);
    return x.digest();
  }

 private:
  static constexpr uint64_t kP1 = 11400714785074694791ULL, kP2 = 14029467366897019727ULL, kP3 = 1609587929392839161ULL,
                            kP4 = 9650029242287828579ULL, kP5 = 2870177450012600261ULL;
  static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
  static uint64_t read64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  static uint32_t read32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  static uint64_t round(uint64_t acc, uint64_t input) {
    acc += input * kP2;
    acc = rotl(acc, 31);
    return acc * kP1;
  }
  static uint64_t merge(uint64_t acc, uint64_t val) {
    acc ^= round(0, val);
    return acc * kP1 + kP4;
  }
  void consume(const uint8_t* p) {
    for (int i = 0; i < 4; i++) v_[i] = round(v_[i], read64(p + 8 * i));
  }

  uint64_t v_[4];
  uint64_t seed_;
  uint64_t total_;
  uint8_t buf_[32];
  size_t buffered_;
};

inline std::string hex64(uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; i--, v >>= 4) s[i] = digits[v & 15];
  return s;
}

}  // namespace rwkv
