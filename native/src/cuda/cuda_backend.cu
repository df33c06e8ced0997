// Factory functions and device discovery of the CUDA backend (declared in cuda_backend.h).
#include "cuda/cuda_backend.h"

#include <cuda_runtime.h>

#include <chrono>

#include "cuda/cublas_shim.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_model.h"
#include "cuda/device_memory.h"
#include "cuda/kernels.h"
#include "util/hash.h"

namespace rwkv {
namespace {

// Asking the runtime for this kernel's attributes loads the module for a device, which fails when the build
// has no machine code or PTX the device can run.
__global__ void probe_kernel() {}

int parse_device(const std::string& dev) {
  if (dev == "cuda" || dev == "auto" || dev == "gpu") return 0;
  if (dev.rfind("cuda:", 0) == 0) {
    const std::string n = dev.substr(5);
    if (!n.empty() && n.find_first_not_of("0123456789") == std::string::npos) return std::stoi(n);
  }
  throw Error(code::kArgument, "device \"" + dev + "\" is not cuda, cuda:N or auto");
}

// Every factory starts here. The GPU keeps matrices in f32, f16 or bf16; int8 has CPU kernels only.
int usable_device(const EngineOptions& opts) {
  if (opts.weights == WeightType::I8) {
    throw Error(code::kDevice,
                "the CUDA backend has no int8 weights (it keeps f32, f16 or bf16); int8 runs on device \"cpu\"");
  }
  const int dev = parse_device(opts.device);
  std::string why;
  const int n = cuda_device_count(&why);
  if (n == 0) {
    // A driver older than the runtime this build links is its own failure: the fix is a driver update.
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    cudaGetLastError();
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    cudaGetLastError();
    // The runtime says "insufficient driver" also when there is no driver at all (driver version 0).
    if (e == cudaErrorInsufficientDriver && driver > 0) {
      throw Error(code::kDriver, "the NVIDIA driver supports CUDA " + cuda::cuda_version_text(driver) +
                                     " but this build needs CUDA " + cuda::cuda_version_text(runtime) +
                                     ": update the driver, or use device \"cpu\"");
    }
    throw Error(code::kNoDevice, "no usable CUDA device: " + why);
  }
  if (dev >= n)
    throw Error(code::kDevice,
                "CUDA device " + std::to_string(dev) + " does not exist (" + std::to_string(n) + " usable)");
  return dev;
}

}  // namespace

int cuda_device_count(std::string* error) {
  auto fail = [&](const std::string& why) {
    if (error) *error = why;
    cudaGetLastError();
    return 0;
  };
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    int driver = 0;
    cudaDriverGetVersion(&driver);
    if (driver == 0) return fail("no NVIDIA driver found (" + cuda::cuda_error_text(e) + ")");
    return fail("CUDA unavailable (" + cuda::cuda_error_text(e) + ")");
  }
  if (n == 0) return fail("no CUDA device");
  int prev = 0;
  cudaGetDevice(&prev);
  int usable = 0;
  std::string why;
  for (int d = 0; d < n; d++) {
    if (cudaSetDevice(d) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    cudaFuncAttributes attr;
    e = cudaFuncGetAttributes(&attr, probe_kernel);
    if (e == cudaSuccess) {
      // Devices are counted from 0 up; a gap would renumber them, so stop at the first unusable one.
      if (usable == d) usable++;
    } else {
      cudaDeviceProp p{};
      cudaGetDeviceProperties(&p, d);
      why = "device " + std::to_string(d) + " (" + p.name + ", sm_" + std::to_string(p.major) +
            std::to_string(p.minor) + ") cannot run this build (" + cuda::cuda_error_text(e) + ")";
      cudaGetLastError();
    }
  }
  cudaSetDevice(prev);
  if (usable == 0) return fail(why.empty() ? "no CUDA device can run this build" : why);
  std::string blas_why;
  if (!cuda::cublas_api(&blas_why)) return fail(blas_why);
  return usable;
}

void cuda_capabilities(Capabilities* caps) {
  caps->cuda_devices = cuda_device_count(&caps->cuda_error);
  cudaDriverGetVersion(&caps->cuda_driver_version);
  cudaRuntimeGetVersion(&caps->cuda_runtime_version);
  cudaGetLastError();
  int prev = 0;
  cudaGetDevice(&prev);
  for (int d = 0; d < caps->cuda_devices; d++) {
    CudaDeviceInfo info;
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, d) == cudaSuccess) {
      info.name = p.name;
      info.sm_major = p.major;
      info.sm_minor = p.minor;
      info.total_bytes = p.totalGlobalMem;
    }
    size_t free_bytes = 0, total_bytes = 0;
    // Free memory needs the device's context; doctor asks once, so the start-up cost is acceptable.
    if (cudaSetDevice(d) == cudaSuccess && cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
      info.free_bytes = free_bytes;
      info.total_bytes = total_bytes;
    }
    cudaGetLastError();
    caps->cuda_device_info.push_back(info);
  }
  if (caps->cuda_devices > 0) cudaSetDevice(prev);
}

std::shared_ptr<CudaModel> make_cuda_model_typed(std::shared_ptr<const TensorFile> file, const Rwkv7Params& params,
                                                 const EngineOptions& opts) {
  if (params.deep_embed_rank > 0) {
    throw Error(code::kDevice, "the CUDA backend does not run RWKV-7a DeepEmbed (x070-7a) models; run it on the CPU");
  }
  const int dev = usable_device(opts);
  return std::make_shared<cuda::CudaModelImpl>(dev, params.config, fingerprint_tensors(file->tensors()), opts.weights,
                                               &params, 0);
}

