// Process-wide switch for programmatic dependent launch (see launch.cuh).
#include <cstdlib>
#include <cstring>

#include "cuda/launch.cuh"

namespace rwkv::cuda {

bool pdl_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("RWKV_CUDA_PDL");
    return !(v && std::strcmp(v, "0") == 0);
  }();
  return on;
}

}  // namespace rwkv::cuda
