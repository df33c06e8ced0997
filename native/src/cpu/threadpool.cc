#include "cpu/threadpool.h"

#include <sched.h>

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace rwkv::cpu {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// How long an idle worker keeps polling before it sleeps. Long enough to bridge the gaps between the
// parallel regions of one forward pass (element-wise work on the calling thread, a few microseconds each)
// and between decode steps, short enough not to burn a core when the engine goes idle.
constexpr auto kSpin = std::chrono::microseconds(300);

}  // namespace

int available_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = available_cpus();
  workers_.reserve(static_cast<size_t>(threads - 1));
  for (int i = 0; i < threads - 1; i++) workers_.emplace_back([this, i] { worker_loop(i + 1); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_seq_cst);
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::drain(int worker) {
  for (;;) {
    size_t t = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (t >= n_tasks_) return;
    call_(ctx_, t, worker);
  }
}

void ThreadPool::run(size_t n_tasks, void* ctx, Trampoline call) {
  ctx_ = ctx;
  call_ = call;
  n_tasks_ = n_tasks;
  next_task_.store(0, std::memory_order_relaxed);
  busy_workers_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  // seq_cst pairs with the sleepers' increment: either a worker about to sleep sees the new generation, or
  // this thread sees it counted and wakes it.
  generation_.fetch_add(1, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }
  drain(0);
  while (busy_workers_.load(std::memory_order_acquire) != 0) cpu_relax();
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t g = generation_.load(std::memory_order_acquire);
    if (g == seen) {
      auto deadline = std::chrono::steady_clock::now() + kSpin;
      for (int i = 1;; i++) {
        cpu_relax();
        g = generation_.load(std::memory_order_acquire);
        if (g != seen) break;
        if ((i & 31) == 0 && std::chrono::steady_clock::now() > deadline) break;
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lock(mu_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        cv_.wait(lock, [&] {
          g = generation_.load(std::memory_order_seq_cst);
          return g != seen;
        });
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
      }
    }
    if (stop_.load(std::memory_order_relaxed)) return;
    seen = g;
    drain(index);
    busy_workers_.fetch_sub(1, std::memory_order_release);
  }
}

}  // namespace rwkv::cpu
