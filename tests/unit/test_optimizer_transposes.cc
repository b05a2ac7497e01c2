// optimizer/passes/cancel_transposes.cc: Transposes pulled up through regions of element-wise ops
// (values read outside the region, external operands, Concat's axis, graph outputs and subgraph
// readers in the middle), with golden printed IR and numeric parity, and the cases where the
// Transpose count would not drop, which must not fire. The adjacent-pair and single-chain cases
// are in test_optimizer_eliminations.cc.

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "optimizer/passes.h"
#include "pass_test_util.h"

namespace ferry::optimizer {
namespace {

using ir::Attribute;
using testing::PassTest;
using testing::random_tensor;

ir::Value* transpose(PassTest& t, ir::Value* x, std::vector<int64_t> perm, const std::string& out = "") {
  return t.node("Transpose", {x}, {Attribute::make_ints("perm", std::move(perm))}, out);
}

void expect_no_change(PassTest& t) {
  t.infer();
  const std::string before = t.print();
  EXPECT_FALSE(t.run_pass(passes::cancel_transposes));
  EXPECT_EQ(t.print(), before);
}

TEST(TransposeRegions, ResidualStreamMovesToTheLeavesLayout) {
  // ConvNeXt's stage: la and the m's are NHWC; the stream s1 -> s2 is NCHW and goes back to NHWC
  // at y. a and s1 have other readers (the convs, here Neg). Before: a, t1, t2, y (4 Transposes);
  // after: a (still read by za) and one for s1's other reader (2).
  PassTest t;
  ir::Value* la = t.input("la", {1, 2, 2, 3});
  ir::Value* m1 = t.input("m1", {1, 2, 2, 3});
  ir::Value* m2 = t.input("m2", {1, 2, 2, 3});
  ir::Value* a = transpose(t, la, {0, 3, 1, 2}, "a");
  ir::Value* za = t.node("Neg", {a}, {}, "za");
  ir::Value* s1 = t.node("Add", {a, transpose(t, m1, {0, 3, 1, 2}, "t1")}, {}, "s1");
  ir::Value* z1 = t.node("Neg", {s1}, {}, "z1");
  ir::Value* s2 = t.node("Add", {s1, transpose(t, m2, {0, 3, 1, 2}, "t2")}, {}, "s2");
  t.output(transpose(t, s2, {0, 2, 3, 1}, "y"));
  t.output(za);
  t.output(z1);
  const std::vector<NamedTensor> feeds = {
      {"la", random_tensor({1, 2, 2, 3})}, {"m1", random_tensor({1, 2, 2, 3}, 2)}, {"m2", random_tensor({1, 2, 2, 3}, 3)}};
  auto before = t.run(feeds);
  EXPECT_TRUE(t.run_pass(passes::cancel_transposes));
  EXPECT_EQ(t.print(),
            "graph main (la: float[1,2,2,3], m1: float[1,2,2,3], m2: float[1,2,2,3]) -> "
            "(y: float[1,2,2,3], za: float[1,3,2,2], z1: float[1,3,2,2]) {\n"
            "  a = Transpose(la) {perm=[0,3,1,2]}\n"
            "  za = Neg(a)\n"
            "  Add_out = Add(la, m1)\n"
            "  Transpose_out = Transpose(Add_out) {perm=[0,3,1,2]}\n"
            "  z1 = Neg(Transpose_out)\n"
            "  y = Add(Add_out, m2)\n"
            "}\n");
  testing::expect_close(t.run(feeds), before);
  EXPECT_FALSE(t.run_pass(passes::cancel_transposes));
}

TEST(TransposeRegions, ValueReadOutsideTheRegionGetsOneTransposeBack) {
  // r is also read by z: z reads Transpose(Relu(x)) (2 Transposes -> 1).
  PassTest t;
  ir::Value* x = t.input("x", {2, 3});
  ir::Value* r = t.node("Relu", {transpose(t, x, {1, 0}, "a")}, {}, "r");
  t.output(transpose(t, r, {1, 0}, "y"));
  t.output(t.node("Neg", {r}, {}, "z"));
  Tensor in = random_tensor({2, 3});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::cancel_transposes));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,3]) -> (y: float[2,3], z: float[3,2]) {\n"
            "  y = Relu(x)\n"
            "  Transpose_out = Transpose(y) {perm=[1,0]}\n"
            "  z = Neg(Transpose_out)\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(TransposeRegions, GraphOutputInTheMiddleKeepsItsNameAndValue) {
  PassTest t;
  ir::Value* x = t.input("x", {2, 3});
  ir::Value* r = t.node("Relu", {transpose(t, x, {1, 0}, "a")}, {}, "r");
  t.output(r);
  t.output(transpose(t, r, {1, 0}, "y"));
  Tensor in = random_tensor({2, 3});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::cancel_transposes));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,3]) -> (r: float[3,2], y: float[2,3]) {\n"
            "  y = Relu(x)\n"
            "  r = Transpose(y) {perm=[1,0]}\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(TransposeRegions, SubgraphReaderInTheMiddleReadsTheTransposeBack) {
  // r is read inside both branches of an If: they read Transpose(Relu(x)).
  PassTest t;
  ir::Value* c = t.input("c", {}, DataType::kBool);
  ir::Value* x = t.input("x", {2, 3});
  ir::Value* r = t.node("Relu", {transpose(t, x, {1, 0}, "a")}, {}, "r");
  t.output(transpose(t, r, {1, 0}, "y"));
  ir::Node* iff = t.graph().add_node("If", {c}, {"z"});
  auto then_branch = std::make_shared<ir::Graph>("then_branch", &t.graph());
  then_branch->add_output(then_branch->add_node("Neg", {r}, {"then_out"})->output(0));
  auto else_branch = std::make_shared<ir::Graph>("else_branch", &t.graph());
  else_branch->add_output(else_branch->add_node("Abs", {r}, {"else_out"})->output(0));
  iff->set_attribute(Attribute::make_graph("then_branch", then_branch));
  iff->set_attribute(Attribute::make_graph("else_branch", else_branch));
  t.output(iff->output(0));
  Tensor in = random_tensor({2, 3});
  Tensor yes = Tensor::from_vector<uint8_t>(DataType::kBool, {}, {1});
  auto before = t.run({{"c", yes}, {"x", in}});
  EXPECT_TRUE(t.run_pass(passes::cancel_transposes));
  EXPECT_EQ(t.print(),
            "graph main (c: bool[], x: float[2,3]) -> (y: float[2,3], z: float[3,2]) {\n"
            "  y = Relu(x)\n"
            "  Transpose_out = Transpose(y) {perm=[1,0]}\n"
            "  z = If(c) {else_branch=graph else_branch () -> (else_out: float[3,2]) {\n"
            "    else_out = Abs(Transpose_out)\n"
            "  }, then_branch=graph then_branch () -> (then_out: float[3,2]) {\n"
            "    then_out = Neg(Transpose_out)\n"
            "  }}\n"
            "}\n");
  testing::expect_close(t.run({{"c", yes}, {"x", in}}), before);
}

