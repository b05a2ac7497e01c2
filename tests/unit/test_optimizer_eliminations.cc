// optimizer/passes: eliminate_identity_ops, fold_reshape_chains, cancel_transposes (STYLE.md 13):
// positive cases with golden printed IR and numeric parity, and negative cases that must not fire.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "optimizer/passes.h"
#include "pass_test_util.h"

namespace ferry::optimizer {
namespace {

using ir::Attribute;
using testing::PassTest;
using testing::random_tensor;

Tensor i64(std::vector<int64_t> v) {
  return Tensor::from_vector<int64_t>(DataType::kInt64, {static_cast<int64_t>(v.size())}, v);
}
Tensor f32(std::vector<int64_t> shape, std::vector<float> v) {
  return Tensor::from_vector<float>(DataType::kFloat, std::move(shape), v);
}
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

/// Runs `pass` and checks that it changed nothing.
void expect_no_change(PassTest& t, const PassFunction& pass) {
  t.infer();
  const std::string before = t.print();
  EXPECT_FALSE(t.run_pass(pass));
  EXPECT_EQ(t.print(), before);
}

// ---- eliminate_identity_ops ----------------------------------------------------------------------

TEST(EliminateIdentityOps, IdentityAndInferenceDropoutGo) {
  PassTest t;
  ir::Value* x = t.input("x", {"batch", 3});
  ir::Value* d = t.node("Dropout", {t.node("Identity", {x})}, {}, "d", "", 2);  // mask unused
  t.output(t.node("Relu", {d}, {}, "y"));
  Tensor in = random_tensor({2, 3});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::eliminate_identity_ops));
  EXPECT_EQ(t.print(),
            "graph main (x: float[batch,3]) -> (y: float[batch,3]) {\n"
            "  y = Relu(x)\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);
  EXPECT_FALSE(t.run_pass(passes::eliminate_identity_ops));
}

TEST(EliminateIdentityOps, DropoutStaysWhenItsMaskIsUsedOrTrainingModeIsNotConstantFalse) {
  {
    PassTest t;
    ir::Value* d = t.node("Dropout", {t.input("x", {4})}, {}, "d", "", 2);
    ir::Value* mask = t.last_node()->output(1);
    t.output(t.node("Relu", {d}, {}, "y"));
    t.output(mask);
    expect_no_change(t, passes::eliminate_identity_ops);
  }
  {
    PassTest t;
    ir::Value* x = t.input("x", {4});
    ir::Value* ratio = t.initializer("ratio", f32({}, {0.5f}));
    ir::Value* training = t.input("training", {}, DataType::kBool);
    t.output(t.node("Relu", {t.node("Dropout", {x, ratio, training})}, {}, "y"));
    expect_no_change(t, passes::eliminate_identity_ops);
  }
}

TEST(EliminateIdentityOps, CastToItsOwnTypeGoesOtherCastsStay) {
  PassTest t;
  ir::Value* x = t.input("x", {2, 3});
  ir::Value* same = t.node("Cast", {x}, {Attribute::make_int("to", static_cast<int64_t>(DataType::kFloat))});
  ir::Value* y = t.node("Relu", {same}, {}, "y");
  ir::Value* z = t.node("Cast", {y}, {Attribute::make_int("to", static_cast<int64_t>(DataType::kDouble))}, "z");
  t.output(z);
  Tensor in = random_tensor({2, 3});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::eliminate_identity_ops));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,3]) -> (z: double[2,3]) {\n"
            "  y = Relu(x)\n"
            "  z = Cast(y) {to=11}\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(EliminateIdentityOps, ExpandAndReshapeToTheInputsOwnShapeGoSymbolicDimsIncluded) {
  // Expand(x, Shape(x)) on x[batch,3]: inference proves the output is [batch,3].
  PassTest t;
  ir::Value* x = t.input("x", {"batch", 3});
  ir::Value* e = t.node("Expand", {x, t.node("Shape", {x}, {}, "s")}, {}, "e");
  ir::Value* r = t.node("Reshape", {e, t.initializer("same", i64({0, 3}))}, {}, "r");
  t.output(t.node("Relu", {r}, {}, "y"));
  Tensor in = random_tensor({2, 3});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::eliminate_identity_ops));
  EXPECT_EQ(t.print(),
            "graph main (x: float[batch,3], same: int64[2] = initializer) -> (y: float[batch,3]) {\n"
            "  y = Relu(x)\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(EliminateIdentityOps, ExpandAndReshapeThatChangeTheShapeStay) {
  PassTest t;
  ir::Value* x = t.input("x", {"batch", 3});
  ir::Value* e = t.node("Expand", {x, t.initializer("to", i64({2, 1, 3}))}, {}, "e");
  ir::Value* r = t.node("Reshape", {e, t.initializer("flat", i64({-1}))}, {}, "r");
  t.output(t.node("Relu", {r}, {}, "y"));
  expect_no_change(t, passes::eliminate_identity_ops);
}

