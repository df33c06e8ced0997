// Scalar conversions between fp32 and the two 16-bit float formats (bf16: the upper half of an fp32; f16:
// IEEE binary16). Everything here has internal linkage because this header is also included by translation
// units compiled for AVX2/AVX-512: a shared inline definition could otherwise be merged by the linker into
// the one compiled for the wider instruction set and run on a CPU without it.
#pragma once
#include <cstdint>

namespace rwkv::cpu {

static inline float bits_to_f32(uint32_t u) { return __builtin_bit_cast(float, u); }
static inline uint32_t f32_to_bits(float f) { return __builtin_bit_cast(uint32_t, f); }

static inline float bf16_to_f32(uint16_t h) { return bits_to_f32(static_cast<uint32_t>(h) << 16); }

// Round to nearest, ties to even; NaN stays a (quiet) NaN.
static inline uint16_t f32_to_bf16(float f) {
  uint32_t u = f32_to_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

static inline float f16_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  if (exp == 0x1f) return bits_to_f32(sign | 0x7f800000u | (man << 13));  // inf / nan
  if (exp == 0) {
    if (man == 0) return bits_to_f32(sign);
    // Subnormal: value = man * 2^-24, exact in fp32.
    float v = static_cast<float>(man) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return bits_to_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

// Round to nearest, ties to even; overflow gives inf.
static inline uint16_t f32_to_f16(float f) {
  uint32_t u = f32_to_bits(f);
  uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);   // nan
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (a < 0x38800000u) {
    // Result is subnormal or zero: scale to units of 2^-24 and round with the FPU (ties to even).
    float v = bits_to_f32(a) * 16777216.0f;
    float r = __builtin_nearbyintf(v);
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(r));
  }
  uint32_t rounded = a + 0xfffu + ((a >> 13) & 1u);
  return static_cast<uint16_t>(sign | ((rounded - 0x38000000u) >> 13));
}

}  // namespace rwkv::cpu
