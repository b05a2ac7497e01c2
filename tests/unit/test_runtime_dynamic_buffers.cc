// ArenaPool's recycling of dynamic values' storage (runtime/executor.h).
#include <gtest/gtest.h>

#include "runtime/executor.h"

namespace ferry::runtime {
namespace {

TEST(DynamicBuffers, LargeBufferIsReusedForItsSize) {
  ArenaPool pool;
  Tensor a = pool.dynamic_tensor(DataType::kFloat, {197, 768});
  const void* first = a.raw_data();
  a.data<float>()[0] = 1.0f;
  a = Tensor();  // last reader done: back to the pool
  Tensor b = pool.dynamic_tensor(DataType::kFloat, {768, 197});  // same bytes, other shape
  EXPECT_EQ(b.raw_data(), first);
  EXPECT_EQ(b.shape(), (std::vector<int64_t>{768, 197}));
  Tensor c = pool.dynamic_tensor(DataType::kFloat, {197, 768});  // b still held: a new buffer
  EXPECT_NE(c.raw_data(), first);
  Tensor d = pool.dynamic_tensor(DataType::kFloat, {300, 768});  // another size: a new buffer
  EXPECT_NE(d.raw_data(), first);
  EXPECT_NE(d.raw_data(), c.raw_data());
}

TEST(DynamicBuffers, SmallAndStringTensorsAreOrdinary) {
  ArenaPool pool;
  Tensor small = pool.dynamic_tensor(DataType::kFloat, {16, 16});
  EXPECT_EQ(small.element_count(), 256);
  Tensor strings = pool.dynamic_tensor(DataType::kString, {3});
  strings.data<std::string>()[2] = "kept";
  EXPECT_EQ(strings.data<std::string>()[2], "kept");
  Tensor empty = pool.dynamic_tensor(DataType::kFloat, {0, 100000});
  EXPECT_EQ(empty.element_count(), 0);
}

TEST(DynamicBuffers, TensorMayOutliveThePool) {
  Tensor kept;
  {
    ArenaPool pool;
    kept = pool.dynamic_tensor(DataType::kFloat, {512, 512});
    kept.data<float>()[512 * 512 - 1] = 2.0f;
  }
  EXPECT_EQ(kept.data<float>()[512 * 512 - 1], 2.0f);  // freed by the tensor (ASan checks)
}

TEST(DynamicBuffers, FreeBytesStayBounded) {
  ArenaPool pool;
  // One buffer of 1 MiB in use at a time: the pool never keeps more than 2 MiB free, so a
  // stream of ever-new sizes does not grow it without bound.
  const size_t first = (size_t{1} << 20);
  for (int64_t i = 0; i < 64; ++i) {
    Tensor t = pool.dynamic_tensor(DataType::kUInt8, {static_cast<int64_t>(first) + i * 4096});
    t = Tensor();
    EXPECT_LE(pool.kept_bytes(), 2 * (first + static_cast<size_t>(i) * 4096));
  }
  EXPECT_GE(pool.kept_bytes(), first);  // the last buffers are kept
}

}  // namespace
}  // namespace ferry::runtime