TEST(EliminateIdentityOps, SliceThatKeepsEverythingGoes) {
  // Axis 0 is symbolic: only an INT64_MAX end is provably its end. Axis 1 has size 3: end 3 and
  // start -5 (clamped to 0) keep it whole.
  PassTest t;
  ir::Value* x = t.input("x", {"batch", 3});
  ir::Value* s = t.node("Slice", {x, t.initializer("starts", i64({0, -5})), t.initializer("ends", i64({kInt64Max, 3})),
                                  t.initializer("axes", i64({0, 1})), t.initializer("steps", i64({1, 1}))},
                        {}, "s");
  t.output(t.node("Relu", {s}, {}, "y"));
  Tensor in = random_tensor({2, 3});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::eliminate_identity_ops));
  EXPECT_EQ(t.print(),
            "graph main (x: float[batch,3], starts: int64[2] = initializer, ends: int64[2] = initializer, "
            "axes: int64[2] = initializer, steps: int64[2] = initializer) -> (y: float[batch,3]) {\n"
            "  y = Relu(x)\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(EliminateIdentityOps, SliceThatMayDropSomethingStays) {
  struct Case {
    std::vector<int64_t> starts, ends, axes, steps;
  };
  const std::vector<Case> cases = {
      {{0}, {2147483647}, {0}, {1}},  // INT32_MAX is not provably past a symbolic dim
      {{0}, {2}, {1}, {1}},           // end 2 of 3
      {{1}, {kInt64Max}, {1}, {1}},   // start 1
      {{-1}, {-kInt64Max}, {1}, {-1}},  // reverses
      {{-3}, {kInt64Max}, {0}, {1}},  // -3 on a symbolic dim may not reach the beginning
  };
  for (const Case& c : cases) {
    PassTest t;
    ir::Value* x = t.input("x", {"batch", 3});
    ir::Value* s = t.node("Slice", {x, t.initializer("starts", i64(c.starts)), t.initializer("ends", i64(c.ends)),
                                    t.initializer("axes", i64(c.axes)), t.initializer("steps", i64(c.steps))});
    t.output(t.node("Relu", {s}, {}, "y"));
    expect_no_change(t, passes::eliminate_identity_ops);
  }
}

TEST(EliminateIdentityOps, Opset9SliceWithAttributes) {
  PassTest t(9);
  ir::Value* x = t.input("x", {2, 3});
  ir::Value* s = t.node("Slice", {x}, {Attribute::make_ints("starts", {0}), Attribute::make_ints("ends", {kInt64Max})});
  t.output(t.node("Relu", {s}, {}, "y"));
  EXPECT_TRUE(t.run_pass(passes::eliminate_identity_ops));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,3]) -> (y: float[2,3]) {\n"
            "  y = Relu(x)\n"
            "}\n");
}

TEST(EliminateIdentityOps, IdentityTransposeSingleInputVariadicsAndZeroPadGo) {
  PassTest t;
  ir::Value* x = t.input("x", {2, 3});
  ir::Value* a = t.node("Transpose", {x}, {Attribute::make_ints("perm", {0, 1})});
  ir::Value* b = t.node("Concat", {a}, {Attribute::make_int("axis", 1)});
  ir::Value* c = t.node("Sum", {b});
  ir::Value* d = t.node("Max", {c});
  ir::Value* e = t.node("Pad", {d, t.initializer("pads", i64({0, 0, 0, 0}))});
  t.output(t.node("Relu", {e}, {}, "y"));
  Tensor in = random_tensor({2, 3});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::eliminate_identity_ops));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,3], pads: int64[4] = initializer) -> (y: float[2,3]) {\n"
            "  y = Relu(x)\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(EliminateIdentityOps, RealTransposeConcatOfTwoAndNonZeroPadStay) {
  PassTest t;
  ir::Value* x = t.input("x", {2, 3});
  ir::Value* a = t.node("Transpose", {x}, {Attribute::make_ints("perm", {1, 0})});
  ir::Value* b = t.node("Concat", {a, a}, {Attribute::make_int("axis", 1)});
  ir::Value* e = t.node("Pad", {b, t.initializer("pads", i64({0, 1, 0, 0}))});
  t.output(t.node("Relu", {e}, {}, "y"));
  expect_no_change(t, passes::eliminate_identity_ops);
}

