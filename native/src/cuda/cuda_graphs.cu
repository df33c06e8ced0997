// Capture and replay of decode steps (see cuda_graphs.h).
#include "cuda/cuda_graphs.h"

#include <algorithm>

#include "cuda/cuda_check.h"

namespace rwkv::cuda {

void GraphCache::launch(int key, cudaStream_t stream, const std::function<void()>& body) {
  auto it = graphs_.find(key);
  if (it == graphs_.end()) {
    Entry e;
    // Thread-local mode: other threads' unrelated CUDA calls cannot invalidate the capture.
    RWKV_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    try {
      body();
    } catch (...) {
      cudaGraph_t broken = nullptr;
      cudaStreamEndCapture(stream, &broken);  // leave the stream usable before reporting the first error
      if (broken) cudaGraphDestroy(broken);
      cudaGetLastError();
      throw;
    }
    RWKV_CUDA_CHECK(cudaStreamEndCapture(stream, &e.graph));
    cudaError_t err = cudaGraphInstantiate(&e.exec, e.graph, 0);
    if (err != cudaSuccess) {
      cudaGraphDestroy(e.graph);
      check_cuda(err, "cudaGraphInstantiate");
    }
    if (graphs_.size() >= capacity_ && !lru_.empty()) {
      const int victim = lru_.back();
      lru_.pop_back();
      auto v = graphs_.find(victim);
      cudaGraphExecDestroy(v->second.exec);
      cudaGraphDestroy(v->second.graph);
      graphs_.erase(v);
    }
    it = graphs_.emplace(key, e).first;
    lru_.push_front(key);
  } else {
    lru_.remove(key);
    lru_.push_front(key);
  }
  RWKV_CUDA_CHECK(cudaGraphLaunch(it->second.exec, stream));
}

void GraphCache::clear() {
  for (auto& [k, e] : graphs_) {
    cudaGraphExecDestroy(e.exec);
    cudaGraphDestroy(e.graph);
  }
  graphs_.clear();
  lru_.clear();
}

}  // namespace rwkv::cuda
