// optimizer/passes: the basic-level arithmetic fusions: fold_batch_norm_into_conv,
// fold_mul_add_into_conv, fuse_matmul_add_into_gemm, fold_quantize_dequantize. Each has a
// positive case with golden IR and numeric parity, and negative cases that must not fire.

#include <gtest/gtest.h>

#include <cmath>

#include "optimizer/passes.h"
#include "pass_test_util.h"

namespace ferry::optimizer {
namespace {

using ir::Attribute;
using testing::expect_close;
using testing::PassTest;
using testing::random_tensor;

/// N(0,1) mapped to [0.5, inf): BatchNorm variances and scales that keep sqrt well away from 0.
Tensor positive_tensor(std::vector<int64_t> shape, uint32_t seed) {
  Tensor t = random_tensor(std::move(shape), seed);
  for (float& v : t.span<float>()) v = 0.5f + std::fabs(v);
  return t;
}

Tensor floats(std::vector<int64_t> shape, std::vector<float> values) {
  return Tensor::from_vector<float>(DataType::kFloat, std::move(shape), values);
}

const Tensor& initializer_named(PassTest& t, const std::string& name) {
  ir::Value* v = t.graph().find_value(name);
  EXPECT_TRUE(v && v->is_initializer()) << name;
  return v->initializer();
}

// ---- fold_batch_norm_into_conv ------------------------------------------------------------------

/// Conv(x, w[, b]) -> BatchNormalization -> y, with random weights and statistics.
struct ConvBn {
  PassTest t{15};
  ir::Value* x = nullptr;
  ir::Value* conv = nullptr;
  ir::Value* y = nullptr;