TEST(EliminateIdentityOps, NeutralArithmeticGoesWhenBroadcastingChangesNothing) {
  // x * 1[1,3], 0 + x, x - 0, x / 1: all keep x's shape [2,3] and dtype.
  PassTest t;
  ir::Value* x = t.input("x", {2, 3});
  ir::Value* a = t.node("Mul", {x, t.initializer("one", f32({1, 3}, {1, 1, 1}))});
  ir::Value* b = t.node("Add", {t.initializer("zero", f32({}, {0})), a});
  ir::Value* c = t.node("Sub", {b, t.initializer("neg_zero", f32({}, {-0.f}))});
  ir::Value* d = t.node("Div", {c, t.initializer("one_too", f32({}, {1}))});
  t.output(t.node("Relu", {d}, {}, "y"));
  Tensor in = random_tensor({2, 3});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::eliminate_identity_ops));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,3], one: float[1,3] = initializer, zero: float[] = initializer, "
            "neg_zero: float[] = initializer, one_too: float[] = initializer) -> (y: float[2,3]) {\n"
            "  y = Relu(x)\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(EliminateIdentityOps, NeutralArithmeticStaysWhenItBroadcastsOrIsNotNeutral) {
  PassTest t;
  ir::Value* x = t.input("x", {3});
  ir::Value* a = t.node("Mul", {x, t.initializer("ones", f32({2, 3}, {1, 1, 1, 1, 1, 1}))});  // grows to [2,3]
  ir::Value* b = t.node("Sub", {t.initializer("zero", f32({}, {0})), a});                   // 0 - a = -a
  ir::Value* c = t.node("Div", {t.initializer("one", f32({}, {1})), b});                   // 1 / b
  ir::Value* d = t.node("Add", {c, t.initializer("almost", f32({3}, {0, 1e-7f, 0}))});    // not all 0
  ir::Value* e = t.node("Mul", {d, t.initializer("mixed", f32({3}, {1, 1, 2}))});         // not all 1
  ir::Value* f = t.node("Mul", {e, t.input("w", {3})});                                    // not constant
  t.output(t.node("Relu", {f}, {}, "y"));
  expect_no_change(t, passes::eliminate_identity_ops);
}

TEST(EliminateIdentityOps, GraphOutputThatIsTheIdentityOfAGraphInputStays) {
  PassTest t;
  t.output(t.node("Identity", {t.input("x", {4})}, {}, "y"));
  expect_no_change(t, passes::eliminate_identity_ops);
}

// ---- fold_reshape_chains -----------------------------------------------------------------------

