// Error mapping for the CUDA backend: every runtime call, cuBLAS call and kernel launch is checked, and a
// failure becomes rwkv::Error with code E_DEVICE and a message that names the call, so a device fault
// surfaces in TypeScript as a catchable error instead of a crash or a silently wrong result.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "rwkv/error.h"

namespace rwkv::cuda {

inline std::string cuda_error_text(cudaError_t e) {
  return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
}

inline void check_cuda(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(code::kDevice, std::string(what) + " failed (" + cuda_error_text(e) + ")");
}

// A launch reports configuration errors through cudaGetLastError; faults inside the kernel surface at the next
// synchronizing call, which is checked too.
inline void check_launch(const char* kernel) {
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) throw Error(code::kDevice, std::string("launch of ") + kernel + " failed (" + cuda_error_text(e) + ")");
}

}  // namespace rwkv::cuda

#define RWKV_CUDA_CHECK(call) ::rwkv::cuda::check_cuda((call), #call)
