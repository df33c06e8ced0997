// load_model, inspect_model and capabilities: open a model file, validate it for its version (detected from
// the keys) and hand it to a backend, or only describe it.
#include <memory>
#include <set>
#include <string>

#include "cpu/rwkv456_cpu.h"
#include "cpu/rwkv7_cpu.h"
#include "model/rwkv456_params.h"
#include "model/rwkv7_params.h"
#include "rwkv/error.h"
#include "rwkv/model.h"
#include "rwkv/tensor_file.h"

#ifdef RWKV_WITH_CUDA
#include "cuda/cuda_backend.h"
#endif

namespace rwkv {

namespace {

bool is_cuda_device(const std::string& d) { return d == "cuda" || d.rfind("cuda:", 0) == 0; }

constexpr const char* kCudaInt8Refusal =
    "the CUDA backend has no int8 weights (it keeps f32, f16 or bf16); int8 runs on device \"cpu\" or \"auto\"";

}  // namespace

std::shared_ptr<Model> load_model(std::shared_ptr<const TensorFile> file, const EngineOptions& options) {
  if (!file) throw Error(code::kArgument, "load_model: no tensors given");
  if (options.threads < 0) throw Error(code::kArgument, "threads must be >= 0, got " + std::to_string(options.threads));
  const std::string& device = options.device;
  if (device != "cpu" && device != "auto" && !is_cuda_device(device)) {
    throw Error(code::kArgument, "unknown device \"" + device + "\" (expected cpu, cuda, cuda:N or auto)");
  }
  if (is_rwkv456_version(detect_version(file->tensors()))) {
    Rwkv456Params params = rwkv456_params(*file);
    // The CUDA backend runs RWKV-7 only; "auto" means the best device that can take the model.
    if (is_cuda_device(device)) {
      throw Error(code::kDevice, "the CUDA backend runs RWKV-7 models; this " + params.config.version +
                                     " model runs on device \"cpu\" (or \"auto\")");
    }
    EngineOptions cpu = options;
    cpu.device = "cpu";
    return cpu::make_rwkv456_cpu_model(std::move(file), params, cpu);
  }
  Rwkv7Params params = rwkv7_params(*file);
  // int8 matrices have CPU kernels only: refused on a named GPU before anything is asked of the driver, so
  // the answer is the same with or without one; "auto" takes the CPU.
  if (is_cuda_device(device) && options.weights == WeightType::I8) throw Error(code::kDevice, kCudaInt8Refusal);
  if (params.deep_embed_rank > 0) {
    // The CUDA backend has no DeepEmbed kernels; "auto" runs these models on the CPU.
    if (is_cuda_device(device)) {
      throw Error(code::kDevice,
                  "the CUDA backend does not run RWKV-7a DeepEmbed (x070-7a) models; this model runs "
                  "on device \"cpu\" (or \"auto\")");
    }
    EngineOptions cpu = options;
    cpu.device = "cpu";
    return cpu::make_cpu_model(std::move(file), params, cpu);
  }
#ifdef RWKV_WITH_CUDA
  if (is_cuda_device(device)) return make_cuda_model(file, params, options);
  if (device == "auto" && options.weights != WeightType::I8) {
    std::string why;
    if (cuda_device_count(&why) > 0) {
      try {
        return make_cuda_model(file, params, options);
      } catch (const Error& e) {
        // "auto" means the best device that works: a GPU that cannot take the model falls back to the CPU.
        if (e.code() != code::kDevice && e.code() != code::kDeviceMemory && e.code() != code::kNoDevice &&
            e.code() != code::kDriver) {
          throw;
        }
      }
    }
  }
#else
  if (is_cuda_device(device)) {
    throw Error(code::kDevice, "this build has no CUDA backend (built without nvcc); use device \"cpu\" or \"auto\"");
  }
#endif
  EngineOptions cpu = options;
  cpu.device = "cpu";
  return cpu::make_cpu_model(std::move(file), params, cpu);
}

std::shared_ptr<Model> load_model(const std::string& path, const EngineOptions& options) {
  std::shared_ptr<const TensorFile> file = TensorFile::open(path);
  return load_model(std::move(file), options);
}

ModelFileInfo inspect_model(const std::string& path, bool with_fingerprint) {
  // The same reader and parameter tables as load_model, so a file is refused here exactly as a load would
  // refuse it; the tables hold views into the memory map, so nothing here reads the weights themselves.
  std::shared_ptr<const TensorFile> file = TensorFile::open(path);
  ModelFileInfo info;
  if (is_rwkv456_version(detect_version(file->tensors()))) {
    info.config = rwkv456_params(*file).config;
  } else {
    Rwkv7Params params = rwkv7_params(*file);
    info.config = std::move(params.config);
    info.deep_embed_rank = params.deep_embed_rank;
  }
  std::set<std::string> dtypes;
  for (const auto& [name, view] : file->tensors()) {
    dtypes.insert(dtype_name(view.dtype));
    info.parameters += static_cast<uint64_t>(view.numel());
  }
  info.tensors = file->tensors().size();
  info.dtypes.assign(dtypes.begin(), dtypes.end());
  if (with_fingerprint) info.fingerprint = fingerprint_tensors(file->tensors());
  return info;
}

Capabilities capabilities() {
  Capabilities c;
  c.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  c.avx512f = __builtin_cpu_supports("avx512f");
  c.avx512bf16 = __builtin_cpu_supports("avx512bf16");
#ifdef RWKV_WITH_CUDA
  c.cuda_compiled = true;
  cuda_capabilities(&c);
#else
  c.cuda_compiled = false;
  c.cuda_devices = 0;
  c.cuda_error = "built without CUDA";
#endif
  return c;
}

}  // namespace rwkv