TEST(FoldReshapeChains, ReshapeReshapeKeepsTheSecondTarget) {
  PassTest t;
  ir::Value* x = t.input("x", {"batch", 6});
  ir::Value* r1 = t.node("Reshape", {x, t.initializer("s1", i64({-1, 2, 3}))});
  t.output(t.node("Reshape", {r1, t.initializer("s2", i64({-1, 3}))}, {}, "y"));
  Tensor in = random_tensor({2, 6});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fold_reshape_chains));
  EXPECT_EQ(t.print(),
            "graph main (x: float[batch,6], s1: int64[3] = initializer, s2: int64[2] = initializer) -> "
            "(y: float[2*batch,3]) {\n"
            "  y = Reshape(x, s2)\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(FoldReshapeChains, ZeroInTheSecondTargetIsWrittenFromTheInferredShape) {
  // The second target's 0 copies dim 0 of the first's output (6), not of x (2): the fold writes
  // the inferred output shape [6,2,2] as a new constant target.
  PassTest t;
  ir::Value* x = t.input("x", {2, 3, 4});
  ir::Value* r1 = t.node("Reshape", {x, t.initializer("s1", i64({6, 4}))});
  t.output(t.node("Reshape", {r1, t.initializer("s2", i64({0, 2, 2}))}, {}, "y"));
  Tensor in = random_tensor({2, 3, 4});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fold_reshape_chains));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,3,4], s1: int64[2] = initializer, s2: int64[3] = initializer, "
            "reshape_shape: int64[3] = initializer) -> (y: float[6,2,2]) {\n"
            "  y = Reshape(x, reshape_shape)\n"
            "}\n");
  const Tensor& target = t.graph().find_value("reshape_shape")->initializer();
  EXPECT_EQ(std::vector<int64_t>(target.span<int64_t>().begin(), target.span<int64_t>().end()),
            (std::vector<int64_t>{6, 2, 2}));
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(FoldReshapeChains, PairThatRestoresTheShapeGoesSymbolicDimsIncluded) {
  // [batch,seq] -> Unsqueeze(1) -> [batch,1,seq] -> Squeeze(1) -> [batch,seq]: two symbolic dims
  // cannot be written as a constant target, but the pair provably changes nothing.
  PassTest t(13);
  ir::Value* x = t.input("x", {"batch", "seq"});
  ir::Value* u = t.node("Unsqueeze", {x, t.initializer("axis", i64({1}))});
  ir::Value* s = t.node("Squeeze", {u, t.graph().find_value("axis")});
  t.output(t.node("Relu", {s}, {}, "y"));
  Tensor in = random_tensor({2, 5});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fold_reshape_chains));
  EXPECT_EQ(t.print(),
            "graph main (x: float[batch,seq], axis: int64[1] = initializer) -> (y: float[batch,seq]) {\n"
            "  y = Relu(x)\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(FoldReshapeChains, UnsqueezePairsMergeTheirAxesOpset11And13) {
  // x[batch,seq] -> Unsqueeze([0]) -> [1,batch,seq] -> Unsqueeze([-1]) -> [1,batch,seq,1]:
  // one Unsqueeze with axes [0,3].
  Tensor in = random_tensor({2, 5});
  {
    PassTest t(11);
    ir::Value* x = t.input("x", {"batch", "seq"});
    ir::Value* u = t.node("Unsqueeze", {x}, {Attribute::make_ints("axes", {0})});
    t.output(t.node("Unsqueeze", {u}, {Attribute::make_ints("axes", {-1})}, "y"));
    auto before = t.run({{"x", in}});
    EXPECT_TRUE(t.run_pass(passes::fold_reshape_chains));
    EXPECT_EQ(t.print(),
              "graph main (x: float[batch,seq]) -> (y: float[1,batch,seq,1]) {\n"
              "  y = Unsqueeze(x) {axes=[0,3]}\n"
              "}\n");
    testing::expect_close(t.run({{"x", in}}), before);
  }
  {
    PassTest t(13);
    ir::Value* x = t.input("x", {"batch", "seq"});
    ir::Value* u = t.node("Unsqueeze", {x, t.initializer("a1", i64({0}))});
    t.output(t.node("Unsqueeze", {u, t.initializer("a2", i64({-1}))}, {}, "y"));
    auto before = t.run({{"x", in}});
    EXPECT_TRUE(t.run_pass(passes::fold_reshape_chains));
    EXPECT_EQ(t.print(),
              "graph main (x: float[batch,seq], a1: int64[1] = initializer, a2: int64[1] = initializer, "
              "unsqueeze_axes: int64[2] = initializer) -> (y: float[1,batch,seq,1]) {\n"
              "  y = Unsqueeze(x, unsqueeze_axes)\n"
              "}\n");
    const Tensor& axes = t.graph().find_value("unsqueeze_axes")->initializer();
    EXPECT_EQ(std::vector<int64_t>(axes.span<int64_t>().begin(), axes.span<int64_t>().end()),
              (std::vector<int64_t>{0, 3}));
    testing::expect_close(t.run({{"x", in}}), before);
  }
}

TEST(FoldReshapeChains, SqueezePairsMergeTheirAxesOpset11And13) {
  // x[1,batch,1,seq] -> Squeeze([0]) -> [batch,1,seq] -> Squeeze([1]) -> [batch,seq]: the
  // second's axis 1 is x's axis 2, so one Squeeze with axes [0,2].
  Tensor in = random_tensor({1, 2, 1, 5});
  {
    PassTest t(11);
    ir::Value* x = t.input("x", {1, "batch", 1, "seq"});
    ir::Value* s = t.node("Squeeze", {x}, {Attribute::make_ints("axes", {0})});
    t.output(t.node("Squeeze", {s}, {Attribute::make_ints("axes", {1})}, "y"));
    auto before = t.run({{"x", in}});
    EXPECT_TRUE(t.run_pass(passes::fold_reshape_chains));
    EXPECT_EQ(t.print(),
              "graph main (x: float[1,batch,1,seq]) -> (y: float[batch,seq]) {\n"
              "  y = Squeeze(x) {axes=[0,2]}\n"
              "}\n");
    testing::expect_close(t.run({{"x", in}}), before);
  }
  {
    PassTest t(17);
    ir::Value* x = t.input("x", {1, "batch", 1, "seq"});
    ir::Value* s = t.node("Squeeze", {x, t.initializer("a1", i64({0}))});
    t.output(t.node("Squeeze", {s, t.initializer("a2", i64({1}))}, {}, "y"));
    auto before = t.run({{"x", in}});
    EXPECT_TRUE(t.run_pass(passes::fold_reshape_chains));
    EXPECT_EQ(t.print(),
              "graph main (x: float[1,batch,1,seq], a1: int64[1] = initializer, a2: int64[1] = initializer, "
              "squeeze_axes: int64[2] = initializer) -> (y: float[batch,seq]) {\n"
              "  y = Squeeze(x, squeeze_axes)\n"
              "}\n");
    const Tensor& axes = t.graph().find_value("squeeze_axes")->initializer();
    EXPECT_EQ(std::vector<int64_t>(axes.span<int64_t>().begin(), axes.span<int64_t>().end()),
              (std::vector<int64_t>{0, 2}));
    testing::expect_close(t.run({{"x", in}}), before);
  }
}

