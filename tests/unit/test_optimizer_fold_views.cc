// fold_constants' copy-free path: data-preserving ops (Unsqueeze, Reshape, ...) and contiguous
// unit-step Slices of an initializer fold into tensors sharing its storage; other slices still
// fold through the CPU kernels. Values are checked against the weight's own elements.
#include <gtest/gtest.h>

#include "optimizer/passes.h"
#include "pass_test_util.h"

namespace ferry::optimizer {
namespace {

using testing::expect_close;
using testing::PassTest;
using testing::random_tensor;

Tensor i64(std::vector<int64_t> values) {
  const int64_t n = static_cast<int64_t>(values.size());
  return Tensor::from_vector<int64_t>(DataType::kInt64, {n}, values);
}

const Tensor& folded(PassTest& t, const std::string& output) {
  ir::Value* y = t.graph().find_value(output);
  EXPECT_TRUE(y && y->producer());
  ir::Value* v = y->producer()->input(1);  // the Add's constant operand
  EXPECT_TRUE(v && v->is_initializer());
  return v->initializer();
}

// w: [6, 4], read by the Slice only: a slice of rows is contiguous, one of columns is not.
struct SliceCase {
  std::vector<int64_t> starts, ends, axes;
  int64_t rows_from, rows_to, cols_from, cols_to;
  bool shares;
};

class FoldViews : public ::testing::TestWithParam<SliceCase> {};

TEST_P(FoldViews, SliceOfAWeightFoldsToItsElements) {
  const SliceCase& c = GetParam();
  PassTest t;
  const Tensor w_data = random_tensor({6, 4}, 7);
  ir::Value* w = t.initializer("w", w_data);
  const int64_t rows = c.rows_to - c.rows_from, cols = c.cols_to - c.cols_from;
  ir::Value* x = t.input("x", {rows, cols});
  ir::Value* s = t.node("Slice", {w, t.initializer("st", i64(c.starts)), t.initializer("en", i64(c.ends)),
                                  t.initializer("ax", i64(c.axes)), t.initializer("sp", i64(std::vector<int64_t>(c.axes.size(), 1)))});
  t.output(t.node("Add", {x, s}, {}, "y"));
  const Tensor in = random_tensor({rows, cols}, 3);
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fold_constants));
  const Tensor& f = folded(t, "y");
  ASSERT_EQ(f.shape(), (std::vector<int64_t>{rows, cols}));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k)
      EXPECT_EQ(f.data<float>()[r * cols + k], w_data.data<float>()[(c.rows_from + r) * 4 + c.cols_from + k]);
  const bool shares = f.raw_data() == w_data.data<float>() + c.rows_from * 4;
  EXPECT_EQ(shares, c.shares);
  expect_close(t.run({{"x", in}}), before);
}

INSTANTIATE_TEST_SUITE_P(
    FoldConstants, FoldViews,
    ::testing::Values(SliceCase{{2}, {5}, {0}, 2, 5, 0, 4, true},           // rows: contiguous, half of w
                      SliceCase{{-4}, {100}, {0}, 2, 6, 0, 4, true},        // negative start, clamped end
                      SliceCase{{1}, {2}, {0}, 1, 2, 0, 4, false},          // a sixth of w, its only reader: copied
                      SliceCase{{0}, {3}, {1}, 0, 6, 0, 3, false},          // columns: not contiguous
                      SliceCase{{0}, {6}, {-2}, 0, 6, 0, 4, true}));        // the whole of w

TEST(FoldConstantsViews, UnsqueezeAndReshapeShareTheWeight) {
  PassTest t;
  const Tensor w_data = random_tensor({2, 3}, 5);
  ir::Value* w = t.initializer("w", w_data);
  ir::Value* x = t.input("x", {1, 2, 3});
  ir::Value* u = t.node("Unsqueeze", {w, t.initializer("axes", i64({0}))});
  ir::Value* r = t.node("Reshape", {w, t.initializer("shape", i64({1, 6}))});
  t.output(t.node("Add", {x, u}, {}, "y"));
  t.output(t.node("Add", {t.input("z", {1, 6}), r}, {}, "y2"));
  const Tensor in = random_tensor({1, 2, 3}, 1), in2 = random_tensor({1, 6}, 2);
  auto before = t.run({{"x", in}, {"z", in2}});
  EXPECT_TRUE(t.run_pass(passes::fold_constants));
  EXPECT_EQ(folded(t, "y").shape(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(folded(t, "y").raw_data(), w_data.raw_data());
  EXPECT_EQ(folded(t, "y2").shape(), (std::vector<int64_t>{1, 6}));
  EXPECT_EQ(folded(t, "y2").raw_data(), w_data.raw_data());
  expect_close(t.run({{"x", in}, {"z", in2}}), before);
}

}  // namespace
}  // namespace ferry::optimizer
