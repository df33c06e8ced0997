// cuBLAS through dlopen: the engine (and the Node addon that embeds it) must load on machines without CUDA
// libraries, so nothing links against libcublas. The few entry points used are resolved at run time; the
// enum values below are cuBLAS's stable ABI values (cublas_api.h, library_types.h), declared here so the build
// needs no cuBLAS headers either.
#pragma once
#include <cuda_runtime.h>
#include <library_types.h>

#include <cstdint>
#include <string>

namespace rwkv::cuda {

struct CublasContext;
using cublas_handle = CublasContext*;
using cublas_status = int;

inline constexpr int kCublasOpN = 0;
inline constexpr int kCublasOpT = 1;
inline constexpr int kCublasCompute32F = 68;  // fp32 accumulation, no reduced-precision shortcuts
inline constexpr int kCublasGemmDefault = -1;
inline constexpr int kCublasDefaultMath = 0;

// Function pointers resolved from libcublas; nullptr members never escape cublas_api().
struct CublasApi {
  cublas_status (*create)(cublas_handle*) = nullptr;
  cublas_status (*destroy)(cublas_handle) = nullptr;
  cublas_status (*set_stream)(cublas_handle, cudaStream_t) = nullptr;
  cublas_status (*set_workspace)(cublas_handle, void*, size_t) = nullptr;
  cublas_status (*set_math_mode)(cublas_handle, int) = nullptr;
  cublas_status (*gemm_ex)(cublas_handle, int transa, int transb, int m, int n, int k, const void* alpha, const void* A,
                           cudaDataType Atype, int lda, const void* B, cudaDataType Btype, int ldb, const void* beta,
                           void* C, cudaDataType Ctype, int ldc, int compute, int algo) = nullptr;
  cublas_status (*gemm_strided_batched_ex)(cublas_handle, int transa, int transb, int m, int n, int k,
                                           const void* alpha, const void* A, cudaDataType Atype, int lda,
                                           long long strideA, const void* B, cudaDataType Btype, int ldb,
                                           long long strideB, const void* beta, void* C, cudaDataType Ctype, int ldc,
                                           long long strideC, int batch, int compute, int algo) = nullptr;
  const char* (*status_string)(cublas_status) = nullptr;  // optional (cuBLAS >= 11.4)
  std::string library;                                    // the file that was loaded
};

// Loads libcublas once per process (thread-safe). Returns nullptr when it cannot be loaded and, if `why` is
// given, says which names were tried. The library is never unloaded.
const CublasApi* cublas_api(std::string* why = nullptr);

// Throws rwkv::Error(E_DEVICE) naming `what` when `status` is not CUBLAS_STATUS_SUCCESS.
void check_cublas(cublas_status status, const char* what);

}  // namespace rwkv::cuda