TEST(TransposeRegions, ExternalOperandOfTheSameRankIsTransposedByTheInversePerm) {
  // T1 [2,0,1] makes x[2,3,4] [4,2,3]; w[4,2,3] is read as Transpose(w, [1,2,0]), which is [2,3,4]
  // (2 Transposes -> 1).
  PassTest t;
  ir::Value* x = t.input("x", {2, 3, 4});
  ir::Value* w = t.input("w", {4, 2, 3});
  ir::Value* s = t.node("Add", {transpose(t, x, {2, 0, 1}, "a"), w}, {}, "s");
  t.output(transpose(t, s, {1, 2, 0}, "y"));
  const std::vector<NamedTensor> feeds = {{"x", random_tensor({2, 3, 4})}, {"w", random_tensor({4, 2, 3}, 2)}};
  auto before = t.run(feeds);
  EXPECT_TRUE(t.run_pass(passes::cancel_transposes));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,3,4], w: float[4,2,3]) -> (y: float[2,3,4]) {\n"
            "  Transpose_out = Transpose(w) {perm=[1,2,0]}\n"
            "  y = Add(x, Transpose_out)\n"
            "}\n");
  testing::expect_close(t.run(feeds), before);
}

TEST(TransposeRegions, OperandTransposedDifferentlyEndsAsOneComposedTranspose) {
  // Mul(T(a, [0,2,1]), T(b, [1,0,2])) -> T([0,2,1]): the region takes a's perm, b's Transpose is
  // read back by [0,2,1], and the next round composes the two into [1,2,0] (3 Transposes -> 1).
  PassTest t;
  ir::Value* a = t.input("a", {2, 3, 4});
  ir::Value* b = t.input("b", {4, 2, 3});
  ir::Value* m = t.node("Mul", {transpose(t, a, {0, 2, 1}, "ta"), transpose(t, b, {1, 0, 2}, "tb")}, {}, "m");
  t.output(transpose(t, m, {0, 2, 1}, "y"));
  const std::vector<NamedTensor> feeds = {{"a", random_tensor({2, 3, 4})}, {"b", random_tensor({4, 2, 3}, 2)}};
  auto before = t.run(feeds);
  EXPECT_TRUE(t.run_pass(passes::cancel_transposes));
  EXPECT_EQ(t.print(),
            "graph main (a: float[2,3,4], b: float[4,2,3]) -> (y: float[2,3,4]) {\n"
            "  tb = Transpose(b) {perm=[1,0,2]}\n"
            "  Transpose_out = Transpose(tb) {perm=[0,2,1]}\n"
            "  y = Mul(a, Transpose_out)\n"
            "}\n");
  EXPECT_TRUE(t.run_pass(passes::cancel_transposes));
  EXPECT_EQ(t.print(),
            "graph main (a: float[2,3,4], b: float[4,2,3]) -> (y: float[2,3,4]) {\n"
            "  Transpose_out_1 = Transpose(b) {perm=[1,2,0]}\n"
            "  y = Mul(a, Transpose_out_1)\n"
            "}\n");
  testing::expect_close(t.run(feeds), before);
}

