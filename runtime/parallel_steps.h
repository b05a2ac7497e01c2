// Dependent steps of independent tasks on the intra-op pool, for recurrences (RNN/GRU/LSTM time
// steps): one parallel region (one wake-up, one join) for the whole sequence, where a
// parallel_for per step would pay both every step.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "runtime/thread_pool.h"

namespace ferry::runtime {

namespace parallel_steps_detail {

// A step must cost this much (ns) to be split: a step boundary costs each thread about a
// microsecond of cache-line traffic, so smaller steps run faster on one thread.
constexpr double kMinStepCostNs = 8000.0;
// Tasks claimed at once: each claim and completion writes a line other threads read, so claims
// are a few microseconds of work (but a slice is still split in two, for stealing).
constexpr double kMinClaimCostNs = 4000.0;
// How long a waiting thread polls the completion counts before it sleeps: longer than a step's
// usual imbalance plus a sleeping thread's wake-up (30-50 us on a 2-core VM), short next to a
// time slice. Sleeping, not spinning or yielding, is what keeps a busy machine fast: the
// scheduler runs a thread that slept as soon as it is woken, while one that spun has used up its
// share of the core (LSTM at 2 threads beside other work: 10x slower when yielding).
constexpr std::chrono::microseconds kSpinTime{100};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

/// One thread's slice of the tasks, counted over all steps (step s owns counts
/// [s * size, (s + 1) * size)), so no count is ever reset. On a cache line of its own: only its
/// owner writes it, unless another thread steals.
struct alignas(64) Slice {
  std::atomic<int64_t> claimed{0};  ///< tasks handed out
  std::atomic<int64_t> done{0};     ///< tasks finished
};

/// Shared state of one parallel_steps call: slice p's tasks are [begin(p), begin(p + 1)).
struct Steps {
  int64_t steps, tasks, slices, grain;
  const std::function<void(int64_t, int64_t, int64_t)>& fn;
  std::unique_ptr<Slice[]> slice{};
  alignas(64) std::atomic<bool> failed{false};
  std::mutex error_mu{};
  std::exception_ptr error{};

  int64_t begin(int64_t p) const { return p * tasks / slices; }
  int64_t size(int64_t p) const { return begin(p + 1) - begin(p); }

  /// Claims and runs up to `grain` tasks of slice p in step s; false when the slice has none left.
  bool run_some(int64_t p, int64_t s) {
    Slice& sl = slice[static_cast<size_t>(p)];
    const int64_t n = size(p), end = (s + 1) * n;
    int64_t cur = sl.claimed.load(std::memory_order_relaxed);
    int64_t next;
    do {
      if (cur >= end) return false;
      next = std::min(cur + grain, end);
    } while (!sl.claimed.compare_exchange_weak(cur, next, std::memory_order_relaxed));
    if (!failed.load(std::memory_order_relaxed)) {
      try {
        fn(s, begin(p) + cur - s * n, begin(p) + next - s * n);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!error) error = std::current_exception();
        failed.store(true, std::memory_order_relaxed);
      }
    }
    sl.done.fetch_add(next - cur, std::memory_order_release);
    sl.done.notify_all();  // cheap unless a thread sleeps on it
    return true;
  }

  /// The first slice with unfinished tasks in steps [0, s], or -1 when step s is complete.
  int64_t unfinished_slice(int64_t s) const {
    for (int64_t p = 0; p < slices; ++p)
      if (slice[static_cast<size_t>(p)].done.load(std::memory_order_acquire) < (s + 1) * size(p)) return p;
    return -1;
  }
  bool step_done(int64_t s) const { return unfinished_slice(s) < 0; }

  /// Waits until step s is complete: spins, then sleeps on the unfinished slice's count.
  void wait_step(int64_t s) const {
    const auto spin_end = std::chrono::steady_clock::now() + kSpinTime;
    for (int64_t polls = 1;; ++polls) {
      const int64_t p = unfinished_slice(s);
      if (p < 0) return;
      if (polls % 64 != 0 || std::chrono::steady_clock::now() < spin_end) {  // the clock: every 64th poll
        cpu_relax();
        continue;
      }
      const std::atomic<int64_t>& done = slice[static_cast<size_t>(p)].done;
      const int64_t seen = done.load(std::memory_order_acquire);
      if (seen < (s + 1) * size(p)) done.wait(seen, std::memory_order_acquire);
    }
  }

  /// Thread `me`'s share: its own slice each step, then what others left; waits between steps.
  void work(int64_t me) {
    int64_t s = 0;
    while (s < steps && step_done(s)) ++s;  // a late thread joins at the current step
    for (; s < steps; ++s) {
      for (int64_t q = 0; q < slices; ++q)
        while (run_some((me + q) % slices, s)) {
        }
      wait_step(s);
    }
  }
};

}  // namespace parallel_steps_detail

/// Calls fn(step, begin, end) over disjoint task ranges covering [0, tasks) for every step in
/// [0, steps), in step order: every task of step s returns before any task of step s + 1 starts
/// (fn may read what step s - 1 wrote anywhere). `cost_per_task` (rough nanoseconds) decides:
/// steps too cheap to split, or too few threads or tasks, run on the calling thread.
///
/// With a team, each thread owns a fixed slice of the tasks and runs that slice every step (so
/// the data it touches, e.g. a block of weights, stays in its cache), then takes unclaimed tasks
/// of other slices: a thread the OS does not schedule delays no step it has not started. Threads
/// wait for a step's last task by spinning briefly, then sleeping. The first exception
/// fn throws is rethrown to the caller (after the remaining tasks are skipped).
inline void parallel_steps(const ThreadPool& pool, int64_t steps, int64_t tasks, double cost_per_task,
                           const std::function<void(int64_t, int64_t, int64_t)>& fn) {
  using namespace parallel_steps_detail;
  if (steps <= 0 || tasks <= 0) return;
  const double step_cost = static_cast<double>(tasks) * std::max(cost_per_task, 0.0);
  const int64_t team = std::min<int64_t>(pool.num_threads(), tasks);
  if (team <= 1 || step_cost < kMinStepCostNs) {
    for (int64_t s = 0; s < steps; ++s) fn(s, 0, tasks);
    return;
  }
  Steps st{steps, tasks, team, 1, fn};
  st.grain = std::clamp<int64_t>(static_cast<int64_t>(kMinClaimCostNs / std::max(cost_per_task, 1.0)), 1,
                                 std::max<int64_t>(1, tasks / team / 2));
  st.slice.reset(new Slice[static_cast<size_t>(team)]);
  // One chunk per thread; nested or single-threaded, parallel_for runs them all here, in turn.
  pool.parallel_for(team, 1e12, [&](int64_t first, int64_t last) {
    for (int64_t me = first; me < last; ++me) st.work(me);
  });
  if (st.error) std::rethrow_exception(st.error);
}

}  // namespace ferry::runtime
