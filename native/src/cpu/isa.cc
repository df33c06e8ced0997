#include "cpu/isa.h"

#include <cstdlib>
#include <cstring>

namespace rwkv::cpu {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Generic: return "generic";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "?";
}

bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::Generic: return true;
    case Isa::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case Isa::Avx512:
      // The AVX-512 files are built with F/BW/VL/DQ (+BF16 for the compiler, but no bf16 instruction is used).
      return isa_supported(Isa::Avx2) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  }
  return false;
}

Isa preferred_isa() {
  Isa best = isa_supported(Isa::Avx512) ? Isa::Avx512 : isa_supported(Isa::Avx2) ? Isa::Avx2 : Isa::Generic;
  const char* env = std::getenv("RWKV_CPU_ISA");
  if (env && *env) {
    Isa want = best;
    if (std::strcmp(env, "generic") == 0)
      want = Isa::Generic;
    else if (std::strcmp(env, "avx2") == 0)
      want = Isa::Avx2;
    else if (std::strcmp(env, "avx512") == 0)
      want = Isa::Avx512;
    if (static_cast<int>(want) < static_cast<int>(best)) best = want;
  }
  return best;
}

}  // namespace rwkv::cpu