TEST(FoldReshapeChains, FlattenThenUnsqueezeBecomesOneReshapeWithOneSymbolicDim) {
  // x[batch,3,4] -> Flatten -> [batch,12] -> Unsqueeze([0]) -> [1,batch,12]: target [1,-1,12].
  PassTest t(13);
  ir::Value* x = t.input("x", {"batch", 3, 4});
  ir::Value* f = t.node("Flatten", {x});
  t.output(t.node("Unsqueeze", {f, t.initializer("a", i64({0}))}, {}, "y"));
  Tensor in = random_tensor({2, 3, 4});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fold_reshape_chains));
  EXPECT_EQ(t.print(),
            "graph main (x: float[batch,3,4], a: int64[1] = initializer, reshape_shape: int64[3] = initializer) -> "
            "(y: float[1,batch,12]) {\n"
            "  y = Reshape(x, reshape_shape)\n"
            "}\n");
  const Tensor& target = t.graph().find_value("reshape_shape")->initializer();
  EXPECT_EQ(std::vector<int64_t>(target.span<int64_t>().begin(), target.span<int64_t>().end()),
            (std::vector<int64_t>{1, -1, 12}));
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(FoldReshapeChains, SymbolicDimsAtTheirInputIndexAreCopiedWithZero) {
  // [batch,seq,6] -> [0,0,2,3] -> [batch,seq,2,3] -> [0,0,3,2] -> [batch,seq,3,2]. The second
  // target's 0s copy the first's output dims, so it cannot be kept as it is (rule 1); batch and seq
  // sit at x's indices 0 and 1, so the new target copies them from x: [0,0,3,2].
  PassTest t;
  ir::Value* x = t.input("x", {"batch", "seq", 6});
  ir::Value* r1 = t.node("Reshape", {x, t.initializer("s1", i64({0, 0, 2, 3}))});
  t.output(t.node("Reshape", {r1, t.initializer("s2", i64({0, 0, 3, 2}))}, {}, "y"));
  Tensor in = random_tensor({2, 5, 6});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fold_reshape_chains));
  EXPECT_EQ(t.print(),
            "graph main (x: float[batch,seq,6], s1: int64[4] = initializer, s2: int64[4] = initializer, "
            "reshape_shape: int64[4] = initializer) -> (y: float[batch,seq,3,2]) {\n"
            "  y = Reshape(x, reshape_shape)\n"
            "}\n");
  const Tensor& target = t.graph().find_value("reshape_shape")->initializer();
  EXPECT_EQ(std::vector<int64_t>(target.span<int64_t>().begin(), target.span<int64_t>().end()),
            (std::vector<int64_t>{0, 0, 3, 2}));
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(FoldReshapeChains, DoesNotFoldWhenTheTargetWouldNeedTwoSymbols) {
  // [batch,seq,6] -> [batch,seq,2,3] -> Unsqueeze(0) -> [1,batch,seq,2,3]: batch and seq moved to
  // indices 1 and 2, where x has seq and 6, so neither can be copied and only one can be -1.
  PassTest t(13);
  ir::Value* x = t.input("x", {"batch", "seq", 6});
  ir::Value* r1 = t.node("Reshape", {x, t.initializer("s1", i64({0, 0, 2, 3}))});
  t.output(t.node("Unsqueeze", {r1, t.initializer("a", i64({0}))}, {}, "y"));
  expect_no_change(t, passes::fold_reshape_chains);
}

TEST(FoldReshapeChains, DoesNotFoldWhenTheFirstOutputHasAnotherConsumerOrIsAGraphOutput) {
  {
    PassTest t;
    ir::Value* x = t.input("x", {2, 6});
    ir::Value* r1 = t.node("Reshape", {x, t.initializer("s1", i64({12}))});
    t.output(t.node("Reshape", {r1, t.initializer("s2", i64({3, 4}))}, {}, "y"));
    t.output(t.node("Relu", {r1}, {}, "z"));
    expect_no_change(t, passes::fold_reshape_chains);
  }
  {
    PassTest t;
    ir::Value* x = t.input("x", {2, 6});
    ir::Value* r1 = t.node("Reshape", {x, t.initializer("s1", i64({12}))}, {}, "mid");
    t.output(t.node("Reshape", {r1, t.initializer("s2", i64({3, 4}))}, {}, "y"));
    t.output(r1);
    expect_no_change(t, passes::fold_reshape_chains);
  }
}

// ---- cancel_transposes -------------------------------------------------------------------------

