// Maps the run-time storage type to the kernel template argument.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "rwkv/error.h"
#include "rwkv/model.h"

// Runs BODY with `T` bound to the storage type selected by WT.
#define RWKV_DISPATCH_WT(WT, ...)                                                   \
  do {                                                                              \
    switch (WT) {                                                                   \
      case ::rwkv::WeightType::F32: {                                               \
        using T = float;                                                            \
        __VA_ARGS__;                                                                \
        break;                                                                      \
      }                                                                             \
      case ::rwkv::WeightType::F16: {                                               \
        using T = __half;                                                           \
        __VA_ARGS__;                                                                \
        break;                                                                      \
      }                                                                             \
      case ::rwkv::WeightType::BF16: {                                              \
        using T = __nv_bfloat16;                                                    \
        __VA_ARGS__;                                                                \
        break;                                                                      \
      }                                                                             \
      default: throw ::rwkv::Error(::rwkv::code::kInternal, "unknown weight type"); \
    }                                                                               \
  } while (0)
