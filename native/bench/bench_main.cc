// rwkv_bench: speed measurements of the native engine without Node (also on GPU machines).
//   rwkv_bench engine [--layers 12 --embd 768 --vocab 65536 --ffn 3072 --chunk 1024 --decode 64 --threads N
//                      --device cpu --weights f32,bf16 --batch 1]
//   rwkv_bench gemm   [--m 1024 --k 768 --n 3072 --weights f32 --threads N]
//   rwkv_bench cuda   [--sizes 0.1b,1.5b,7.2b --weights bf16 --quick --only all|prefill|decode|decode1]
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>

#include "bench_commands.h"
#include "rwkv/error.h"

namespace {

const std::map<std::string, std::function<int(const rwkv_bench::Args&)>>& commands() {
  static const std::map<std::string, std::function<int(const rwkv_bench::Args&)>> c = {
      {"engine", rwkv_bench::run_engine},
      {"gemm", rwkv_bench::run_gemm},
      {"cuda", rwkv_bench::run_cuda},
  };
  return c;
}

int usage() {
  std::fprintf(stderr, "usage: rwkv_bench <command> [--option value ...]\ncommands:");
  for (const auto& [name, fn] : commands()) std::fprintf(stderr, " %s", name.c_str());
  std::fprintf(stderr, "\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) return usage();
  auto it = commands().find(argv[1]);
  if (it == commands().end()) {
    std::fprintf(stderr, "unknown command %s\n", argv[1]);
    return usage();
  }
  try {
    rwkv_bench::Args args(argc, argv, 2);
    return it->second(args);
  } catch (const rwkv::Error& e) {
    std::fprintf(stderr, "error %s: %s\n", e.code().c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