TEST(CancelTransposes, InversePairGoes) {
  PassTest t;
  ir::Value* x = t.input("x", {"batch", 3, 4});
  ir::Value* a = t.node("Transpose", {x}, {Attribute::make_ints("perm", {1, 2, 0})});
  ir::Value* b = t.node("Transpose", {a}, {Attribute::make_ints("perm", {2, 0, 1})});
  t.output(t.node("Relu", {b}, {}, "y"));
  Tensor in = random_tensor({2, 3, 4});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::cancel_transposes));
  EXPECT_EQ(t.print(),
            "graph main (x: float[batch,3,4]) -> (y: float[batch,3,4]) {\n"
            "  y = Relu(x)\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(CancelTransposes, PairComposesIntoOneTranspose) {
  // x[2,3,4] -> [1,0,2] -> [3,2,4] -> [0,2,1] -> [3,4,2]; composed perm p1[p2[i]] = [1,2,0].
  PassTest t;
  ir::Value* x = t.input("x", {2, 3, 4});
  ir::Value* a = t.node("Transpose", {x}, {Attribute::make_ints("perm", {1, 0, 2})});
  t.output(t.node("Transpose", {a}, {Attribute::make_ints("perm", {0, 2, 1})}, "y"));
  Tensor in = random_tensor({2, 3, 4});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::cancel_transposes));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,3,4]) -> (y: float[3,4,2]) {\n"
            "  y = Transpose(x) {perm=[1,2,0]}\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(CancelTransposes, PushedThroughUnaryAndConstantBinaryOpsToCancel) {
  // T1 [0,2,1] makes [2,4,3]; c[3] runs along its last axis, which is x's axis 1, so c becomes
  // c'[1,3,1]. The scalar of Mul stays as it is.
  PassTest t;
  ir::Value* x = t.input("x", {2, 3, 4});
  ir::Value* a = t.node("Transpose", {x}, {Attribute::make_ints("perm", {0, 2, 1})});
  ir::Value* r = t.node("Relu", {a}, {}, "r");
  ir::Value* s = t.node("Add", {r, t.initializer("c", f32({3}, {1, 2, 3}))}, {}, "s");
  ir::Value* m = t.node("Mul", {t.initializer("k", f32({}, {0.5f})), s}, {}, "m");
  t.output(t.node("Transpose", {m}, {Attribute::make_ints("perm", {0, 2, 1})}, "y"));
  Tensor in = random_tensor({2, 3, 4});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::cancel_transposes));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,3,4], c: float[3] = initializer, k: float[] = initializer, "
            "c_transposed: float[1,3,1] = initializer) -> (y: float[2,3,4]) {\n"
            "  Relu_out = Relu(x)\n"
            "  Add_out = Add(Relu_out, c_transposed)\n"
            "  y = Mul(k, Add_out)\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(CancelTransposes, ConstantWithSeveralAxesIsTransposedByTheInversePerm) {
  // T1 [2,0,1] on x[2,3,4] gives [4,2,3]; c[4,1,3] lines up with it and becomes c'[1,3,4]
  // (c'[0,j,i] = c[i,0,j]); T2 [1,2,0] is T1's inverse, so no Transpose is left.
  PassTest t;
  ir::Value* x = t.input("x", {2, 3, 4});
  ir::Value* a = t.node("Transpose", {x}, {Attribute::make_ints("perm", {2, 0, 1})});
  std::vector<float> c(12);
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<float>(i);
  ir::Value* s = t.node("Sub", {a, t.initializer("c", f32({4, 1, 3}, c))}, {}, "s");
  ir::Value* e = t.node("Exp", {s}, {}, "e");
  t.output(t.node("Transpose", {e}, {Attribute::make_ints("perm", {1, 2, 0})}, "y"));
  Tensor in = random_tensor({2, 3, 4});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::cancel_transposes));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,3,4], c: float[4,1,3] = initializer, c_transposed: float[1,3,4] = initializer) "
            "-> (y: float[2,3,4]) {\n"
            "  Sub_out = Sub(x, c_transposed)\n"
            "  y = Exp(Sub_out)\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(CancelTransposes, PushedThroughABinaryOpWhoseOperandsAreBothTransposedAlike) {
  // ConvNeXt's residual: Add(T(a, p), T(b, p)) -> T(p^-1). T(a) has another consumer and stays;
  // the path goes through T(b) (its only consumer is the Add), and the Add reads a and b.
  PassTest t;
  ir::Value* a = t.input("a", {2, 3, 4});
  ir::Value* b = t.input("b", {2, 1, 4});
  ir::Value* ta = t.node("Transpose", {a}, {Attribute::make_ints("perm", {0, 2, 1})}, "ta");
  ir::Value* tb = t.node("Transpose", {b}, {Attribute::make_ints("perm", {0, 2, 1})}, "tb");
  ir::Value* s = t.node("Add", {ta, tb}, {}, "s");
  t.output(t.node("Transpose", {s}, {Attribute::make_ints("perm", {0, 2, 1})}, "y"));
  t.output(t.node("Neg", {ta}, {}, "z"));
  Tensor in_a = random_tensor({2, 3, 4}), in_b = random_tensor({2, 1, 4}, 2);
  auto before = t.run({{"a", in_a}, {"b", in_b}});
  EXPECT_TRUE(t.run_pass(passes::cancel_transposes));
  EXPECT_EQ(t.print(),
            "graph main (a: float[2,3,4], b: float[2,1,4]) -> (y: float[2,3,4], z: float[2,4,3]) {\n"
            "  ta = Transpose(a) {perm=[0,2,1]}\n"
            "  y = Add(a, b)\n"
            "  z = Neg(ta)\n"
            "}\n");
  testing::expect_close(t.run({{"a", in_a}, {"b", in_b}}), before);
}