TEST(TransposeRegions, ConstantThatBroadcastsTheOutputIsTransposedToo) {
  // x[2,1] -> [1,2] + c[3,2] -> [3,2] -> [2,3]: the same as x[2,1] + c^T[2,3].
  PassTest t;
  ir::Value* x = t.input("x", {2, 1});
  ir::Value* c = t.initializer("c", Tensor::from_vector<float>(DataType::kFloat, {3, 2}, {1, 2, 3, 4, 5, 6}));
  t.output(transpose(t, t.node("Add", {transpose(t, x, {1, 0}), c}), {1, 0}, "y"));
  Tensor in = random_tensor({2, 1});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::cancel_transposes));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,1], c: float[3,2] = initializer, c_transposed: float[2,3] = initializer) "
            "-> (y: float[2,3]) {\n"
            "  y = Add(x, c_transposed)\n"
            "}\n");
  const Tensor& moved = t.graph().find_value("c_transposed")->initializer();
  ASSERT_EQ(moved.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(std::vector<float>(moved.data<float>(), moved.data<float>() + 6), (std::vector<float>{1, 3, 5, 2, 4, 6}));
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(TransposeRegions, ConcatAxisIsRenumbered) {
  // NHWC a, b -> NCHW, Concat on channels (axis -3 = 1), Relu, back to NHWC: Concat(a, b) on
  // axis p1[1] = 3 and no Transpose.
  PassTest t;
  ir::Value* a = t.input("a", {1, 2, 2, 3});
  ir::Value* b = t.input("b", {1, 2, 2, 5});
  ir::Value* c = t.node("Concat", {transpose(t, a, {0, 3, 1, 2}), transpose(t, b, {0, 3, 1, 2})},
                        {Attribute::make_int("axis", -3)}, "c");
  t.output(transpose(t, t.node("Relu", {c}, {}, "r"), {0, 2, 3, 1}, "y"));
  const std::vector<NamedTensor> feeds = {{"a", random_tensor({1, 2, 2, 3})}, {"b", random_tensor({1, 2, 2, 5}, 2)}};
  auto before = t.run(feeds);
  EXPECT_TRUE(t.run_pass(passes::cancel_transposes));
  EXPECT_EQ(t.print(),
            "graph main (a: float[1,2,2,3], b: float[1,2,2,5]) -> (y: float[1,2,2,8]) {\n"
            "  Concat_out = Concat(a, b) {axis=3}\n"
            "  y = Relu(Concat_out)\n"
            "}\n");
  testing::expect_close(t.run(feeds), before);
}

TEST(TransposeRegions, GlobalPoolsBetweenTheTransposesBecomeReductionsOverTheSpatialAxes) {
  // NHWC x -> NCHW -> GlobalAveragePool [1,4,1,1] -> NHWC [1,1,1,4]: ReduceMean over x's axes
  // p1[2..] = {1, 2}, keeping them (an attribute before opset 18, an input from 18).
  for (const int64_t opset : {17, 18}) {
    for (const std::string pool : {"GlobalAveragePool", "GlobalMaxPool"}) {
      SCOPED_TRACE(pool + " opset " + std::to_string(opset));
      PassTest t(opset);
      ir::Value* x = t.input("x", {1, 3, 2, 4});
      ir::Value* g = t.node(pool, {transpose(t, x, {0, 3, 1, 2}, "a")}, {}, "g");
      t.output(transpose(t, g, {0, 2, 3, 1}, "y"));
      Tensor in = random_tensor({1, 3, 2, 4});
      auto before = t.run({{"x", in}});
      EXPECT_TRUE(t.run_pass(passes::cancel_transposes));
      const std::string reduce = pool == "GlobalAveragePool" ? "ReduceMean" : "ReduceMax";
      EXPECT_EQ(t.print(), opset < 18 ? "graph main (x: float[1,3,2,4]) -> (y: float[1,1,1,4]) {\n"
                                        "  y = " + reduce + "(x) {axes=[1,2], keepdims=1}\n"
                                        "}\n"
                                      : "graph main (x: float[1,3,2,4], axes: int64[2] = initializer) -> "
                                        "(y: float[1,1,1,4]) {\n"
                                        "  y = " + reduce + "(x, axes) {keepdims=1}\n"
                                        "}\n");
      testing::expect_close(t.run({{"x", in}}), before);
    }
  }
}

TEST(TransposeRegions, KeepdimsReductionAxesAreRenumbered) {
  // ReduceMean over NCHW axes {2, 3} (as an input, opset 18) of NHWC x is ReduceMean over x's axes
  // {p1[2], p1[3]} = {1, 2}; ReduceSum over axis -3 (C, an attribute at opset 11) is over x's axis 3.
  for (const int64_t opset : {11, 18}) {
    SCOPED_TRACE(opset);
    PassTest t(opset);
    ir::Value* x = t.input("x", {1, 3, 2, 4});
    ir::Value* a = transpose(t, x, {0, 3, 1, 2}, "a");
    ir::Value* r = opset >= 18 ? t.node("ReduceMean", {a, t.initializer("spatial", Tensor::from_vector<int64_t>(
                                                                                        DataType::kInt64, {2}, {2, 3}))})
                               : t.node("ReduceSum", {a}, {Attribute::make_ints("axes", {-3})});
    t.output(transpose(t, r, {0, 2, 3, 1}, "y"));
    Tensor in = random_tensor({1, 3, 2, 4});
    auto before = t.run({{"x", in}});
    EXPECT_TRUE(t.run_pass(passes::cancel_transposes));
    EXPECT_EQ(t.print(), opset >= 18 ? "graph main (x: float[1,3,2,4], spatial: int64[2] = initializer, axes: int64[2] "
                                       "= initializer) -> (y: float[1,1,1,4]) {\n"
                                       "  y = ReduceMean(x, axes)\n"
                                       "}\n"
                                     : "graph main (x: float[1,3,2,4]) -> (y: float[1,3,2,1]) {\n"
                                       "  y = ReduceSum(x) {axes=[3]}\n"
                                       "}\n");
    if (opset >= 18) {
      const Tensor& axes = t.graph().find_value("axes")->initializer();
      EXPECT_EQ(std::vector<int64_t>(axes.data<int64_t>(), axes.data<int64_t>() + 2), (std::vector<int64_t>{1, 2}));
    }
    testing::expect_close(t.run({{"x", in}}), before);
  }
  {
    PassTest t;  // keepdims = 0 changes the rank: not in a region
    ir::Value* a = transpose(t, t.input("x", {1, 3, 2, 4}), {0, 3, 1, 2});
    ir::Value* r = t.node("ReduceMean", {a}, {Attribute::make_ints("axes", {1}), Attribute::make_int("keepdims", 0)});
    t.output(transpose(t, r, {0, 2, 1}, "y"));
    expect_no_change(t);
  }
}

TEST(TransposeRegions, DoesNotFireWhenTheCountWouldNotDrop) {
  // a and r both have other readers: one Transpose would go (y) and one come (for r).
  PassTest t;
  ir::Value* x = t.input("x", {2, 3});
  ir::Value* a = transpose(t, x, {1, 0}, "a");
  ir::Value* r = t.node("Relu", {a}, {}, "r");
  t.output(transpose(t, r, {1, 0}, "y"));
  t.output(t.node("Neg", {a}, {}, "za"));
  t.output(t.node("Neg", {r}, {}, "zr"));
  expect_no_change(t);
}

TEST(TransposeRegions, DoesNotFireThroughLayoutDependentOpsOrOperandsOfAnotherRank) {
  for (const std::string op : {"Softmax", "LowerRankInput", "UnknownRankInput", "NoFirstTranspose"}) {
    SCOPED_TRACE(op);
    PassTest t;
    ir::Value* x = t.input("x", {2, 3});
    ir::Value* a = op == "NoFirstTranspose" ? t.node("Relu", {x}) : transpose(t, x, {1, 0});
    ir::Value* mid = nullptr;
    if (op == "Softmax") mid = t.node("Softmax", {a}, {Attribute::make_int("axis", -1)});
    if (op == "LowerRankInput") mid = t.node("Add", {a, t.input("w", {2})});
    if (op == "UnknownRankInput") {
      ir::Value* w = t.graph().add_value("w", ir::Type::tensor(DataType::kFloat));
      t.graph().add_input(w);
      mid = t.node("Add", {a, w});
    }
    if (op == "NoFirstTranspose") mid = t.node("Add", {a, t.input("w", {2, 3})});
    t.output(transpose(t, mid, {1, 0}, "y"));
    expect_no_change(t);
  }
}

TEST(TransposeRegions, FerryElementwiseOpsAreIncludedAndGeluWithBiasIsNot) {
  // The conv chains' Gelu / Silu are fused into ferry ops before the channels-last Transposes come.
  for (const std::string op : {"Gelu", "Silu", "ElementwiseChain", "GeluWithBias"}) {
    SCOPED_TRACE(op);
    PassTest t(17);
    t.model().opset_imports["ferry"] = 1;
    ir::Value* x = t.input("x", {1, 4, 3});
    ir::Value* a = transpose(t, x, {0, 2, 1}, "a");
    ir::Value* mid = nullptr;
    if (op == "Gelu" || op == "Silu") mid = t.node(op, {a}, {}, "m", "ferry");
    if (op == "ElementwiseChain")
      mid = t.node(op, {a},
                   {Attribute::make_strings("ops", {"Mul", "Tanh"}), Attribute::make_floats("constants", {2.0f, 0.0f})},
                   "m", "ferry");
    if (op == "GeluWithBias") mid = t.node("Gelu", {a, t.input("b", {4})}, {}, "m", "ferry");
    t.output(transpose(t, mid, {0, 2, 1}, "y"));
    if (op == "GeluWithBias") {
      expect_no_change(t);
      continue;
    }
    const std::vector<NamedTensor> feeds = {{"x", random_tensor({1, 4, 3})}};
    const auto before = t.run(feeds);
    EXPECT_TRUE(t.run_pass(passes::cancel_transposes));
    const std::string printed = t.print();
    EXPECT_EQ(printed.find("Transpose"), std::string::npos) << printed;
    EXPECT_NE(printed.find("y = ferry:" + op + "(x)"), std::string::npos) << printed;
    testing::expect_close(t.run(feeds), before);
  }
}

}  // namespace
}  // namespace ferry::optimizer
