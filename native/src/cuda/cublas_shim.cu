// Run-time loading of cuBLAS (see cublas_shim.h for why).
#include "cuda/cublas_shim.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <vector>

#include "rwkv/error.h"

namespace rwkv::cuda {
namespace {

// Sonames first (the loader's own search: LD_LIBRARY_PATH, the ld.so cache), then the toolkit's usual
// install folders, which are often missing from the cache on machines where only the toolkit was unpacked.
std::vector<std::string> candidate_paths() {
  std::vector<std::string> names = {"libcublas.so.13", "libcublas.so.12", "libcublas.so"};
  std::vector<std::string> out;
  if (const char* explicit_path = std::getenv("RWKV_CUBLAS_LIBRARY")) out.push_back(explicit_path);
  for (auto& n : names) out.push_back(n);
  std::vector<std::string> dirs;
  for (const char* env : {"CUDA_HOME", "CUDA_PATH"}) {
    if (const char* d = std::getenv(env)) {
      dirs.push_back(std::string(d) + "/lib64");
      dirs.push_back(std::string(d) + "/targets/x86_64-linux/lib");
    }
  }
  dirs.push_back("/usr/local/cuda/lib64");
  dirs.push_back("/usr/local/cuda/targets/x86_64-linux/lib");
  dirs.push_back("/usr/local/cuda/targets/sbsa-linux/lib");
  for (auto& d : dirs)
    for (auto& n : names) out.push_back(d + "/" + n);
  return out;
}

struct Loaded {
  CublasApi api;
  bool ok = false;
  std::string why;
};

template <typename F>
bool resolve(void* lib, const char* symbol, F& fn, std::string& missing) {
  fn = reinterpret_cast<F>(dlsym(lib, symbol));
  if (!fn) missing += std::string(missing.empty() ? "" : ", ") + symbol;
  return fn != nullptr;
}

Loaded load() {
  Loaded r;
  std::string tried;
  void* lib = nullptr;
  for (auto& path : candidate_paths()) {
    lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib) {
      r.api.library = path;
      break;
    }
    tried += (tried.empty() ? "" : ", ") + path;
  }
  if (!lib) {
    r.why = "cuBLAS could not be loaded (tried " + tried + ")";
    return r;
  }
  std::string missing;
  bool ok = true;
  ok &= resolve(lib, "cublasCreate_v2", r.api.create, missing);
  ok &= resolve(lib, "cublasDestroy_v2", r.api.destroy, missing);
  ok &= resolve(lib, "cublasSetStream_v2", r.api.set_stream, missing);
  ok &= resolve(lib, "cublasSetWorkspace_v2", r.api.set_workspace, missing);
  ok &= resolve(lib, "cublasSetMathMode", r.api.set_math_mode, missing);
  ok &= resolve(lib, "cublasGemmEx", r.api.gemm_ex, missing);
  ok &= resolve(lib, "cublasGemmStridedBatchedEx", r.api.gemm_strided_batched_ex, missing);
  std::string optional_missing;
  resolve(lib, "cublasGetStatusString", r.api.status_string, optional_missing);
  if (!ok) {
    r.why = r.api.library + " lacks " + missing;
    return r;
  }
  r.ok = true;
  return r;
}

const Loaded& loaded() {
  static const Loaded l = load();  // thread-safe one-time initialization
  return l;
}

}  // namespace

const CublasApi* cublas_api(std::string* why) {
  const Loaded& l = loaded();
  if (!l.ok) {
    if (why) *why = l.why;
    return nullptr;
  }
  return &l.api;
}

void check_cublas(cublas_status status, const char* what) {
  if (status == 0) return;
  const CublasApi* api = cublas_api();
  std::string text = api && api->status_string ? api->status_string(status) : "status " + std::to_string(status);
  throw Error(code::kDevice, std::string(what) + " failed (" + text + ")");
}

}  // namespace rwkv::cuda