  explicit ConvBn(const std::string& op = "Conv", std::vector<int64_t> w_shape = {4, 3, 3, 3}, int64_t group = 1,
                  bool with_bias = true, int64_t x_channels = 3) {
    const int64_t m = op == "Conv" ? w_shape[0] : w_shape[1] * group;
    x = t.input("x", {"n", x_channels, 5, 5});
    std::vector<ir::Value*> conv_inputs = {x, t.initializer("w", random_tensor(w_shape, 2))};
    if (with_bias) conv_inputs.push_back(t.initializer("b", random_tensor({m}, 3)));
    std::vector<Attribute> attrs = {Attribute::make_ints("pads", {1, 1, 1, 1})};
    if (group != 1) attrs.push_back(Attribute::make_int("group", group));
    conv = t.node(op, conv_inputs, attrs, "conv_out");
    t.last_node()->set_name("conv");
    y = t.node("BatchNormalization",
               {conv, t.initializer("scale", random_tensor({m}, 4)), t.initializer("beta", random_tensor({m}, 5)),
                t.initializer("mean", random_tensor({m}, 6)), t.initializer("var", positive_tensor({m}, 7))},
               {Attribute::make_float("epsilon", 1e-3f)}, "y");
  }
  std::vector<Tensor> run() { return t.run({{"x", random_tensor({2, conv_x_channels(), 5, 5}, 11)}}); }
  int64_t conv_x_channels() { return x->shape().dims[1].value(); }
};

TEST(ArithFusionBatchNorm, FoldsIntoConvWithBias) {
  ConvBn g;
  g.t.output(g.y);
  auto before = g.run();
  EXPECT_TRUE(g.t.run_pass(passes::fold_batch_norm_into_conv));
  EXPECT_EQ(g.t.print(),
            "graph main (x: float[n,3,5,5], w: float[4,3,3,3] = initializer, b: float[4] = initializer, "
            "scale: float[4] = initializer, beta: float[4] = initializer, mean: float[4] = initializer, "
            "var: float[4] = initializer, w_bn: float[4,3,3,3] = initializer, b_bn_bias: float[4] = initializer) "
            "-> (y: float[n,4,5,5]) {\n"
            "  y = Conv(x, w_bn, b_bn_bias) {pads=[1,1,1,1]}  # node 'conv'\n"
            "}\n");
  // The folded values, checked against the formula element by element.
  const Tensor& w = initializer_named(g.t, "w");
  const Tensor& w_bn = initializer_named(g.t, "w_bn");
  const Tensor& b_bn = initializer_named(g.t, "b_bn_bias");
  const float* b = initializer_named(g.t, "b").data<float>();
  const float* scale = initializer_named(g.t, "scale").data<float>();
  const float* beta = initializer_named(g.t, "beta").data<float>();
  const float* mean = initializer_named(g.t, "mean").data<float>();
  const float* var = initializer_named(g.t, "var").data<float>();
  for (int64_t i = 0; i < w.element_count(); ++i) {
    const int64_t oc = i / 27;
    const double s = scale[oc] / std::sqrt(static_cast<double>(var[oc]) + 1e-3);
    EXPECT_NEAR(w_bn.data<float>()[i], w.data<float>()[i] * s, 1e-6);
  }
  for (int64_t oc = 0; oc < 4; ++oc) {
    const double s = scale[oc] / std::sqrt(static_cast<double>(var[oc]) + 1e-3);
    EXPECT_NEAR(b_bn.data<float>()[oc], (b[oc] - mean[oc]) * s + beta[oc], 1e-6);
  }
  expect_close(g.run(), before);
  EXPECT_FALSE(g.t.run_pass(passes::fold_batch_norm_into_conv));
}

TEST(ArithFusionBatchNorm, DepthwiseConvWithoutBiasGetsABias) {
  ConvBn g("Conv", {4, 1, 3, 3}, 4, false, 4);
  g.t.output(g.y);
  auto before = g.run();
  EXPECT_TRUE(g.t.run_pass(passes::fold_batch_norm_into_conv));
  EXPECT_EQ(g.t.print(),
            "graph main (x: float[n,4,5,5], w: float[4,1,3,3] = initializer, scale: float[4] = initializer, "
            "beta: float[4] = initializer, mean: float[4] = initializer, var: float[4] = initializer, "
            "w_bn: float[4,1,3,3] = initializer, w_bn_bias: float[4] = initializer) -> (y: float[n,4,5,5]) {\n"
            "  y = Conv(x, w_bn, w_bn_bias) {group=4, pads=[1,1,1,1]}  # node 'conv'\n"
            "}\n");
  expect_close(g.run(), before);
}

TEST(ArithFusionBatchNorm, GroupedConvTransposeScalesItsOutputChannels) {
  // ConvTranspose weight [C_in=4, M/group=3, 3, 3] with group 2: 6 output channels; channel of
  // element (c, j) is (c / 2) * 3 + j. Parity fails if the layout is read as Conv's.
  ConvBn g("ConvTranspose", {4, 3, 3, 3}, 2, true, 4);
  g.t.output(g.y);
  auto before = g.run();
  EXPECT_TRUE(g.t.run_pass(passes::fold_batch_norm_into_conv));
  EXPECT_EQ(g.t.print(),
            "graph main (x: float[n,4,5,5], w: float[4,3,3,3] = initializer, b: float[6] = initializer, "
            "scale: float[6] = initializer, beta: float[6] = initializer, mean: float[6] = initializer, "
            "var: float[6] = initializer, w_bn: float[4,3,3,3] = initializer, b_bn_bias: float[6] = initializer) "
            "-> (y: float[n,6,5,5]) {\n"
            "  y = ConvTranspose(x, w_bn, b_bn_bias) {group=2, pads=[1,1,1,1]}  # node 'conv'\n"
            "}\n");
  expect_close(g.run(), before);
}

TEST(ArithFusionBatchNorm, SharedWeightIsNotEditedInPlace) {
  ConvBn g;
  g.t.output(g.y);
  ir::Value* w = g.t.graph().find_value("w");
  const Tensor w_before = w->initializer().clone();
  g.t.output(g.t.node("Conv", {g.x, w}, {}, "z"));
  auto before = g.run();
  EXPECT_TRUE(g.t.run_pass(passes::fold_batch_norm_into_conv));
  ASSERT_EQ(w->uses().size(), 1u);
  EXPECT_EQ(w->uses()[0].node->output(0)->name(), "z");
  EXPECT_EQ(0, std::memcmp(w->initializer().raw_data(), w_before.raw_data(), w_before.byte_size()));
  expect_close(g.run(), before);
}

TEST(ArithFusionBatchNorm, DoesNotFireOnANonConstantWeight) {
  PassTest t(15);
  ir::Value* x = t.input("x", {1, 3, 5, 5});
  ir::Value* w = t.input("w", {4, 3, 3, 3});
  ir::Value* c = t.node("Conv", {x, w});
  t.output(t.node("BatchNormalization",
                  {c, t.initializer("s", random_tensor({4})), t.initializer("b", random_tensor({4})),
                   t.initializer("m", random_tensor({4})), t.initializer("v", positive_tensor({4}, 1))},
                  {}, "y"));
  EXPECT_FALSE(t.run_pass(passes::fold_batch_norm_into_conv));
}

TEST(ArithFusionBatchNorm, DoesNotFireOnAnOverridableWeight) {
  // An initializer that is also a graph input may be replaced by the caller at run time.
  ConvBn g;
  g.t.output(g.y);
  g.t.graph().add_input(g.t.graph().find_value("w"));
  EXPECT_FALSE(g.t.run_pass(passes::fold_batch_norm_into_conv));
}

TEST(ArithFusionBatchNorm, DoesNotFireOnANonConstantStatistic) {
  PassTest t(15);
  ir::Value* x = t.input("x", {1, 3, 5, 5});
  ir::Value* c = t.node("Conv", {x, t.initializer("w", random_tensor({4, 3, 3, 3}))});
  t.output(t.node("BatchNormalization",
                  {c, t.initializer("s", random_tensor({4})), t.initializer("b", random_tensor({4})),
                   t.input("m", {4}), t.initializer("v", positive_tensor({4}, 1))},
                  {}, "y"));
  EXPECT_FALSE(t.run_pass(passes::fold_batch_norm_into_conv));
}

TEST(ArithFusionBatchNorm, DoesNotFireWhenTheConvOutputHasASecondConsumer) {
  ConvBn g;
  g.t.output(g.y);
  g.t.output(g.t.node("Relu", {g.conv}, {}, "z"));
  EXPECT_FALSE(g.t.run_pass(passes::fold_batch_norm_into_conv));
}

TEST(ArithFusionBatchNorm, DoesNotFireWhenTheConvOutputIsAGraphOutput) {
  ConvBn g;
  g.t.output(g.y);
  g.t.output(g.conv);
  EXPECT_FALSE(g.t.run_pass(passes::fold_batch_norm_into_conv));
}

TEST(ArithFusionBatchNorm, DoesNotFireInTrainingMode) {
  ConvBn g;
  g.t.output(g.y);
  for (ir::Node* n : g.t.graph().nodes())
    if (n->op_type() == "BatchNormalization") n->set_attribute(Attribute::make_int("training_mode", 1));
  EXPECT_FALSE(g.t.run_pass(passes::fold_batch_norm_into_conv));
}

TEST(ArithFusionBatchNorm, BasicLevelFoldsConvAddBatchNormAndSweepsTheOldWeights) {
  // Conv -> Add(per-channel constant) -> BatchNormalization: Add folds first, then the BN, and
  // the level's dead-code pass removes the initializers nothing reads any more.
  PassTest t(15);
  ir::Value* x = t.input("x", {"n", 3, 5, 5});
  ir::Value* conv = t.node("Conv", {x, t.initializer("w", random_tensor({4, 3, 3, 3}, 2))},
                           {Attribute::make_ints("pads", {1, 1, 1, 1})});
  ir::Value* add = t.node("Add", {conv, t.initializer("d", random_tensor({4, 1, 1}, 3))});
  t.output(t.node("BatchNormalization",
                  {add, t.initializer("scale", random_tensor({4}, 4)), t.initializer("beta", random_tensor({4}, 5)),
                   t.initializer("mean", random_tensor({4}, 6)), t.initializer("var", positive_tensor({4}, 7))},
                  {}, "y"));
  const Tensor in = random_tensor({2, 3, 5, 5}, 8);
  auto before = t.run({{"x", in}});
  t.run_level(GraphOptimizationLevel::kBasic);
  EXPECT_EQ(t.print(),
            "graph main (x: float[n,3,5,5], w_bn: float[4,3,3,3] = initializer, "
            "w_bias_add_bn_bias: float[4] = initializer) -> (y: float[n,4,5,5]) {\n"
            "  y = Conv(x, w_bn, w_bias_add_bn_bias) {pads=[1,1,1,1]}\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
}

TEST(ArithFusionBatchNorm, FoldsInsideAnIfBranchWithOuterScopeWeights) {
  // The branch reads W and the statistics from the main graph; the folded weights are new
  // initializers of the branch, and W stays for the other branch.
  PassTest t(15);
  ir::Value* cond = t.input("cond", {}, DataType::kBool);
  ir::Value* x = t.input("x", {1, 3, 5, 5});
  ir::Value* w = t.initializer("w", random_tensor({4, 3, 3, 3}, 2));
  std::vector<ir::Value*> stats = {t.initializer("scale", random_tensor({4}, 4)),
                                   t.initializer("beta", random_tensor({4}, 5)),
                                   t.initializer("mean", random_tensor({4}, 6)),
                                   t.initializer("var", positive_tensor({4}, 7))};
  ir::Node* iff = t.graph().add_node("If", {cond}, {"y"});
  auto then_g = std::make_shared<ir::Graph>("then", &t.graph());
  ir::Node* conv = then_g->add_node("Conv", {x, w}, {"c"});
  std::vector<ir::Value*> bn_inputs = {conv->output(0)};
  bn_inputs.insert(bn_inputs.end(), stats.begin(), stats.end());
  then_g->add_output(then_g->add_node("BatchNormalization", bn_inputs, {"t"})->output(0));
  auto else_g = std::make_shared<ir::Graph>("else", &t.graph());
  else_g->add_output(else_g->add_node("Conv", {x, w}, {"u"})->output(0));
  iff->set_attribute(Attribute::make_graph("then_branch", then_g));
  iff->set_attribute(Attribute::make_graph("else_branch", else_g));
  t.output(iff->output(0));
  const Tensor in = random_tensor({1, 3, 5, 5}, 8);
  auto feeds = [&](bool c) {
    return std::vector<NamedTensor>{{"cond", Tensor::from_vector<bool>(DataType::kBool, {}, {c})}, {"x", in}};
  };
  auto before_then = t.run(feeds(true));
  auto before_else = t.run(feeds(false));
  t.run_level(GraphOptimizationLevel::kBasic);
  EXPECT_EQ(t.print(),
            "graph main (cond: bool[], x: float[1,3,5,5], w: float[4,3,3,3] = initializer) -> (y: float[1,4,3,3]) {\n"
            "  y = If(cond) {else_branch=graph else () -> (u: float[1,4,3,3]) {\n"
            "    u = Conv(x, w)\n"
            "  }, then_branch=graph then (w_bn: float[4,3,3,3] = initializer, w_bn_bias: float[4] = initializer) "
            "-> (t: float[1,4,3,3]) {\n"
            "    t = Conv(x, w_bn, w_bn_bias)\n"
            "  }}\n"
            "}\n");
  expect_close(t.run(feeds(true)), before_then);
  expect_close(t.run(feeds(false)), before_else);
}

// ---- fold_mul_add_into_conv ---------------------------------------------------------------------

/// Conv(x[1,3,4,4], w[4,3,3,3][, b]) with padding 1, so the output is [1,4,4,4].
struct ConvOut {
  PassTest t;
  ir::Value* x = nullptr;
  ir::Value* conv = nullptr;
  explicit ConvOut(bool with_bias = true) {
    x = t.input("x", {1, 3, 4, 4});
    std::vector<ir::Value*> in = {x, t.initializer("w", random_tensor({4, 3, 3, 3}, 2))};
    if (with_bias) in.push_back(t.initializer("b", random_tensor({4}, 3)));
    conv = t.node("Conv", in, {Attribute::make_ints("pads", {1, 1, 1, 1})}, "conv_out");
  }
  std::vector<Tensor> run() { return t.run({{"x", random_tensor({1, 3, 4, 4}, 9)}}); }
};

TEST(ArithFusionMulAdd, FoldsMulThenAddIntoWeightsAndBias) {
  ConvOut g;
  ir::Value* m = g.t.node("Mul", {g.conv, g.t.initializer("c", random_tensor({4, 1, 1}, 4))});
  g.t.output(g.t.node("Add", {m, g.t.initializer("d", random_tensor({1, 4, 1, 1}, 5))}, {}, "y"));
  auto before = g.run();
  EXPECT_TRUE(g.t.run_pass(passes::fold_mul_add_into_conv));
  EXPECT_EQ(g.t.print(),
            "graph main (x: float[1,3,4,4], w: float[4,3,3,3] = initializer, b: float[4] = initializer, "
            "c: float[4,1,1] = initializer, d: float[1,4,1,1] = initializer, w_mul: float[4,3,3,3] = initializer, "
            "b_mul: float[4] = initializer, b_mul_add: float[4] = initializer) -> (y: float[1,4,4,4]) {\n"
            "  y = Conv(x, w_mul, b_mul_add) {pads=[1,1,1,1]}\n"
            "}\n");
  const float* w = initializer_named(g.t, "w").data<float>();
  const float* b = initializer_named(g.t, "b").data<float>();
  const float* c = initializer_named(g.t, "c").data<float>();
  const float* d = initializer_named(g.t, "d").data<float>();
  const float* w_mul = initializer_named(g.t, "w_mul").data<float>();
  const float* b_new = initializer_named(g.t, "b_mul_add").data<float>();
  for (int i = 0; i < 4 * 27; ++i) EXPECT_NEAR(w_mul[i], w[i] * c[i / 27], 1e-6);
  for (int oc = 0; oc < 4; ++oc) EXPECT_NEAR(b_new[oc], b[oc] * c[oc] + d[oc], 1e-6);
  expect_close(g.run(), before);
}

TEST(ArithFusionMulAdd, ScalarOnTheLeftOfAMulOnAConvWithoutBias) {
  ConvOut g(false);
  g.t.output(g.t.node("Mul", {g.t.initializer("k", floats({}, {0.5f})), g.conv}, {}, "y"));
  auto before = g.run();
  EXPECT_TRUE(g.t.run_pass(passes::fold_mul_add_into_conv));
  EXPECT_EQ(g.t.print(),
            "graph main (x: float[1,3,4,4], w: float[4,3,3,3] = initializer, k: float[] = initializer, "
            "w_mul: float[4,3,3,3] = initializer) -> (y: float[1,4,4,4]) {\n"
            "  y = Conv(x, w_mul) {pads=[1,1,1,1]}\n"
            "}\n");
  expect_close(g.run(), before);
}

TEST(ArithFusionMulAdd, AddOnAConvWithoutBiasBecomesItsBias) {
  ConvOut g(false);
  g.t.output(g.t.node("Add", {g.conv, g.t.initializer("d", random_tensor({4, 1, 1}, 5))}, {}, "y"));
  auto before = g.run();
  EXPECT_TRUE(g.t.run_pass(passes::fold_mul_add_into_conv));
  EXPECT_EQ(g.t.print(),
            "graph main (x: float[1,3,4,4], w: float[4,3,3,3] = initializer, d: float[4,1,1] = initializer, "
            "w_bias_add: float[4] = initializer) -> (y: float[1,4,4,4]) {\n"
            "  y = Conv(x, w, w_bias_add) {pads=[1,1,1,1]}\n"
            "}\n");
  expect_close(g.run(), before);
}

TEST(ArithFusionMulAdd, DoesNotFireOnAConstantAlongTheWidth) {
  // [4] aligns with the last axis (width 4), not with the channels.
  ConvOut g;
  g.t.output(g.t.node("Mul", {g.conv, g.t.initializer("c", random_tensor({4}, 4))}, {}, "y"));
  EXPECT_FALSE(g.t.run_pass(passes::fold_mul_add_into_conv));
}

TEST(ArithFusionMulAdd, DoesNotFireOnAConstantThatBroadcastsTheBatch) {
  ConvOut g;
  g.t.output(g.t.node("Add", {g.conv, g.t.initializer("c", random_tensor({2, 4, 1, 1}, 4))}, {}, "y"));
  EXPECT_FALSE(g.t.run_pass(passes::fold_mul_add_into_conv));
}

TEST(ArithFusionMulAdd, DoesNotFireOnANonConstantOperand) {
  ConvOut g;
  g.t.output(g.t.node("Mul", {g.conv, g.t.input("c", {4, 1, 1})}, {}, "y"));
  EXPECT_FALSE(g.t.run_pass(passes::fold_mul_add_into_conv));
}

TEST(ArithFusionMulAdd, DoesNotFireOnANonConstantWeight) {
  PassTest t;
  ir::Value* conv = t.node("Conv", {t.input("x", {1, 3, 4, 4}), t.input("w", {4, 3, 3, 3})});
  t.output(t.node("Mul", {conv, t.initializer("c", random_tensor({4, 1, 1}, 4))}, {}, "y"));
  EXPECT_FALSE(t.run_pass(passes::fold_mul_add_into_conv));
}

TEST(ArithFusionMulAdd, DoesNotFireWhenTheConvOutputHasASecondConsumer) {
  ConvOut g;
  g.t.output(g.t.node("Mul", {g.conv, g.t.initializer("c", random_tensor({4, 1, 1}, 4))}, {}, "y"));
  g.t.output(g.t.node("Relu", {g.conv}, {}, "z"));
  EXPECT_FALSE(g.t.run_pass(passes::fold_mul_add_into_conv));
}

// ---- fuse_matmul_add_into_gemm ------------------------------------------------------------------

TEST(ArithFusionGemm, MatMulPlusRowBiasBecomesGemm) {
  PassTest t;
  ir::Value* a = t.input("a", {"m", 3});
  ir::Value* mm = t.node("MatMul", {a, t.initializer("w", random_tensor({3, 4}, 2))});
  t.last_node()->set_name("fc");
  t.output(t.node("Add", {mm, t.initializer("bias", random_tensor({4}, 3))}, {}, "y"));
  const Tensor in = random_tensor({5, 3}, 4);
  auto before = t.run({{"a", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_matmul_add_into_gemm));
  EXPECT_EQ(t.print(),
            "graph main (a: float[m,3], w: float[3,4] = initializer, bias: float[4] = initializer) "
            "-> (y: float[m,4]) {\n"
            "  y = Gemm(a, w, bias)  # node 'fc'\n"
            "}\n");
  expect_close(t.run({{"a", in}}), before);
}

TEST(ArithFusionGemm, BiasOnTheLeftAndAColumnBias) {
  // Add(C, MatMul) with C [m,1] and a non-constant B: both are fine for Gemm.
  PassTest t;
  ir::Value* a = t.input("a", {"m", 3});
  ir::Value* b = t.input("b", {3, 4});
  ir::Value* c = t.input("c", {"m", 1});
  t.output(t.node("Add", {c, t.node("MatMul", {a, b})}, {}, "y"));
  const std::vector<NamedTensor> feeds = {
      {"a", random_tensor({2, 3}, 1)}, {"b", random_tensor({3, 4}, 2)}, {"c", random_tensor({2, 1}, 3)}};
  auto before = t.run(feeds);
  EXPECT_TRUE(t.run_pass(passes::fuse_matmul_add_into_gemm));
  EXPECT_EQ(t.print(),
            "graph main (a: float[m,3], b: float[3,4], c: float[m,1]) -> (y: float[m,4]) {\n"
            "  y = Gemm(a, b, c)\n"
            "}\n");
  expect_close(t.run(feeds), before);
}

TEST(ArithFusionGemm, DoesNotFireOnARank3MatMul) {
  PassTest t;
  ir::Value* mm = t.node("MatMul", {t.input("a", {2, "s", 3}), t.initializer("w", random_tensor({3, 4}))});
  t.output(t.node("Add", {mm, t.initializer("bias", random_tensor({4}))}, {}, "y"));
  EXPECT_FALSE(t.run_pass(passes::fuse_matmul_add_into_gemm));
}

TEST(ArithFusionGemm, DoesNotFireWhenTheAddBroadcastsTheRows) {
  // [1,4] + [2,4] is [2,4]; Gemm cannot broadcast C [2,4] to the product's [1,4].
  PassTest t;
  ir::Value* mm = t.node("MatMul", {t.input("a", {1, 3}), t.initializer("w", random_tensor({3, 4}))});
  t.output(t.node("Add", {mm, t.initializer("bias", random_tensor({2, 4}))}, {}, "y"));
  EXPECT_FALSE(t.run_pass(passes::fuse_matmul_add_into_gemm));
}

TEST(ArithFusionGemm, DoesNotFireWhenTheProductHasASecondConsumer) {
  PassTest t;
  ir::Value* mm = t.node("MatMul", {t.input("a", {2, 3}), t.initializer("w", random_tensor({3, 4}))});
  t.output(t.node("Add", {mm, t.initializer("bias", random_tensor({4}))}, {}, "y"));
  t.output(mm);
  EXPECT_FALSE(t.run_pass(passes::fuse_matmul_add_into_gemm));
}

TEST(ArithFusionGemm, DoesNotFireOnIntegers) {
  PassTest t;
  ir::Value* mm = t.node("MatMul", {t.input("a", {2, 3}, DataType::kInt32), t.input("b", {3, 4}, DataType::kInt32)});
  t.output(t.node("Add", {mm, t.input("c", {4}, DataType::kInt32)}, {}, "y"));
  EXPECT_FALSE(t.run_pass(passes::fuse_matmul_add_into_gemm));
}

// ---- fold_quantize_dequantize -------------------------------------------------------------------

/// x -> Q(s1, z1) -> DQ(s1, z1) -> Q(s2, z2) -> DQ(s2, z2) -> y, s2/z2 separate initializers.
struct DoubleQdq {
  PassTest t;
  ir::Value* dq1 = nullptr;
  ir::Value* q2 = nullptr;
  DoubleQdq(std::vector<int64_t> shape, Tensor s1, Tensor z1, Tensor s2, Tensor z2, std::vector<Attribute> a1 = {},
            std::vector<Attribute> a2 = {}) {
    ir::Value* x = t.input("x", {shape.begin(), shape.end()});
    ir::Value* sv1 = t.initializer("s1", std::move(s1));
    ir::Value* zv1 = t.initializer("z1", std::move(z1));
    ir::Value* sv2 = t.initializer("s2", std::move(s2));
    ir::Value* zv2 = t.initializer("z2", std::move(z2));
    ir::Value* q1 = t.node("QuantizeLinear", {x, sv1, zv1}, a1, "q1");
    dq1 = t.node("DequantizeLinear", {q1, sv1, zv1}, a1, "dq1");
    q2 = t.node("QuantizeLinear", {dq1, sv2, zv2}, a2, "q2");
    t.output(t.node("DequantizeLinear", {q2, sv2, zv2}, a2, "y"));
  }
};

Tensor uint8s(std::vector<int64_t> shape, std::vector<uint8_t> values) {
  return Tensor::from_vector<uint8_t>(DataType::kUInt8, std::move(shape), values);
}

TEST(ArithFusionQdq, DequantizeThenQuantizeWithEqualParametersIsRemoved) {
  DoubleQdq g({2, 3}, floats({}, {0.05f}), uint8s({}, {128}), floats({}, {0.05f}), uint8s({}, {128}));
  Tensor in = random_tensor({2, 3}, 5);
  auto before = g.t.run({{"x", in}});
  EXPECT_TRUE(g.t.run_pass(passes::fold_quantize_dequantize));
  EXPECT_EQ(g.t.print(),
            "graph main (x: float[2,3], s1: float[] = initializer, z1: uint8[] = initializer, "
            "s2: float[] = initializer, z2: uint8[] = initializer) -> (y: float[2,3]) {\n"
            "  q1 = QuantizeLinear(x, s1, z1)\n"
            "  y = DequantizeLinear(q1, s2, z2)\n"
            "}\n");
  expect_close(g.t.run({{"x", in}}), before, 0, 0);
}

TEST(ArithFusionQdq, PerAxisWithTheSameAxisSpelledTwoWays) {
  DoubleQdq g({2, 3}, floats({3}, {0.1f, 0.2f, 0.3f}), uint8s({3}, {1, 2, 3}), floats({3}, {0.1f, 0.2f, 0.3f}),
             uint8s({3}, {1, 2, 3}), {Attribute::make_int("axis", 1)}, {Attribute::make_int("axis", -1)});
  Tensor in = random_tensor({2, 3}, 5);
  auto before = g.t.run({{"x", in}});
  EXPECT_TRUE(g.t.run_pass(passes::fold_quantize_dequantize));
  EXPECT_EQ(g.t.print(),
            "graph main (x: float[2,3], s1: float[3] = initializer, z1: uint8[3] = initializer, "
            "s2: float[3] = initializer, z2: uint8[3] = initializer) -> (y: float[2,3]) {\n"
            "  q1 = QuantizeLinear(x, s1, z1) {axis=1}\n"
            "  y = DequantizeLinear(q1, s2, z2) {axis=-1}\n"
            "}\n");
  expect_close(g.t.run({{"x", in}}), before, 0, 0);
}

TEST(ArithFusionQdq, DequantizeWithASecondConsumerStays) {
  DoubleQdq g({2, 3}, floats({}, {0.05f}), uint8s({}, {128}), floats({}, {0.05f}), uint8s({}, {128}));
  g.t.output(g.t.node("Relu", {g.dq1}, {}, "z"));
  Tensor in = random_tensor({2, 3}, 5);
  auto before = g.t.run({{"x", in}});
  EXPECT_TRUE(g.t.run_pass(passes::fold_quantize_dequantize));
  EXPECT_EQ(g.t.print(),
            "graph main (x: float[2,3], s1: float[] = initializer, z1: uint8[] = initializer, "
            "s2: float[] = initializer, z2: uint8[] = initializer) -> (y: float[2,3], z: float[2,3]) {\n"
            "  q1 = QuantizeLinear(x, s1, z1)\n"
            "  dq1 = DequantizeLinear(q1, s1, z1)\n"
            "  y = DequantizeLinear(q1, s2, z2)\n"
            "  z = Relu(dq1)\n"
            "}\n");
  expect_close(g.t.run({{"x", in}}), before, 0, 0);
}

TEST(ArithFusionQdq, DoesNotFireOnADifferentScale) {
  DoubleQdq g({2, 3}, floats({}, {0.05f}), uint8s({}, {128}), floats({}, {0.1f}), uint8s({}, {128}));
  EXPECT_FALSE(g.t.run_pass(passes::fold_quantize_dequantize));
}

TEST(ArithFusionQdq, DoesNotFireOnADifferentZeroPointType) {
  DoubleQdq g({2, 3}, floats({}, {0.05f}), uint8s({}, {0}), floats({}, {0.05f}),
              Tensor::from_vector<int8_t>(DataType::kInt8, {}, {0}));
  EXPECT_FALSE(g.t.run_pass(passes::fold_quantize_dequantize));
}

TEST(ArithFusionQdq, DoesNotFireOnADifferentAxis) {
  DoubleQdq g({3, 3}, floats({3}, {0.1f, 0.2f, 0.3f}), uint8s({3}, {1, 2, 3}), floats({3}, {0.1f, 0.2f, 0.3f}),
             uint8s({3}, {1, 2, 3}), {Attribute::make_int("axis", 0)}, {Attribute::make_int("axis", 1)});
  EXPECT_FALSE(g.t.run_pass(passes::fold_quantize_dequantize));
}

TEST(ArithFusionQdq, QuantizeThenDequantizeIsNotAnIdentity) {
  PassTest t;
  ir::Value* s = t.initializer("s", floats({}, {0.05f}));
  ir::Value* z = t.initializer("z", uint8s({}, {128}));
  ir::Value* q = t.node("QuantizeLinear", {t.input("x", {2, 3}), s, z});
  t.output(t.node("DequantizeLinear", {q, s, z}, {}, "y"));
  EXPECT_FALSE(t.run_pass(passes::fold_quantize_dequantize));
}

}  // namespace
}  // namespace ferry::optimizer
