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

/// Sets the calling thread's OpenMP thread count for its lifetime and restores the previous
/// count after. oneDNN fixes a primitive's thread split when the primitive is created (from this
/// count) and runs it on that many threads whatever the count is when it runs, so kernel
/// creation, each run and each constant fold hold one: a session of N threads then makes and
/// runs its primitives with N, not with the process default (one per core).
class ScopedThreadCount {
 public:
  explicit ScopedThreadCount(int threads);
  ~ScopedThreadCount();
  ScopedThreadCount(const ScopedThreadCount&) = delete;
  ScopedThreadCount& operator=(const ScopedThreadCount&) = delete;

 private:
  int previous_;
};

}  // namespace ferry::runtime
