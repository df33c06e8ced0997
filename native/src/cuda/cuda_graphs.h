// CUDA graphs for the decode step: a one-token step of a B-stream batch is several hundred short launches
// (7 to 16 per layer), whose launch cost rivals the work itself at small B. The step is captured once per
// batch size and replayed; it reads tokens and state pointers from a descriptor at a fixed device address,
// so a replay needs only that descriptor refreshed.
#pragma once
#include <cuda_runtime.h>

#include <functional>
#include <list>
#include <map>

namespace rwkv::cuda {

class GraphCache {
 public:
  explicit GraphCache(size_t capacity = 16) : capacity_(capacity) {}
  ~GraphCache() { clear(); }
  GraphCache(const GraphCache&) = delete;
  GraphCache& operator=(const GraphCache&) = delete;

  // Launches the graph for `key` on `stream`, capturing `body` (which must only enqueue work on `stream`) the
  // first time. The least recently used graph is dropped when the cache is full.
  void launch(int key, cudaStream_t stream, const std::function<void()>& body);
  void clear();

 private:
  struct Entry {
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
  };
  size_t capacity_;
  std::map<int, Entry> graphs_;
  std::list<int> lru_;  // front: most recent
};

}  // namespace rwkv::cuda
