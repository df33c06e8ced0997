// Kernel launches with programmatic dependent launch (PDL, sm_90): a kernel may be scheduled while its
// predecessor in the stream is still finishing, so the launch latency and the ramp-up of each of the
// hundreds of short kernels of a decode step overlap the previous kernel's tail. Correctness rule: every
// kernel launched this way calls pdl_wait() before it reads anything an earlier kernel wrote or writes
// anything an earlier kernel reads; only reads of constant data (weights) may precede it. Kernels that are
// not ours (cuBLAS) are launched normally and so wait for full completion as usual.
#pragma once
#include <cuda_runtime.h>

#include <utility>

#include "cuda/cuda_check.h"

namespace rwkv::cuda {

// Waits until the preceding kernel has completed and its writes are visible; a no-op without PDL.
__device__ __forceinline__ void pdl_wait() { asm volatile("griddepcontrol.wait;\n" ::: "memory"); }
// Lets the next kernel be scheduled once every block of this one has reached this point.
__device__ __forceinline__ void pdl_launch_dependents() {
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
}

// PDL is on unless RWKV_CUDA_PDL=0 (read once per process).
bool pdl_enabled();

template <typename... Params, typename... Args>
void launch_kernel(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t st,
                   Args&&... args) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = st;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  if (pdl_enabled()) {
    cfg.attrs = attr;
    cfg.numAttrs = 1;
  }
  const cudaError_t e = cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...);
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw Error(code::kDevice, std::string("launch of ") + name + " failed (" + cuda_error_text(e) + ")");
  }
}

}  // namespace rwkv::cuda
