// Run-time choice of the instruction set for the CPU kernels. One binary carries a baseline x86-64 build of
// every kernel plus AVX2 and AVX-512 builds; the best one this CPU supports is used.
#pragma once

namespace rwkv::cpu {

enum class Isa { Generic, Avx2, Avx512 };

const char* isa_name(Isa isa);
bool isa_supported(Isa isa);
// The best supported instruction set, lowered by the environment variable RWKV_CPU_ISA ("generic", "avx2",
// "avx512") when set, so the slower paths can be exercised on a fast machine. It never raises the level.
Isa preferred_isa();

}  // namespace rwkv::cpu
