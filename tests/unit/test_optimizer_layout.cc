// optimizer/passes/convert_conv_to_channels_last.cc (level all) with cancel_transposes: a conv
// chain runs channels-last with Transposes only at its edges; golden printed IR, numeric parity
// (FusedConv's channels-last kernel), and the convs the pass must leave alone.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "optimizer/passes.h"
#include "optimizer/patch.h"
#include "pass_test_util.h"

namespace ferry::optimizer {
namespace {

using ir::Attribute;
using testing::DimSpec;
using testing::PassTest;
using testing::random_tensor;

size_t count_op(const ir::Graph& g, const std::string& op) {
  size_t n = 0;
  for (const ir::Node* node : g.nodes()) n += node->op_type() == op;
  return n;
}

/// Runs `pass` until it changes nothing (at most 8 times); returns whether it changed anything.
bool run_to_fixed_point(PassTest& t, const PassFunction& pass) {
  bool changed = false;
  for (int i = 0; i < 8 && t.run_pass(pass); ++i) changed = true;
  return changed;
}

/// c1 = Conv(x, w1, b1); r = Relu(c1); c2 = Conv(r, w2, b2); y = Add(c2, r): 3x3 convs, pads 1.
void build_chain(PassTest& t, std::vector<DimSpec> x_shape = {1, 2, 5, 5}) {
  const size_t spatial = x_shape.size() - 2;
  std::vector<int64_t> w1 = {3, 2}, w2 = {3, 3};
  for (size_t i = 0; i < spatial; ++i) w1.push_back(3), w2.push_back(3);
  const std::vector<int64_t> pads(2 * spatial, 1);
  ir::Value* x = t.input("x", std::move(x_shape));
  ir::Value* c1 = t.node("Conv", {x, t.initializer("w1", random_tensor(w1, 2)), t.initializer("b1", random_tensor({3}, 3))},
                         {Attribute::make_ints("pads", pads)}, "c1");
  ir::Value* r = t.node("Relu", {c1}, {}, "r");
  ir::Value* c2 = t.node("Conv", {r, t.initializer("w2", random_tensor(w2, 4)), t.initializer("b2", random_tensor({3}, 5))},
                         {Attribute::make_ints("pads", pads)}, "c2");
  t.output(t.node("Add", {c2, r}, {}, "y"));
}

TEST(ChannelsLast, ConvChainRunsChannelsLastWithTransposesOnlyAtItsEdges) {
  PassTest t;
  build_chain(t);
  Tensor in = random_tensor({1, 2, 5, 5});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(run_to_fixed_point(t, passes::fuse_conv_activation));
  EXPECT_TRUE(t.run_pass(passes::convert_conv_to_channels_last));
  EXPECT_EQ(count_op(t.graph(), "Transpose"), 5u);  // x, y; r back, r (as X) and r (as Z) again
  EXPECT_TRUE(run_to_fixed_point(t, passes::cancel_transposes));
  EXPECT_EQ(t.print(),
            "graph main (x: float[1,2,5,5], w1: float[3,2,3,3] = initializer, b1: float[3] = initializer, "
            "w2: float[3,3,3,3] = initializer, b2: float[3] = initializer) -> (y: float[1,3,5,5]) {\n"
            "  Transpose_out = Transpose(x) {perm=[0,2,3,1]}\n"
            "  FusedConv_out_1 = ferry:FusedConv(Transpose_out, w1, b1) {activation=\"Relu\", activation_params=[], "
            "channels_last=1, pads=[1,1,1,1]}\n"
            "  FusedConv_out = ferry:FusedConv(FusedConv_out_1, w2, b2, FusedConv_out_1) {activation=\"\", "
            "activation_params=[], channels_last=1, pads=[1,1,1,1]}\n"
            "  y = Transpose(FusedConv_out) {perm=[0,3,1,2]}\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before, 1e-4, 1e-4);
  EXPECT_FALSE(t.run_pass(passes::convert_conv_to_channels_last));
}

TEST(ChannelsLast, LevelAllLeavesTwoTransposesAroundA1DAnd3DChain) {
  for (std::vector<DimSpec> shape : {std::vector<DimSpec>{1, 2, 7}, std::vector<DimSpec>{1, 2, 4, 5, 3}}) {
    PassTest t;
    std::vector<int64_t> dims;
    for (const DimSpec& d : shape) dims.push_back(d.value);
    build_chain(t, shape);
    SCOPED_TRACE(dims.size());
    Tensor in = random_tensor(dims);
    auto before = t.run({{"x", in}});
    t.run_level(GraphOptimizationLevel::kAll);
    EXPECT_EQ(count_op(t.graph(), "Transpose"), 2u);
    EXPECT_EQ(count_op(t.graph(), "FusedConv"), 2u);
    EXPECT_EQ(t.graph().node_count(), 4u);
    for (const ir::Node* n : t.graph().nodes())
      if (n->op_type() == "FusedConv") {
        EXPECT_EQ(n->get_int("channels_last", 0), 1);
        EXPECT_EQ(n->output(0)->shape().dims.back(), ir::Dim(3));  // [N, spatial.., C]
      }
    testing::expect_close(t.run({{"x", in}}), before, 1e-4, 1e-4);
  }
}

TEST(ChannelsLast, PlainConvBecomesAFusedConvBetweenTwoTransposes) {
  PassTest t;
  ir::Value* x = t.input("x", {"batch", 2, 6, 6});
  t.output(t.node("Conv", {x, t.initializer("w", random_tensor({4, 1, 3, 3}, 2))},
                  {Attribute::make_int("group", 2), Attribute::make_ints("strides", {2, 2})}, "y"));
  Tensor in = random_tensor({2, 2, 6, 6});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::convert_conv_to_channels_last));
  EXPECT_EQ(t.print(),
            "graph main (x: float[batch,2,6,6], w: float[4,1,3,3] = initializer) -> (y: float[batch,4,2,2]) {\n"
            "  Transpose_out = Transpose(x) {perm=[0,2,3,1]}\n"
            "  FusedConv_out = ferry:FusedConv(Transpose_out, w) {channels_last=1, group=2, strides=[2,2]}\n"
            "  y = Transpose(FusedConv_out) {perm=[0,3,1,2]}\n"
            "}\n");
  EXPECT_EQ(t.model().opset("ferry"), 1);
  testing::expect_close(t.run({{"x", in}}), before, 1e-4, 1e-4);
}

TEST(ChannelsLast, GraphOutputInsideTheChainKeepsItsValue) {
  // r is a graph output: it is read back through one Transpose, and the chain stays channels-last.
  PassTest t;
  build_chain(t);
  t.output(t.graph().find_value("r"));
  Tensor in = random_tensor({1, 2, 5, 5});
  auto before = t.run({{"x", in}});
  t.run_level(GraphOptimizationLevel::kAll);
  EXPECT_EQ(count_op(t.graph(), "Transpose"), 3u);
  EXPECT_EQ(count_op(t.graph(), "FusedConv"), 2u);
  testing::expect_close(t.run({{"x", in}}), before, 1e-4, 1e-4);
}

TEST(ChannelsLast, LeavesNonFloatNonConstantWeightAndChannelsLastConvsAlone) {
  for (const std::string c : {"double", "weight_input", "already", "rank6"}) {
    SCOPED_TRACE(c);
    PassTest t;
    const DataType dt = c == "double" ? DataType::kDouble : DataType::kFloat;
    const bool rank6 = c == "rank6";
    ir::Value* x = rank6 ? t.input("x", {1, 1, 2, 2, 2, 2}, dt)
                         : t.input("x", c == "already" ? std::vector<DimSpec>{1, 4, 4, 1} : std::vector<DimSpec>{1, 1, 4, 4}, dt);
    ir::Value* w = nullptr;
    if (c == "weight_input") {
      w = t.input("w", {1, 1, 3, 3});
    } else {
      Tensor wt = Tensor::empty(dt, rank6 ? std::vector<int64_t>{1, 1, 1, 1, 1, 1} : std::vector<int64_t>{1, 1, 3, 3});
      std::memset(wt.raw_data(), 0, wt.byte_size());
      w = t.initializer("w", wt);
    }
    std::vector<Attribute> attrs;
    if (c == "already") attrs.push_back(Attribute::make_int("channels_last", 1));
    t.output(t.node(c == "already" ? "FusedConv" : "Conv", {x, w}, std::move(attrs), "y", c == "already" ? "ferry" : ""));
    if (c == "already") t.model().opset_imports["ferry"] = 1;
    t.infer();
    const std::string before = t.print();
    EXPECT_FALSE(t.run_pass(passes::convert_conv_to_channels_last));
    EXPECT_EQ(t.print(), before);
  }
}

/// x -> Conv(3x3, pads 1) -> Relu -> `pool` -> Conv(1x1) -> y, x [1, 3, 9, 9], the convs 4 wide.
void build_conv_pool_conv(PassTest& t, const std::string& pool, std::vector<Attribute> pool_attrs,
                          size_t pool_outputs = 1) {
  ir::Value* x = t.input("x", {1, 3, 9, 9});
  ir::Value* c1 = t.node("Conv", {x, t.initializer("w1", random_tensor({4, 3, 3, 3}, 2))},
                         {Attribute::make_ints("pads", {1, 1, 1, 1})}, "c1");
  ir::Value* p = t.node(pool, {t.node("Relu", {c1}, {}, "r")}, std::move(pool_attrs), "p", "", pool_outputs);
  t.output(t.node("Conv", {p, t.initializer("w2", random_tensor({4, 4, 1, 1}, 3))}, {}, "y"));
}

TEST(ChannelsLast, PoolBetweenConvsRunsChannelsLastWithoutTransposes) {
  const std::vector<std::pair<std::string, std::vector<Attribute>>> pools = {
      {"MaxPool", {Attribute::make_ints("kernel_shape", {3, 3}), Attribute::make_ints("strides", {2, 2}),
                   Attribute::make_ints("pads", {1, 1, 1, 1})}},
      {"AveragePool", {Attribute::make_ints("kernel_shape", {2, 3}), Attribute::make_ints("pads", {0, 1, 1, 1}),
                       Attribute::make_int("count_include_pad", 1)}},
      {"AveragePool", {Attribute::make_ints("kernel_shape", {3, 3}), Attribute::make_string("auto_pad", "SAME_UPPER"),
                       Attribute::make_ints("strides", {2, 2})}},
      {"GlobalAveragePool", {}},
      {"GlobalMaxPool", {}}};
  for (const auto& [op, attrs] : pools) {
    SCOPED_TRACE(op);
    PassTest t;
    std::vector<Attribute> copy;
    for (const Attribute& a : attrs) copy.push_back(a.clone());
    build_conv_pool_conv(t, op, std::move(copy));
    Tensor in = random_tensor({1, 3, 9, 9});
    auto before = t.run({{"x", in}});
    t.run_level(GraphOptimizationLevel::kAll);
    EXPECT_EQ(count_op(t.graph(), "Transpose"), 2u);  // x in, y out
    EXPECT_EQ(count_op(t.graph(), "ChannelsLastPool"), 1u);
    EXPECT_EQ(count_op(t.graph(), op), 0u);
    EXPECT_EQ(count_op(t.graph(), "ReduceMean") + count_op(t.graph(), "ReduceMax"), 0u);
    testing::expect_close(t.run({{"x", in}}), before, 1e-5, 1e-5);
  }
}

TEST(ChannelsLast, MaxPoolGolden) {
  PassTest t;
  build_conv_pool_conv(t, "MaxPool", {Attribute::make_ints("kernel_shape", {2, 2}), Attribute::make_ints("strides", {2, 2})});
  t.run_level(GraphOptimizationLevel::kAll);
  EXPECT_EQ(t.print(),
            "graph main (x: float[1,3,9,9], w1: float[4,3,3,3] = initializer, w2: float[4,4,1,1] = initializer) -> "
            "(y: float[1,4,4,4]) {\n"
            "  Transpose_out = Transpose(x) {perm=[0,2,3,1]}\n"
            "  FusedConv_out_1 = ferry:FusedConv(Transpose_out, w1) {activation=\"Relu\", activation_params=[], "
            "channels_last=1, pads=[1,1,1,1]}\n"
            "  ChannelsLastPool_out = ferry:ChannelsLastPool(FusedConv_out_1) {kernel_shape=[2,2], mode=\"MaxPool\", "
            "strides=[2,2]}\n"
            "  FusedConv_out = ferry:FusedConv(ChannelsLastPool_out, w2) {channels_last=1}\n"
            "  y = Transpose(FusedConv_out) {perm=[0,3,1,2]}\n"
            "}\n");
}

TEST(ChannelsLast, SqueezeExciteRunsChannelsLast) {
  // c = Conv(x); s = Sigmoid(Conv(Relu(Conv(GlobalAveragePool(c))))); y = Conv(c * s): the global
  // pool moves into the channels-last region as a ChannelsLastPool, not a strided ReduceMean.
  PassTest t;
  ir::Value* x = t.input("x", {1, 8, 6, 6});
  ir::Value* c = t.node("Conv", {x, t.initializer("w0", random_tensor({8, 8, 1, 1}, 2))}, {}, "c");
  ir::Value* g = t.node("GlobalAveragePool", {c}, {}, "g");
  ir::Value* r = t.node("Relu", {t.node("Conv", {g, t.initializer("w1", random_tensor({2, 8, 1, 1}, 3))}, {}, "s1")});
  ir::Value* s = t.node("Sigmoid", {t.node("Conv", {r, t.initializer("w2", random_tensor({8, 2, 1, 1}, 4))}, {}, "s2")});
  t.output(t.node("Conv", {t.node("Mul", {c, s}, {}, "m"), t.initializer("w3", random_tensor({4, 8, 1, 1}, 5))}, {}, "y"));
  Tensor in = random_tensor({1, 8, 6, 6});
  auto before = t.run({{"x", in}});
  t.run_level(GraphOptimizationLevel::kAll);
  EXPECT_EQ(count_op(t.graph(), "Transpose"), 2u);
  EXPECT_EQ(count_op(t.graph(), "ChannelsLastPool"), 1u);
  EXPECT_EQ(count_op(t.graph(), "ReduceMean"), 0u);
  testing::expect_close(t.run({{"x", in}}), before, 1e-5, 1e-5);
}

TEST(ChannelsLast, ReduceMeanOverMiddleAxesBecomesAGlobalPool) {
  for (const int64_t opset : {17, 18}) {
    for (const std::string op : {"ReduceMean", "ReduceMax"}) {
      SCOPED_TRACE(op + " opset " + std::to_string(opset));
      PassTest t(opset);
      ir::Value* x = t.input("x", {2, 5, 4, 3});
      std::vector<Attribute> attrs;
      std::vector<ir::Value*> inputs = {x};
      if (opset >= 18)
        inputs.push_back(t.initializer("axes", Tensor::from_vector<int64_t>(DataType::kInt64, {2}, {-2, 1})));
      else
        attrs.push_back(Attribute::make_ints("axes", {-2, 1}));
      t.output(t.node(op, inputs, std::move(attrs), "y"));
      Tensor in = random_tensor({2, 5, 4, 3});
      auto before = t.run({{"x", in}});
      // ReduceMax stays: it propagates NaN, which the pools skip.
      EXPECT_EQ(t.run_pass(passes::convert_conv_to_channels_last), op == "ReduceMean");
      EXPECT_EQ(count_op(t.graph(), "ChannelsLastPool"), op == "ReduceMean" ? 1u : 0u);
      EXPECT_EQ(t.graph().find_value("y")->shape().to_string(), "[2,1,1,3]");
      testing::expect_close(t.run({{"x", in}}), before, 1e-5, 1e-5);
    }
  }
}

TEST(ChannelsLast, LeavesPoolsOutsideAChannelsLastRegionAlone) {
  for (const std::string c : {"graph_input", "indices_used", "reduce_other_axes", "reduce_no_keepdims", "ceil_old_opset"}) {
    SCOPED_TRACE(c);
    PassTest t;
    ir::Value* x = t.input("x", {1, 4, 6, 6});
    if (c == "graph_input") {
      t.output(t.node("MaxPool", {x}, {Attribute::make_ints("kernel_shape", {2, 2})}, "y"));
    } else if (c == "reduce_other_axes" || c == "reduce_no_keepdims") {
      std::vector<Attribute> attrs = {Attribute::make_ints("axes", c == "reduce_other_axes" ? std::vector<int64_t>{2, 3}
                                                                                           : std::vector<int64_t>{1, 2})};
      if (c == "reduce_no_keepdims") attrs.push_back(Attribute::make_int("keepdims", 0));
      t.output(t.node("ReduceMean", {x}, std::move(attrs), "y"));
    } else {
      // The pool reads a channels-last conv, but its Indices are used / its ceil_mode needs opset 22.
      ir::Value* conv = t.node("Conv", {x, t.initializer("w", random_tensor({4, 4, 1, 1}, 2))}, {}, "c");
      std::vector<Attribute> attrs = {Attribute::make_ints("kernel_shape", {2, 2}), Attribute::make_ints("strides", {2, 2})};
      if (c == "ceil_old_opset") attrs.push_back(Attribute::make_int("ceil_mode", 1));
      t.output(t.node("MaxPool", {conv}, std::move(attrs), "y", "", c == "indices_used" ? 2 : 1));
      if (c == "indices_used") t.output(t.last_node()->output(1));
    }
    Tensor in = random_tensor({1, 4, 6, 6});
    auto before = t.run({{"x", in}});
    t.run_level(GraphOptimizationLevel::kAll);
    EXPECT_EQ(count_op(t.graph(), "ChannelsLastPool"), 0u);
    testing::expect_close(t.run({{"x", in}}), before, 1e-5, 1e-5);
  }
}


/// x -> Conv 3x3 -> Relu -> `mid` -> Conv 1x1 -> y; `mid` builds the op between the convs.
template <typename Mid>
void build_conv_mid_conv(PassTest& t, int64_t mid_channels, Mid mid) {
  ir::Value* x = t.input("x", {1, 3, 5, 6});
  ir::Value* c1 = t.node("Conv", {x, t.initializer("w1", random_tensor({4, 3, 3, 3}, 2))},
                         {Attribute::make_ints("pads", {1, 1, 1, 1})}, "c1");
  ir::Value* m = mid(t, t.node("Relu", {c1}, {}, "r"));
  t.output(t.node("Conv", {m, t.initializer("w2", random_tensor({2, mid_channels, 1, 1}, 3))}, {}, "y"));
}

TEST(ChannelsLast, ResizeBetweenConvsRunsChannelsLastWithPermutedScales) {
  for (const char* mode : {"nearest", "linear"}) {
    SCOPED_TRACE(mode);
    PassTest t;
    build_conv_mid_conv(t, 4, [&](PassTest& p, ir::Value* r) {
      ir::Value* scales = p.initializer("scales", Tensor::from_vector<float>(DataType::kFloat, {4}, {1, 1, 2, 1.5f}));
      return p.node("Resize", {r, nullptr, scales}, {Attribute::make_string("mode", mode)}, "up");
    });
    Tensor in = random_tensor({1, 3, 5, 6});
    auto before = t.run({{"x", in}});
    t.run_level(GraphOptimizationLevel::kAll);
    EXPECT_EQ(count_op(t.graph(), "Transpose"), 2u);  // x in, y out: the Resize runs on NHWC
    EXPECT_EQ(count_op(t.graph(), "Resize"), 1u);
    for (const ir::Node* n : t.graph().nodes())
      if (n->op_type() == "Resize") {
        const Tensor* sc = constant_of(n->input(2));
        ASSERT_NE(sc, nullptr);
        EXPECT_EQ(std::vector<float>(sc->data<float>(), sc->data<float>() + 4), (std::vector<float>{1, 2, 1.5f, 1}));
      }
    testing::expect_close(t.run({{"x", in}}), before, 1e-5, 1e-5);
  }
}

TEST(ChannelsLast, ResizeWithAxesOrFedScalesStaysChannelsFirst) {
  PassTest t;
  ir::Value* fed = t.input("s", {4});
  build_conv_mid_conv(t, 4, [&](PassTest& p, ir::Value* r) { return p.node("Resize", {r, nullptr, fed}, {}, "up"); });
  t.run_level(GraphOptimizationLevel::kAll);
  EXPECT_EQ(count_op(t.graph(), "Transpose"), 4u);  // the chain breaks at the Resize
}

TEST(ChannelsLast, ConvTransposeWithKernelEqualStridesRunsChannelsLast) {
  for (bool padded : {false, true}) {
    SCOPED_TRACE(padded);
    PassTest t;
    build_conv_mid_conv(t, 5, [&](PassTest& p, ir::Value* r) {
      std::vector<Attribute> attrs = {Attribute::make_ints("strides", {2, 2})};
      if (padded) attrs.push_back(Attribute::make_ints("pads", {1, 0, 0, 1}));
      return p.node("ConvTranspose", {r, p.initializer("wt", random_tensor({4, 5, 2, 2}, 4)),
                                      p.initializer("bt", random_tensor({5}, 5))}, std::move(attrs), "up");
    });
    Tensor in = random_tensor({1, 3, 5, 6});
    auto before = t.run({{"x", in}});
    t.run_level(GraphOptimizationLevel::kAll);
    EXPECT_EQ(count_op(t.graph(), "ChannelsLastConvTranspose"), padded ? 0u : 1u);
    EXPECT_EQ(count_op(t.graph(), "ConvTranspose"), padded ? 1u : 0u);
    EXPECT_EQ(count_op(t.graph(), "Transpose"), padded ? 4u : 2u);
    testing::expect_close(t.run({{"x", in}}), before, 1e-4, 1e-4);
  }
}

}  // namespace
}  // namespace ferry::optimizer