TEST(CancelTransposes, FirstTransposeWithOtherConsumersStillCancelsAnAdjacentInverse) {
  PassTest t;
  ir::Value* x = t.input("x", {2, 3});
  ir::Value* a = t.node("Transpose", {x}, {Attribute::make_ints("perm", {1, 0})}, "a");
  ir::Value* b = t.node("Transpose", {a}, {Attribute::make_ints("perm", {1, 0})});
  t.output(t.node("Relu", {b}, {}, "y"));
  t.output(t.node("Neg", {a}, {}, "z"));
  Tensor in = random_tensor({2, 3});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::cancel_transposes));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,3]) -> (y: float[2,3], z: float[3,2]) {\n"
            "  a = Transpose(x) {perm=[1,0]}\n"
            "  y = Relu(x)\n"
            "  z = Neg(a)\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);
}

// Regions with readers outside them, external operands, operands transposed differently and
// broadcasting constants: test_optimizer_transposes.cc.

// ---- the three at level basic --------------------------------------------------------------------

TEST(Eliminations, SubgraphsAreCleanedAndOuterValuesAreReadDirectly) {
  // then: Relu(Transpose(Transpose(Identity(x)))) with x from the main graph -> Relu(x).
  PassTest t;
  ir::Value* c = t.input("c", {}, DataType::kBool);
  ir::Value* x = t.input("x", {2, 3});
  ir::Node* iff = t.graph().add_node("If", {c}, {"y"});
  auto then_branch = std::make_shared<ir::Graph>("then_branch", &t.graph());
  ir::Value* v = then_branch->add_node("Identity", {x}, {"i"})->output(0);
  for (const char* name : {"t1", "t2"}) {
    ir::Node* tr = then_branch->add_node("Transpose", {v}, {name});
    tr->set_attribute(Attribute::make_ints("perm", {1, 0}));
    v = tr->output(0);
  }
  then_branch->add_output(then_branch->add_node("Relu", {v}, {"then_out"})->output(0));
  auto else_branch = std::make_shared<ir::Graph>("else_branch", &t.graph());
  else_branch->add_output(else_branch->add_node("Neg", {x}, {"else_out"})->output(0));
  iff->set_attribute(Attribute::make_graph("then_branch", then_branch));
  iff->set_attribute(Attribute::make_graph("else_branch", else_branch));
  t.output(iff->output(0));
  Tensor in = random_tensor({2, 3});
  Tensor yes = Tensor::from_vector<uint8_t>(DataType::kBool, {}, {1});
  auto before = t.run({{"c", yes}, {"x", in}});
  t.run_level(GraphOptimizationLevel::kBasic);
  EXPECT_EQ(t.print(),
            "graph main (c: bool[], x: float[2,3]) -> (y: float[2,3]) {\n"
            "  y = If(c) {else_branch=graph else_branch () -> (else_out: float[2,3]) {\n"
            "    else_out = Neg(x)\n"
            "  }, then_branch=graph then_branch () -> (then_out: float[2,3]) {\n"
            "    then_out = Relu(x)\n"
            "  }}\n"
            "}\n");
  testing::expect_close(t.run({{"c", yes}, {"x", in}}), before);
}

