#include <gtest/gtest.h>
#include <omp.h>

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

}  // namespace
}  // namespace ferry::ep::cpu::dnnl_rt
