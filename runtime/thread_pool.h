// The intra-op thread pool that kernels share. One per session, sized by
// SessionOptions::intra_op_num_threads. Its threads are the calling thread's OpenMP team, the
// same threads oneDNN's primitives run on, so our kernels and oneDNN's never compete for cores.
// parallel_for called from inside a pool thread (nested) runs inline, so kernels may call it
// freely. Safe to use from many concurrent runs at once (each calling thread has its own team).
#pragma once

#include <cstdint>
#include <functional>

namespace ferry::runtime {

class ThreadPool {
 public:
  /// threads <= 1: everything runs on the calling thread.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return threads_; }

  /// Calls fn(begin, end) over disjoint ranges covering [0, n) and waits for all of them.
  /// `cost_per_item` (rough nanoseconds) decides how finely to split: cheap work over a small
  /// n runs in one piece. Exceptions thrown by fn are rethrown (the first one) to the caller.
  void parallel_for(int64_t n, double cost_per_item,
                    const std::function<void(int64_t begin, int64_t end)>& fn) const;

 private:
  int threads_;
};

}  // namespace ferry::runtime