std::shared_ptr<Model> make_cuda_model(std::shared_ptr<const TensorFile> file, const Rwkv7Params& params,
                                       const EngineOptions& opts) {
  return make_cuda_model_typed(std::move(file), params, opts);
}

std::shared_ptr<CudaModel> make_cuda_random_model(const RandomModelShape& shape, uint64_t seed,
                                                  const EngineOptions& opts) {
  const int dev = usable_device(opts);
  ModelConfig cfg;
  cfg.version = "x070";
  cfg.format = "random";
  cfg.file_dtype = opts.weights == WeightType::F32 ? "f32" : opts.weights == WeightType::F16 ? "f16" : "bf16";
  cfg.n_layer = shape.n_layer;
  cfg.n_embd = shape.n_embd;
  cfg.head_size = shape.head_size;
  cfg.n_head = shape.head_size > 0 ? shape.n_embd / shape.head_size : 0;
  cfg.vocab_size = shape.vocab_size;
  cfg.ffn = shape.ffn;
  for (int l = 0; l < shape.n_layer; l++)
    cfg.ranks.push_back(LayerRanks{shape.rank_w, shape.rank_a, l == 0 ? 0 : shape.rank_v, shape.rank_g});
  const std::string id = "random:" + std::to_string(shape.n_layer) + ":" + std::to_string(shape.n_embd) + ":" +
                         std::to_string(shape.vocab_size) + ":" + std::to_string(shape.ffn) + ":" +
                         std::to_string(shape.rank_w) + ":" + std::to_string(shape.rank_a) + ":" +
                         std::to_string(shape.rank_v) + ":" + std::to_string(shape.rank_g) + ":" +
                         std::to_string(seed) + ":" + cfg.file_dtype;
  return std::make_shared<cuda::CudaModelImpl>(dev, cfg, hex64(Xxh64::hash(id.data(), id.size())), opts.weights,
                                               nullptr, seed);
}

CudaDeviceRates measure_cuda_device(int device) {
  using cuda::DeviceBuffer;
  CudaDeviceRates r;
  RWKV_CUDA_CHECK(cudaSetDevice(device));
  cudaDeviceProp p{};
  RWKV_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  r.name = p.name;
  r.sm_count = p.multiProcessorCount;
  std::string why;
  const cuda::CublasApi* api = cuda::cublas_api(&why);
  if (!api) throw Error(code::kDevice, why);

  cudaStream_t st;
  RWKV_CUDA_CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
  cudaEvent_t e0, e1;
  RWKV_CUDA_CHECK(cudaEventCreate(&e0));
  RWKV_CUDA_CHECK(cudaEventCreate(&e1));
  auto elapsed = [&] {
    float ms = 0;
    RWKV_CUDA_CHECK(cudaEventSynchronize(e1));
    RWKV_CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
    return ms / 1e3;
  };
  {
    // Random operands: zeros run measurably faster on tensor cores than real data.
    constexpr int n = 8192;
    const size_t elems = static_cast<size_t>(n) * n;
    DeviceBuffer a(elems * 2, "GEMM benchmark"), b(elems * 2, "GEMM benchmark"), c(elems * 2, "GEMM benchmark");
    cuda::launch_fill_uniform(WeightType::BF16, a.get(), elems, -1.f, 1.f, 1, st);
    cuda::launch_fill_uniform(WeightType::BF16, b.get(), elems, -1.f, 1.f, 2, st);
    cuda::cublas_handle h = nullptr;
    cuda::check_cublas(api->create(&h), "cublasCreate");
    DeviceBuffer ws(32 << 20, "cuBLAS workspace");
    api->set_stream(h, st);
    api->set_workspace(h, ws.get(), ws.bytes());
    const float alpha = 1.f, beta = 0.f;
    auto run = [&] {
      cuda::check_cublas(api->gemm_ex(h, cuda::kCublasOpT, cuda::kCublasOpN, n, n, n, &alpha, a.get(), CUDA_R_16BF, n,
                                      b.get(), CUDA_R_16BF, n, &beta, c.get(), CUDA_R_16BF, n, cuda::kCublasCompute32F,
                                      cuda::kCublasGemmDefault),
                         "benchmark GEMM");
    };
    for (int i = 0; i < 3; i++) run();
    constexpr int iters = 20;
    RWKV_CUDA_CHECK(cudaEventRecord(e0, st));
    for (int i = 0; i < iters; i++) run();
    RWKV_CUDA_CHECK(cudaEventRecord(e1, st));
    r.bf16_gemm_tflops = 2.0 * n * n * static_cast<double>(n) * iters / elapsed() / 1e12;
    api->destroy(h);
  }
  {
    const size_t bytes = size_t(1) << 30;
    DeviceBuffer src(bytes, "copy benchmark"), dst(bytes, "copy benchmark");
    cuda::launch_fill_uniform_f32(src.as<float>(), bytes / 4, -1.f, 1.f, 3, st);
    for (int i = 0; i < 2; i++)
      RWKV_CUDA_CHECK(cudaMemcpyAsync(dst.get(), src.get(), bytes, cudaMemcpyDeviceToDevice, st));
    constexpr int iters = 20;
    RWKV_CUDA_CHECK(cudaEventRecord(e0, st));
    for (int i = 0; i < iters; i++)
      RWKV_CUDA_CHECK(cudaMemcpyAsync(dst.get(), src.get(), bytes, cudaMemcpyDeviceToDevice, st));
    RWKV_CUDA_CHECK(cudaEventRecord(e1, st));
    r.copy_gbps = 2.0 * bytes * iters / elapsed() / 1e9;
  }
  RWKV_CUDA_CHECK(cudaStreamSynchronize(st));
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaStreamDestroy(st);
  return r;
}

}  // namespace rwkv
