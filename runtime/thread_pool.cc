// The intra-op pool is an OpenMP team. oneDNN (the Debian build threads with OpenMP) runs its
// primitives on the calling thread's OpenMP team too, so every kernel — ours and oneDNN's —
// shares one set of threads per calling thread. Two pools side by side (an Eigen pool for our
// kernels, OpenMP for oneDNN) made each spin while the other worked: at 2 threads on 2 cores
// that cost up to 5x on MobileNetV2.
#include "runtime/thread_pool.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>

namespace ferry::runtime {

namespace {

// Work below this many nanoseconds is not worth waking another thread for: with passive waiting
// (python/ferry/__init__.py) a parallel region costs 30-50 us of wake-up and join on a 2-core VM,
// so work under 2 * kMinChunkCostNs runs whole on the calling thread (splitting 40 us of
// Transpose made it 3x slower).
constexpr double kMinChunkCostNs = 50000.0;
// Chunks per thread: a few, so that uneven chunks and busy threads balance out.
constexpr int64_t kChunksPerThread = 4;

// True while this thread runs a parallel_for body (of any pool): nested calls run inline.
thread_local int tls_parallel_depth = 0;

struct DepthGuard {
  DepthGuard() { ++tls_parallel_depth; }
  ~DepthGuard() { --tls_parallel_depth; }
};

}  // namespace

// Nothing to hold: OpenMP keeps a team per calling thread and reuses it.
ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)) {}

ThreadPool::~ThreadPool() = default;

ScopedThreadCount::ScopedThreadCount(int threads) : previous_(omp_get_max_threads()) {
  omp_set_num_threads(std::max(1, threads));
}

ScopedThreadCount::~ScopedThreadCount() { omp_set_num_threads(previous_); }

void ThreadPool::parallel_for(int64_t n, double cost_per_item,
                              const std::function<void(int64_t, int64_t)>& fn) const {
  if (n <= 0) return;
  const double total_cost = static_cast<double>(n) * std::max(cost_per_item, 0.0);
  const bool inline_run = threads_ <= 1 || tls_parallel_depth > 0 || omp_in_parallel() || n == 1 ||
                          total_cost < 2 * kMinChunkCostNs;
  if (inline_run) {
    fn(0, n);
    return;
  }
  const int64_t by_cost = static_cast<int64_t>(total_cost / kMinChunkCostNs);
  int64_t chunks = std::clamp<int64_t>(by_cost, 1, std::min<int64_t>(n, threads_ * kChunksPerThread));
  const int64_t chunk = (n + chunks - 1) / chunks;
  chunks = (n + chunk - 1) / chunk;
  const int team = static_cast<int>(std::min<int64_t>(chunks, threads_));

  std::atomic<bool> failed{false};
  std::mutex error_mu;
  std::exception_ptr error;
#pragma omp parallel num_threads(team)
  {
    DepthGuard depth;
#pragma omp for schedule(dynamic, 1)
    for (int64_t c = 0; c < chunks; ++c) {
      if (failed.load(std::memory_order_relaxed)) continue;
      try {
        fn(c * chunk, std::min(n, (c + 1) * chunk));
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!error) error = std::current_exception();
        failed.store(true, std::memory_order_relaxed);
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace ferry::runtime
