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

// How long an idle worker keeps polling before it sleeps: long enough to bridge the gaps between the parallel
// regions of a forward pass and between decode steps, short enough not to burn a core when the engine idles.
constexpr auto kSpin = std::chrono::microseconds(300);
// Polls before a waiting thread starts yielding its time slice (about 100 us): past that, whoever it waits
// for has probably been preempted.
constexpr int kPausesBeforeYield = 4096;

constexpr int kGenShift = 2 * 20;  // generation above the unit count and the next-unit index

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
    stop_.store(true, std::memory_order_seq_cst);
    // A new generation with no units wakes the pollers without giving them work.
    generation_++;
    claim_.store(generation_ << kGenShift, std::memory_order_seq_cst);
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_unit(size_t unit, int worker) {
  // Units are contiguous ranges of tasks when there are more tasks than the claim word can count.
  const size_t begin = n_units_ == n_tasks_ ? unit : unit * n_tasks_ / n_units_;
  const size_t end = n_units_ == n_tasks_ ? unit + 1 : (unit + 1) * n_tasks_ / n_units_;
  for (size_t t = begin; t < end; t++) call_(ctx_, t, worker);
}

void ThreadPool::drain(uint64_t gen, int worker) {
  uint64_t w = claim_.load(std::memory_order_acquire);
  for (;;) {
    if ((w >> kGenShift) != gen) return;
    const uint64_t next = w & kIndexMask;
    const uint64_t units = (w >> kIndexBits) & kIndexMask;
    if (next >= units) return;
    if (claim_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
      // A successful claim keeps the region open until this unit is counted done, so ctx_/call_ are its own.
      run_unit(static_cast<size_t>(next), worker);
      done_units_.fetch_add(1, std::memory_order_release);
      w = claim_.load(std::memory_order_acquire);
    }
  }
}

void ThreadPool::run(size_t n_tasks, void* ctx, Trampoline call) {
  ctx_ = ctx;
  call_ = call;
  n_tasks_ = n_tasks;
  n_units_ = n_tasks < kMaxUnits ? n_tasks : kMaxUnits;
  done_units_.store(0, std::memory_order_relaxed);
  generation_ = (generation_ + 1) & ((uint64_t{1} << (64 - kGenShift)) - 1);
  // seq_cst pairs with the sleepers' increment: either a worker about to sleep sees the new region, or this
  // thread sees it counted and wakes it.
  claim_.store((generation_ << kGenShift) | (static_cast<uint64_t>(n_units_) << kIndexBits), std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }
  drain(generation_, 0);
  for (int i = 1; done_units_.load(std::memory_order_acquire) != n_units_; i++) {
    if (i < kPausesBeforeYield)
      cpu_relax();
    else
      std::this_thread::yield();
  }
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;  // the generation at construction; regions published before this thread ran are still seen
  for (;;) {
    uint64_t gen = claim_.load(std::memory_order_acquire) >> kGenShift;
    if (gen == seen) {
      auto deadline = std::chrono::steady_clock::now() + kSpin;
      for (int i = 1;; i++) {
        if (i < kPausesBeforeYield)
          cpu_relax();
        else
          std::this_thread::yield();
        gen = claim_.load(std::memory_order_acquire) >> kGenShift;
        if (gen != seen) break;
        if ((i & 31) == 0 && std::chrono::steady_clock::now() > deadline) break;
      }
      if (gen == seen) {
        std::unique_lock<std::mutex> lock(mu_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        cv_.wait(lock, [&] {
          gen = claim_.load(std::memory_order_seq_cst) >> kGenShift;
          return gen != seen;
        });
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
      }
    }
    if (stop_.load(std::memory_order_seq_cst)) return;
    seen = gen;
    drain(gen, index);
  }
}

}  // namespace rwkv::cpu
