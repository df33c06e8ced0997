// A persistent pool of worker threads with a low-overhead parallel-for. A forward pass issues thousands of
// short parallel regions (a one-token decode step has about ten per layer), so joining one must cost
// microseconds: idle workers poll briefly before they sleep, and a region never waits for a worker that has
// not started on it. Tasks are claimed one at a time from a shared counter, so when the OS preempts a worker
// (more runnable threads than CPUs) the others, the calling thread included, simply take its share.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace rwkv::cpu {

// Number of CPUs this process may run on (affinity mask), at least 1.
int available_cpus();

class ThreadPool {
 public:
  // `threads` counts the calling thread: a pool of 1 runs everything inline. 0 means available_cpus().
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(task, worker) for every task in [0, n_tasks), spread over the pool; worker is in [0, size()) and
  // identifies the calling thread (use it to index per-thread scratch). Returns when every task has finished.
  // Not reentrant: one region at a time per pool.
  template <class F>
  void parallel_for(size_t n_tasks, F&& fn) {
    if (n_tasks == 0) return;
    if (n_tasks == 1 || workers_.empty()) {
      for (size_t t = 0; t < n_tasks; t++) fn(t, 0);
      return;
    }
    using Fn = std::remove_reference_t<F>;
    run(n_tasks, const_cast<void*>(static_cast<const void*>(&fn)),
        [](void* ctx, size_t task, int worker) { (*static_cast<Fn*>(ctx))(task, worker); });
  }

 private:
  using Trampoline = void (*)(void* ctx, size_t task, int worker);

  // The claim word packs the region's generation, its number of units and the next unclaimed unit, so a
  // claim (compare-and-swap) succeeds only on the region it was meant for.
  static constexpr int kIndexBits = 20;
  static constexpr uint64_t kIndexMask = (uint64_t{1} << kIndexBits) - 1;
  static constexpr size_t kMaxUnits = kIndexMask;

  void run(size_t n_tasks, void* ctx, Trampoline call);
  void worker_loop(int index);
  // Claims and runs units of the region whose generation is `gen` until none is left.
  void drain(uint64_t gen, int worker);
  void run_unit(size_t unit, int worker);

  std::vector<std::thread> workers_;

  // The current region; written by the caller before the claim word is published.
  void* ctx_ = nullptr;
  Trampoline call_ = nullptr;
  size_t n_tasks_ = 0;
  size_t n_units_ = 0;
  uint64_t generation_ = 0;  // caller-side counter
  alignas(64) std::atomic<uint64_t> claim_{0};
  alignas(64) std::atomic<size_t> done_units_{0};
  alignas(64) std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace rwkv::cpu