TEST(Eliminations, BasicLevelCleansAChainAndDisablingThePassesKeepsIt) {
  auto build = [](PassTest& t) {
    ir::Value* x = t.input("x", {"batch", 4, 6});
    ir::Value* a = t.node("Transpose", {t.node("Identity", {x})}, {Attribute::make_ints("perm", {0, 2, 1})});
    ir::Value* b = t.node("Transpose", {t.node("Sigmoid", {a})}, {Attribute::make_ints("perm", {0, 2, 1})});
    ir::Value* r = t.node("Reshape", {b, t.initializer("s1", i64({-1, 2, 2, 6}))});
    t.output(t.node("Reshape", {r, t.initializer("s2", i64({-1, 24}))}, {}, "y"));
  };
  Tensor in = random_tensor({3, 4, 6});
  PassTest t;
  build(t);
  auto before = t.run({{"x", in}});
  t.run_level(GraphOptimizationLevel::kBasic);
  EXPECT_EQ(t.print(),
            "graph main (x: float[batch,4,6], s2: int64[2] = initializer) -> (y: float[batch,24]) {\n"
            "  Sigmoid_out = Sigmoid(x)\n"
            "  y = Reshape(Sigmoid_out, s2)\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);

  // With the three passes disabled the Identity, both Transposes and both Reshapes stay.
  PassTest off;
  build(off);
  off.infer();
  OptimizeOptions o;
  o.level = GraphOptimizationLevel::kBasic;
  o.evaluate = runtime::evaluate_node;
  o.verify_each_pass = true;
  o.disabled_passes = {"eliminate_identity_ops", "fold_reshape_chains", "cancel_transposes"};
  const OptimizeReport report = optimize(off.model(), o);
  EXPECT_EQ(report.nodes_after, 6u);
  testing::expect_close(off.run({{"x", in}}), before);
}

// ---- fold_transpose_into_reduce -------------------------------------------------------------

TEST(FoldTransposeIntoReduce, AxesAttributeArePermuted) {
  // [3, batch, 4] -> perm [1,0,2] -> [batch, 3, 4] -> mean over axis 1 -> [batch, 4] = mean of x over axis 0.
  PassTest t;
  ir::Value* x = t.input("x", {3, "batch", 4});
  ir::Value* a = t.node("Transpose", {x}, {Attribute::make_ints("perm", {1, 0, 2})});
  t.output(t.node("ReduceMean", {a}, {Attribute::make_ints("axes", {1}), Attribute::make_int("keepdims", 0)}, "y"));
  Tensor in = random_tensor({3, 2, 4});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fold_transpose_into_reduce));
  EXPECT_EQ(t.print(),
            "graph main (x: float[3,batch,4]) -> (y: float[batch,4]) {\n"
            "  y = ReduceMean(x) {axes=[0], keepdims=0}\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(FoldTransposeIntoReduce, AxesInputGetsAPermutedConstant) {
  // [2,3,4] -> perm [2,0,1] -> [4,2,3] -> sum over axis 0 (the input's axis 2) -> [2,3].
  PassTest t(18);
  ir::Value* x = t.input("x", {2, 3, 4});
  ir::Value* axes = t.initializer("axes", Tensor::from_vector<int64_t>(DataType::kInt64, {1}, {0}));
  ir::Value* a = t.node("Transpose", {x}, {Attribute::make_ints("perm", {2, 0, 1})});
  t.output(t.node("ReduceSum", {a, axes}, {Attribute::make_int("keepdims", 0)}, "y"));
  Tensor in = random_tensor({2, 3, 4});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fold_transpose_into_reduce));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,3,4], axes: int64[1] = initializer, axes_permuted: int64[1] = initializer) -> "
            "(y: float[2,3]) {\n"
            "  y = ReduceSum(x, axes_permuted) {keepdims=0}\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(FoldTransposeIntoReduce, LeavesKeepdimsReorderedKeptAxesAndSharedTransposes) {
  {
    PassTest t;  // keepdims defaults to 1: the kept size-1 axis would need the Transpose
    ir::Value* a = t.node("Transpose", {t.input("x", {3, 2, 4})}, {Attribute::make_ints("perm", {1, 0, 2})});
    t.output(t.node("ReduceMean", {a}, {Attribute::make_ints("axes", {1})}, "y"));
    expect_no_change(t, passes::fold_transpose_into_reduce);
  }
  {
    PassTest t;  // kept axes come out as input axes 2, 0: the order changes
    ir::Value* a = t.node("Transpose", {t.input("x", {3, 2, 4})}, {Attribute::make_ints("perm", {2, 1, 0})});
    t.output(t.node("ReduceMean", {a}, {Attribute::make_ints("axes", {1}), Attribute::make_int("keepdims", 0)}, "y"));
    expect_no_change(t, passes::fold_transpose_into_reduce);
  }
  {
    PassTest t;  // the transposed tensor is read elsewhere too
    ir::Value* a = t.node("Transpose", {t.input("x", {3, 2, 4})}, {Attribute::make_ints("perm", {1, 0, 2})}, "a");
    t.output(t.node("ReduceMean", {a}, {Attribute::make_ints("axes", {1}), Attribute::make_int("keepdims", 0)}, "y"));
    t.output(t.node("Relu", {a}, {}, "z"));
    expect_no_change(t, passes::fold_transpose_into_reduce);
  }
}

}  // namespace
}  // namespace ferry::optimizer
