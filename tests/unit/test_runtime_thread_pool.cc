#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "runtime/thread_pool.h"

namespace ferry::runtime {
namespace {

// Each index of [0, n) is visited exactly once.
void expect_covers(const ThreadPool& pool, int64_t n, double cost) {
  std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
  pool.parallel_for(n, cost, [&](int64_t b, int64_t e) {
    ASSERT_LE(0, b);
    ASSERT_LE(b, e);
    ASSERT_LE(e, n);
    for (int64_t i = b; i < e; ++i) hits[i]++;
  });
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "index " << i;
}

TEST(RuntimeThreadPool, CoversRangeExactlyOnce) {
  ThreadPool pool(4);
  EXPECT_EQ(pool.num_threads(), 4);
  for (int64_t n : {0, 1, 2, 7, 64, 1000, 100003}) {
    expect_covers(pool, n, 1.0);
    expect_covers(pool, n, 1e6);
  }
}

TEST(RuntimeThreadPool, SingleThreadRunsInlineInOnePiece) {
  ThreadPool pool(1);
  int calls = 0;
  std::thread::id caller = std::this_thread::get_id();
  pool.parallel_for(1000, 1e9, [&](int64_t b, int64_t e) {
    ++calls;
    EXPECT_EQ(b, 0);
    EXPECT_EQ(e, 1000);
    EXPECT_EQ(std::this_thread::get_id(), caller);
  });
  EXPECT_EQ(calls, 1);
}

TEST(RuntimeThreadPool, CheapWorkIsNotSplit) {
  ThreadPool pool(4);
  std::atomic<int> calls{0};
  pool.parallel_for(100, 1.0, [&](int64_t, int64_t) { calls++; });
  EXPECT_EQ(calls.load(), 1);
}

TEST(RuntimeThreadPool, ExpensiveWorkUsesSeveralThreads) {
  ThreadPool pool(4);
  std::atomic<int> calls{0};
  pool.parallel_for(64, 1e6, [&](int64_t, int64_t) {
    calls++;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  EXPECT_GT(calls.load(), 1);
}

TEST(RuntimeThreadPool, NestedCallsRunInlineAndComplete) {
  ThreadPool pool(4);
  std::atomic<int64_t> total{0};
  pool.parallel_for(16, 1e6, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      int inner_calls = 0;
      pool.parallel_for(100, 1e6, [&](int64_t ib, int64_t ie) {
        ++inner_calls;  // inline: no race on this plain int
        total += ie - ib;
      });
      EXPECT_EQ(inner_calls, 1);
    }
  });
  EXPECT_EQ(total.load(), 1600);
}

TEST(RuntimeThreadPool, FirstExceptionIsRethrown) {
  ThreadPool pool(4);
  EXPECT_THROW(pool.parallel_for(1000, 1e6,
                                 [&](int64_t b, int64_t e) {
                                   for (int64_t i = b; i < e; ++i)
                                     if (i == 517) throw std::runtime_error("boom at 517");
                                 }),
               std::runtime_error);
  // The pool still works afterwards.
  expect_covers(pool, 5000, 1e5);
  try {
    pool.parallel_for(10, 1e9, [](int64_t, int64_t) { throw std::invalid_argument("bad"); });
    FAIL() << "expected a throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "bad");
  }
}

TEST(RuntimeThreadPool, ConcurrentCallersShareOnePool) {
  ThreadPool pool(3);
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&, t] {
      for (int rep = 0; rep < 50; ++rep) {
        int64_t n = 1000 + t * 37 + rep;
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        pool.parallel_for(n, 1e4, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) hits[i]++;
        });
        for (int64_t i = 0; i < n; ++i)
          if (hits[i].load() != 1) failures++;
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace ferry::runtime
