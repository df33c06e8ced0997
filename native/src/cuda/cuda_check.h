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

// 12080 -> "12.8"; 0 (no driver) -> "none".
inline std::string cuda_version_text(int version) {
  if (version <= 0) return "none";
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

inline std::string mib_text(size_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

// Out of device memory: the request, what it was for, and what the device has free of its total, so the
// message says how far off the model is (a smaller weight type, fewer streams, or a larger GPU).
[[noreturn]] inline void throw_out_of_memory(size_t bytes, const char* what, cudaError_t e) {
  cudaGetLastError();  // the allocation error is not sticky
  size_t free_bytes = 0, total_bytes = 0;
  const bool known = cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess;
  cudaGetLastError();
  std::string msg = "out of GPU memory: cudaMalloc of " + std::to_string(bytes) + " bytes (" + mib_text(bytes) +
                    ") for " + what + " failed (" + cuda_error_text(e) + ")";
  if (known) msg += "; the device has " + mib_text(free_bytes) + " free of " + mib_text(total_bytes);
  throw Error(code::kDeviceMemory, msg);
}

inline void check_cuda(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(code::kDevice, std::string(what) + " failed (" + cuda_error_text(e) + ")");
}

// A launch reports configuration errors through cudaGetLastError; faults inside the kernel surface at the next
// synchronizing call, which is checked too.
inline void check_launch(const char* kernel) {
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess)
    throw Error(code::kDevice, std::string("launch of ") + kernel + " failed (" + cuda_error_text(e) + ")");
}

}  // namespace rwkv::cuda

#define RWKV_CUDA_CHECK(call) ::rwkv::cuda::check_cuda((call), #call)
