#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "runtime/parallel_steps.h"

namespace ferry::runtime {
namespace {

// Every task of every step runs exactly once, and only after every task of the step before.
void expect_ordered(int threads, int64_t steps, int64_t tasks, double cost) {
  ThreadPool pool(threads);
  std::vector<std::atomic<int64_t>> finished(static_cast<size_t>(steps));
  std::vector<std::atomic<int>> hits(static_cast<size_t>(steps * tasks));
  std::atomic<int64_t> out_of_order{0};
  parallel_steps(pool, steps, tasks, cost, [&](int64_t s, int64_t b, int64_t e) {
    ASSERT_LE(0, b);
    ASSERT_LT(b, e);
    ASSERT_LE(e, tasks);
    if (s > 0 && finished[s - 1].load() != tasks) out_of_order++;
    for (int64_t t = b; t < e; ++t) hits[s * tasks + t]++;
    finished[s] += e - b;
  });
  EXPECT_EQ(out_of_order.load(), 0);
  for (int64_t i = 0; i < steps * tasks; ++i) ASSERT_EQ(hits[i].load(), 1) << "step " << i / tasks << " task " << i % tasks;
}

TEST(RuntimeParallelSteps, StepsRunInOrderAndCoverEveryTask) {
  for (int threads : {1, 2, 3, 4})
    for (int64_t tasks : {1, 2, 5, 37}) {
      expect_ordered(threads, 40, tasks, 1e5);  // split over the team
      expect_ordered(threads, 40, tasks, 1.0);  // inline
    }
}

TEST(RuntimeParallelSteps, CheapStepsRunInlineInOnePiece) {
  ThreadPool pool(4);
  const std::thread::id caller = std::this_thread::get_id();
  int calls = 0;
  parallel_steps(pool, 10, 100, 1.0, [&](int64_t s, int64_t b, int64_t e) {
    EXPECT_EQ(s, calls);
    EXPECT_EQ(b, 0);
    EXPECT_EQ(e, 100);
    EXPECT_EQ(std::this_thread::get_id(), caller);
    ++calls;
  });
  EXPECT_EQ(calls, 10);
}

TEST(RuntimeParallelSteps, CostlyStepsUseSeveralThreads) {
  ThreadPool pool(2);
  std::mutex mu;
  std::vector<std::thread::id> seen;
  parallel_steps(pool, 20, 8, 1e6, [&](int64_t, int64_t, int64_t) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    std::lock_guard<std::mutex> lock(mu);
    if (std::find(seen.begin(), seen.end(), std::this_thread::get_id()) == seen.end())
      seen.push_back(std::this_thread::get_id());
  });
  EXPECT_EQ(seen.size(), 2u);
}

TEST(RuntimeParallelSteps, SlowThreadDelaysNothingItHasNotClaimed) {
  // One task sleeps long; the steps still complete, in order, with every task run once.
  ThreadPool pool(3);
  std::atomic<int64_t> total{0};
  parallel_steps(pool, 6, 9, 1e5, [&](int64_t s, int64_t b, int64_t e) {
    if (s == 2 && b == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    total += e - b;
  });
  EXPECT_EQ(total.load(), 54);
}

TEST(RuntimeParallelSteps, NestedInParallelForRunsInline) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  pool.parallel_for(4, 1e6, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) parallel_steps(pool, 5, 7, 1e5, [&](int64_t, int64_t tb, int64_t te) { total += te - tb; });
  });
  EXPECT_EQ(total.load(), 4 * 5 * 7);
}

TEST(RuntimeParallelSteps, FirstExceptionIsRethrownAndLaterStepsAreSkipped) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    std::atomic<int64_t> after{0};
    EXPECT_THROW(parallel_steps(pool, 30, 6, 1e5,
                                [&](int64_t s, int64_t b, int64_t e) {
                                  if (s == 4 && b <= 3 && 3 < e) throw std::runtime_error("task 3 of step 4");
                                  if (s > 5) after += e - b;
                                }),
                 std::runtime_error);
    EXPECT_EQ(after.load(), 0) << threads << " threads";
  }
}

}  // namespace
}  // namespace ferry::runtime
