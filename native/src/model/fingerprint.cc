// fingerprint_tensors: XXH64 over every tensor's name, dtype, shape and bytes. The bytes are hashed in fixed
// 16 MiB blocks on all CPUs (a few GB/s per core), and the block digests are folded in order, so the result
// does not depend on the number of threads.
#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "model/rwkv7_params.h"
#include "util/hash.h"

namespace rwkv {

namespace {
constexpr size_t kBlock = size_t{16} << 20;

struct Block {
  const uint8_t* data;
  size_t bytes;
  uint64_t digest;
};
}  // namespace

std::string fingerprint_tensors(const std::map<std::string, TensorView>& tensors) {
  std::vector<Block> blocks;
  std::vector<size_t> first_block;  // per tensor, in map order
  for (const auto& [name, v] : tensors) {
    first_block.push_back(blocks.size());
    const size_t n = v.nbytes();
    for (size_t off = 0; off < n; off += kBlock) blocks.push_back({v.data + off, std::min(kBlock, n - off), 0});
  }

  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < blocks.size();)
      blocks[i].digest = Xxh64::hash(blocks[i].data, blocks[i].bytes);
  };
  unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  size_t n_threads = std::min<size_t>(hw, blocks.size());
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n_threads; t++) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();

  Xxh64 h;
  size_t ti = 0;
  for (const auto& [name, v] : tensors) {
    h.update(name.data(), name.size() + 1);  // with the terminating NUL, so names cannot run into dtypes
    const char* dt = dtype_name(v.dtype);
    h.update(dt, std::char_traits<char>::length(dt) + 1);
    const uint64_t ndim = v.shape.size();
    h.update(&ndim, sizeof ndim);
    for (int64_t d : v.shape) h.update(&d, sizeof d);
    const uint64_t bytes = v.nbytes();
    h.update(&bytes, sizeof bytes);
    const size_t end = ti + 1 < first_block.size() ? first_block[ti + 1] : blocks.size();
    for (size_t b = first_block[ti]; b < end; b++) h.update(&blocks[b].digest, sizeof blocks[b].digest);
    ti++;
  }
  return hex64(h.digest());
}

}  // namespace rwkv
