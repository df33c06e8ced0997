// `rwkv_bench cuda` in a build without the CUDA backend (native/CMakeLists.txt compiles this file instead of
// bench_cuda.cc): reports the skip in the same two forms as a run, a line for people and a JSON record.
#include <cstdio>

#include "bench_commands.h"

namespace rwkv_bench {

int run_cuda(const Args& args) {
  (void)args;
  std::printf("cuda bench skipped: this build has no CUDA backend\n");
  std::printf("{\"bench\":\"cuda\",\"skipped\":\"this build has no CUDA backend\"}\n");
  return 0;
}

}  // namespace rwkv_bench
