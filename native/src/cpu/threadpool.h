// A persistent pool of worker threads with a low-overhead parallel-for. A forward pass issues thousands of
// short parallel regions (a one-token decode step has about ten per layer), so waking threads must cost
// microseconds: workers spin briefly on a generation counter after each region and only then sleep.
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
  // is the same for every task run by one thread in this call (use it to index per-thread scratch).
  // Returns when every task has finished. Not reentrant: one region at a time per pool.
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

  void run(size_t n_tasks, void* ctx, Trampoline call);
  void worker_loop(int index);
  void drain(int worker);

  std::vector<std::thread> workers_;

  // The current region; written by the caller before the generation is bumped.
  void* ctx_ = nullptr;
  Trampoline call_ = nullptr;
  size_t n_tasks_ = 0;
  alignas(64) std::atomic<size_t> next_task_{0};
  alignas(64) std::atomic<int> busy_workers_{0};
  alignas(64) std::atomic<uint64_t> generation_{0};
  alignas(64) std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace rwkv::cpu
