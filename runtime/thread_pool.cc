#include "runtime/thread_pool.h"

#define EIGEN_USE_THREADS
#include <unsupported/Eigen/CXX11/ThreadPool>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>

namespace ferry::runtime {

namespace {

// Work below this many nanoseconds is not worth waking another thread for.
constexpr double kMinChunkCostNs = 20000.0;
// Chunks per thread: a few, so that uneven chunks and busy threads balance out.
constexpr int64_t kChunksPerThread = 4;

// True while this thread runs a parallel_for body (of any pool): nested calls run inline.
thread_local int tls_parallel_depth = 0;

struct DepthGuard {
  DepthGuard() { ++tls_parallel_depth; }
  ~DepthGuard() { --tls_parallel_depth; }
};

// Shared by the caller and the helpers of one parallel_for. Helpers hold it by shared_ptr, so a
// helper that starts after the caller has finished finds no chunk left and touches nothing else.
struct ForState {
  int64_t n = 0, chunk = 0, chunks = 0;
  const std::function<void(int64_t, int64_t)>* fn = nullptr;
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::condition_variable done_cv;
  int64_t done = 0;
  std::exception_ptr error;

  // Claims and runs chunks until none is left.
  void work() {
    DepthGuard depth;
    for (;;) {
      int64_t c = next.fetch_add(1, std::memory_order_relaxed);
      if (c >= chunks) return;
      if (!failed.load(std::memory_order_relaxed)) {
        int64_t begin = c * chunk, end = std::min(n, begin + chunk);
        try {
          (*fn)(begin, end);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mu);
          if (!error) error = std::current_exception();
          failed.store(true, std::memory_order_relaxed);
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      if (++done == chunks) done_cv.notify_all();
    }
  }
};

}  // namespace

struct ThreadPool::Impl {
  explicit Impl(int workers) : pool(workers) {}
  Eigen::ThreadPool pool;
};

ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)) {
  // The calling thread takes part in every parallel_for, so the pool holds one thread fewer.
  if (threads_ > 1) impl_ = std::make_unique<Impl>(threads_ - 1);
}

ThreadPool::~ThreadPool() = default;

void ThreadPool::parallel_for(int64_t n, double cost_per_item,
                              const std::function<void(int64_t, int64_t)>& fn) const {
  if (n <= 0) return;
  double total_cost = static_cast<double>(n) * std::max(cost_per_item, 0.0);
  bool inline_run = !impl_ || tls_parallel_depth > 0 || impl_->pool.CurrentThreadId() >= 0 ||
                    n == 1 || total_cost < 2 * kMinChunkCostNs;
  if (inline_run) {
    fn(0, n);
    return;
  }
  int64_t by_cost = static_cast<int64_t>(total_cost / kMinChunkCostNs);
  int64_t chunks = std::clamp<int64_t>(by_cost, 1, std::min<int64_t>(n, threads_ * kChunksPerThread));
  auto state = std::make_shared<ForState>();
  state->n = n;
  state->chunk = (n + chunks - 1) / chunks;
  state->chunks = (n + state->chunk - 1) / state->chunk;
  state->fn = &fn;
  int helpers = static_cast<int>(std::min<int64_t>(state->chunks - 1, threads_ - 1));
  for (int h = 0; h < helpers; ++h) impl_->pool.Schedule([state] { state->work(); });
  state->work();
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(state->mu);
    state->done_cv.wait(lock, [&] { return state->done == state->chunks; });
    // Taken out of the shared state: a helper may drop the last reference to it later.
    error = std::move(state->error);
    state->error = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace ferry::runtime
