#include <gtest/gtest.h>
#include <omp.h>

#include <dirent.h>

#include <thread>
#include <vector>

#include "execution_providers/cpu/dnnl/dnnl_runtime.h"

namespace ferry::ep::cpu::dnnl_rt {
namespace {

// Kernel creation runs weight reorders on one thread between primitive creations; oneDNN sizes
// each primitive by the creating thread's OpenMP count, so execute() must give it back.
TEST(DnnlRuntime, ExecuteRestoresTheCallingThreadsOpenMPCount) {
  const int before = omp_get_max_threads();
  omp_set_num_threads(3);
  std::vector<float> a(64, 1.f), b(64, 0.f);
  dnnl::memory src = wrap({8, 8}, a.data()), dst = wrap({8, 8}, b.data());
  execute(dnnl::reorder(src, dst), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}}, 1);
  EXPECT_EQ(omp_get_max_threads(), 3);
  EXPECT_EQ(b[63], 1.f);
  reorder_to_owned(src, dst.get_desc());
  EXPECT_EQ(omp_get_max_threads(), 3);
  omp_set_num_threads(before);
}

/// Threads of this process now (entries of /proc/self/task).
int process_threads() {
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return -1;
  int n = 0;
  while (const dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

// A weight reorder at kernel creation runs on one thread, so it is created for one too: made
// under the session's count of 2, oneDNN's jit reorder ran its own 2-thread parallel regions
// whatever count execute() set (31 during MobileNetV2's creation). A thread's first parallel
// region of 2 threads starts an OpenMP worker for it, which the thread count shows.
TEST(DnnlRuntime, WeightReordersRunNoParallelRegionUnderASessionCountOfTwo) {
  const int64_t rows = 1024, cols = 512;
  std::vector<float> a(static_cast<size_t>(rows * cols));
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i % 977);
  int started = -1;
  bool equal = false;
  std::thread t([&] {
    omp_set_num_threads(2);
    const int before = process_threads();
    dnnl::memory src = wrap({rows, cols}, a.data());
    const dnnl::memory::desc blocked({rows, cols}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::BA16a64b);
    std::shared_ptr<dnnl::memory> packed = reorder_to_owned(src, blocked);
    started = process_threads() - before;
    // Back to the plain layout through an independent path: equal to the source.
    std::vector<float> back(a.size());
    dnnl::memory plain = wrap({rows, cols}, back.data());
    execute(dnnl::reorder(*packed, plain), {{DNNL_ARG_FROM, *packed}, {DNNL_ARG_TO, plain}}, 1);
    equal = back == a;
  });
  t.join();
  EXPECT_TRUE(equal);
  EXPECT_EQ(started, 0);
}

}  // namespace
}  // namespace ferry::ep::cpu::dnnl_rt
