// optimizer/passes: fuse_conv_activation, fuse_gemm_activation, fuse_matmul_transpose_scale and
// fuse_elementwise_chains (ferry.FusedConv, FusedGemm, FusedMatMul, ElementwiseChain): for each,
// the fused graph (golden printed IR), numeric parity with the unfused graph, and the cases that
// must not fire.

#include <gtest/gtest.h>

#include "optimizer/passes.h"
#include "pass_test_util.h"

namespace ferry::optimizer {
namespace {

using ir::Attribute;
using testing::expect_close;
using testing::PassTest;
using testing::random_tensor;

Tensor scalar(float v, std::vector<int64_t> shape = {}) {
  return Tensor::from_vector<float>(DataType::kFloat, std::move(shape), {v});
}

// x[1,2,5,5] -> Conv(W[3,2,3,3], B[3], pads 1) -> conv[1,3,5,5].
ir::Value* add_conv(PassTest& t, ir::Value* x, const std::string& out = "conv") {
  ir::Value* w = t.initializer("w", random_tensor({3, 2, 3, 3}, 7));
  ir::Value* b = t.initializer("b", random_tensor({3}, 8));
  return t.node("Conv", {x, w, b}, {Attribute::make_ints("kernel_shape", {3, 3}), Attribute::make_ints("pads", {1, 1, 1, 1})},
                out);
}

// ---- fuse_conv_activation ----------------------------------------------------------------------

TEST(FuseConvActivation, ConvReluBecomesFusedConv) {
  PassTest t;
  ir::Value* x = t.input("x", {"n", 2, 5, 5});
  t.output(t.node("Relu", {add_conv(t, x)}, {}, "y"));
  const Tensor in = random_tensor({2, 2, 5, 5});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_conv_activation));
  EXPECT_EQ(t.print(),
            "graph main (x: float[n,2,5,5], w: float[3,2,3,3] = initializer, b: float[3] = initializer) -> (y: float[n,3,5,5]) {\n"
            "  y = ferry:FusedConv(x, w, b) {activation=\"Relu\", activation_params=[], kernel_shape=[3,3], pads=[1,1,1,1]}\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
  EXPECT_EQ(t.model().opset_imports.at("ferry"), 1);
  EXPECT_FALSE(t.run_pass(passes::fuse_conv_activation));
}

TEST(FuseConvActivation, ResidualAddThenReluJoinTheConv) {
  PassTest t;
  ir::Value* x = t.input("x", {1, 2, 5, 5});
  ir::Value* z = t.input("z", {1, 3, 5, 5});
  t.output(t.node("Relu", {t.node("Add", {z, add_conv(t, x)}, {}, "sum")}, {}, "y"));
  const Tensor in = random_tensor({1, 2, 5, 5}), zin = random_tensor({1, 3, 5, 5}, 3);
  auto before = t.run({{"x", in}, {"z", zin}});
  EXPECT_TRUE(t.run_pass(passes::fuse_conv_activation));
  EXPECT_EQ(t.print(),
            "graph main (x: float[1,2,5,5], z: float[1,3,5,5], w: float[3,2,3,3] = initializer, b: float[3] = initializer) -> "
            "(y: float[1,3,5,5]) {\n"
            "  y = ferry:FusedConv(x, w, b, z) {activation=\"Relu\", activation_params=[], kernel_shape=[3,3], "
            "pads=[1,1,1,1]}\n"
            "}\n");
  expect_close(t.run({{"x", in}, {"z", zin}}), before);
}

TEST(FuseConvActivation, ClipWithConstantBoundsAndHardSigmoid) {
  PassTest t;
  ir::Value* x = t.input("x", {1, 2, 5, 5});
  ir::Value* lo = t.initializer("lo", scalar(0.f));
  ir::Value* hi = t.initializer("hi", scalar(0.5f));
  t.output(t.node("Clip", {add_conv(t, x), lo, hi}, {}, "y"));
  const Tensor in = random_tensor({1, 2, 5, 5});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_conv_activation));
  EXPECT_EQ(t.print(),
            "graph main (x: float[1,2,5,5], lo: float[] = initializer, hi: float[] = initializer, w: float[3,2,3,3] = "
            "initializer, b: float[3] = initializer) -> (y: float[1,3,5,5]) {\n"
            "  y = ferry:FusedConv(x, w, b) {activation=\"Clip\", activation_params=[0,0.5], kernel_shape=[3,3], "
            "pads=[1,1,1,1]}\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);

  PassTest h;
  ir::Value* hx = h.input("x", {1, 2, 5, 5});
  h.output(h.node("HardSigmoid", {add_conv(h, hx)}, {Attribute::make_float("alpha", 0.3f)}, "y"));
  auto hbefore = h.run({{"x", in}});
  EXPECT_TRUE(h.run_pass(passes::fuse_conv_activation));
  EXPECT_NE(h.print().find("activation=\"HardSigmoid\", activation_params=[0.300000012,0.5]"), std::string::npos)
      << h.print();
  expect_close(h.run({{"x", in}}), hbefore);
}

TEST(FuseConvActivation, SigmoidTimesConvIsSiLU) {
  PassTest t;
  ir::Value* x = t.input("x", {1, 2, 5, 5});
  ir::Value* c = add_conv(t, x);
  t.output(t.node("Mul", {t.node("Sigmoid", {c}, {}, "sig"), c}, {}, "y"));
  const Tensor in = random_tensor({1, 2, 5, 5});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_conv_activation));
  EXPECT_EQ(t.print(),
            "graph main (x: float[1,2,5,5], w: float[3,2,3,3] = initializer, b: float[3] = initializer) -> (y: float[1,3,5,5]) {\n"
            "  y = ferry:FusedConv(x, w, b) {activation=\"SiLU\", activation_params=[], kernel_shape=[3,3], pads=[1,1,1,1]}\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
}

TEST(FuseConvActivation, DoesNotFireOnNonConstantClipBounds) {
  PassTest t;
  ir::Value* x = t.input("x", {1, 2, 5, 5});
  ir::Value* lo = t.input("lo", {});
  t.output(t.node("Clip", {add_conv(t, x), lo}, {}, "y"));
  EXPECT_FALSE(t.run_pass(passes::fuse_conv_activation));
}

TEST(FuseConvActivation, DoesNotFireWhenTheConvOutputHasASecondConsumer) {
  PassTest t;
  ir::Value* x = t.input("x", {1, 2, 5, 5});
  ir::Value* c = add_conv(t, x);
  t.output(t.node("Relu", {c}, {}, "y"));
  t.output(t.node("Neg", {c}, {}, "z"));
  EXPECT_FALSE(t.run_pass(passes::fuse_conv_activation));
}

TEST(FuseConvActivation, DoesNotFireWhenTheConvOutputIsAGraphOutput) {
  PassTest t;
  ir::Value* x = t.input("x", {1, 2, 5, 5});
  ir::Value* c = add_conv(t, x);
  t.output(t.node("Relu", {c}, {}, "y"));
  t.output(c);
  EXPECT_FALSE(t.run_pass(passes::fuse_conv_activation));
}

TEST(FuseConvActivation, DoesNotFuseABroadcastingResidual) {
  // Z [1,3,1,1] broadcasts over the conv output: FusedConv adds Z element by element, so no.
  PassTest t;
  ir::Value* x = t.input("x", {1, 2, 5, 5});
  ir::Value* z = t.input("z", {1, 3, 1, 1});
  t.output(t.node("Add", {add_conv(t, x), z}, {}, "y"));
  EXPECT_FALSE(t.run_pass(passes::fuse_conv_activation));
  // Nor a residual whose shape is only possibly equal (a different symbol).
  PassTest s;
  ir::Value* sx = s.input("x", {"n", 2, 5, 5});
  ir::Value* sz = s.input("z", {"m", 3, 5, 5});
  s.output(s.node("Add", {add_conv(s, sx), sz}, {}, "y"));
  EXPECT_FALSE(s.run_pass(passes::fuse_conv_activation));
}

// ---- fuse_gemm_activation ----------------------------------------------------------------------

TEST(FuseGemmActivation, GemmLeakyReluBecomesFusedGemm) {
  PassTest t;
  ir::Value* a = t.input("a", {"m", 4});
  ir::Value* w = t.initializer("w", random_tensor({3, 4}, 5));
  ir::Value* c = t.initializer("c", random_tensor({3}, 6));
  ir::Value* g = t.node("Gemm", {a, w, c}, {Attribute::make_int("transB", 1), Attribute::make_float("alpha", 0.5f)}, "g");
  t.output(t.node("LeakyRelu", {g}, {Attribute::make_float("alpha", 0.1f)}, "y"));
  const Tensor in = random_tensor({5, 4});
  auto before = t.run({{"a", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_gemm_activation));
  EXPECT_EQ(t.print(),
            "graph main (a: float[m,4], w: float[3,4] = initializer, c: float[3] = initializer) -> (y: float[m,3]) {\n"
            "  y = ferry:FusedGemm(a, w, c) {activation=\"LeakyRelu\", activation_params=[0.100000001], alpha=0.5, "
            "transB=1}\n"
            "}\n");
  expect_close(t.run({{"a", in}}), before);
}

TEST(FuseGemmActivation, MatMulTanhBecomesFusedMatMul) {
  PassTest t;
  ir::Value* a = t.input("a", {2, 3, 4});
  ir::Value* b = t.input("b", {4, 5});
  t.output(t.node("Tanh", {t.node("MatMul", {a, b}, {}, "mm")}, {}, "y"));
  const Tensor ain = random_tensor({2, 3, 4}), bin = random_tensor({4, 5}, 2);
  auto before = t.run({{"a", ain}, {"b", bin}});
  EXPECT_TRUE(t.run_pass(passes::fuse_gemm_activation));
  EXPECT_EQ(t.print(),
            "graph main (a: float[2,3,4], b: float[4,5]) -> (y: float[2,3,5]) {\n"
            "  y = ferry:FusedMatMul(a, b) {activation=\"Tanh\", activation_params=[]}\n"
            "}\n");
  expect_close(t.run({{"a", ain}, {"b", bin}}), before);
}

TEST(FuseGemmActivation, DoesNotFireWhenTheGemmOutputIsAlsoRead) {
  PassTest t;
  ir::Value* a = t.input("a", {2, 4});
  ir::Value* w = t.initializer("w", random_tensor({4, 3}, 5));
  ir::Value* g = t.node("Gemm", {a, w}, {}, "g");
  t.output(t.node("Relu", {g}, {}, "y"));
  t.output(t.node("Sigmoid", {g}, {}, "z"));
  EXPECT_FALSE(t.run_pass(passes::fuse_gemm_activation));
}

TEST(FuseGemmActivation, GeluAfterAReshapeJoinsTheGemmAndTheReshapeMovesAfter) {
  // GPT-2's MLP: Gemm -> Reshape -> ferry.Gelu{tanh}.
  PassTest t;
  t.model().opset_imports["ferry"] = 1;
  ir::Value* a = t.input("a", {6, 4});
  ir::Value* w = t.initializer("w", random_tensor({4, 8}, 5));
  ir::Value* c = t.initializer("c", random_tensor({8}, 6));
  ir::Value* shape = t.initializer("shape", Tensor::from_vector<int64_t>(DataType::kInt64, {3}, {1, 6, 8}));
  ir::Value* g = t.node("Gemm", {a, w, c}, {}, "g");
  ir::Value* r = t.node("Reshape", {g, shape}, {}, "r");
  t.output(t.node("Gelu", {r}, {Attribute::make_string("approximate", "tanh")}, "y", kFerryDomain));
  const Tensor in = random_tensor({6, 4});
  auto before = t.run({{"a", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_gemm_activation));
  EXPECT_EQ(t.print(),
            "graph main (a: float[6,4], w: float[4,8] = initializer, c: float[8] = initializer, shape: int64[3] = "
            "initializer) -> (y: float[1,6,8]) {\n"
            "  FusedGemm_out = ferry:FusedGemm(a, w, c) {activation=\"GeluTanh\", activation_params=[]}\n"
            "  y = Reshape(FusedGemm_out, shape)\n"
            "}\n");
  expect_close(t.run({{"a", in}}), before);
}

TEST(FuseGemmActivation, MatMulGeluBecomesFusedMatMul) {
  PassTest t(20);  // ai.onnx Gelu
  ir::Value* a = t.input("a", {2, 3, 4});
  ir::Value* b = t.initializer("b", random_tensor({4, 5}, 2));
  t.output(t.node("Gelu", {t.node("MatMul", {a, b}, {}, "mm")}, {}, "y"));
  const Tensor ain = random_tensor({2, 3, 4});
  auto before = t.run({{"a", ain}});
  EXPECT_TRUE(t.run_pass(passes::fuse_gemm_activation));
  EXPECT_EQ(t.print(),
            "graph main (a: float[2,3,4], b: float[4,5] = initializer) -> (y: float[2,3,5]) {\n"
            "  y = ferry:FusedMatMul(a, b) {activation=\"Gelu\", activation_params=[]}\n"
            "}\n");
  expect_close(t.run({{"a", ain}}), before);
}

TEST(FuseGemmActivation, DoesNotFireOnAGeluWithBiasOrAReshapeReadTwice) {
  PassTest t;
  ir::Value* a = t.input("a", {2, 4});
  ir::Value* w = t.initializer("w", random_tensor({4, 3}, 5));
  ir::Value* bias = t.initializer("bias", random_tensor({3}, 7));
  t.output(t.node("Gelu", {t.node("MatMul", {a, w}, {}, "mm"), bias}, {}, "y", kFerryDomain));
  EXPECT_FALSE(t.run_pass(passes::fuse_gemm_activation));

  PassTest s;
  ir::Value* sa = s.input("a", {2, 4});
  ir::Value* sw = s.initializer("w", random_tensor({4, 3}, 5));
  ir::Value* shape = s.initializer("shape", Tensor::from_vector<int64_t>(DataType::kInt64, {3}, {1, 2, 3}));
  ir::Value* r = s.node("Reshape", {s.node("Gemm", {sa, sw}, {}, "g"), shape}, {}, "r");
  s.output(s.node("Relu", {r}, {}, "y"));
  s.output(s.node("Neg", {r}, {}, "z"));
  EXPECT_FALSE(s.run_pass(passes::fuse_gemm_activation));
}

// ---- fuse_matmul_transpose_scale ---------------------------------------------------------------

TEST(FuseMatMulTransposeScale, TransposedOperandAndDivideByScalar) {
  PassTest t;
  ir::Value* q = t.input("q", {"b", 3, 4});
  ir::Value* k = t.input("k", {"b", 5, 4});
  ir::Value* kt = t.node("Transpose", {k}, {Attribute::make_ints("perm", {0, 2, 1})}, "kt");
  ir::Value* s = t.node("MatMul", {q, kt}, {}, "s");
  t.output(t.node("Div", {s, t.initializer("d", scalar(8.f))}, {}, "y"));
  const Tensor qin = random_tensor({2, 3, 4}), kin = random_tensor({2, 5, 4}, 2);
  auto before = t.run({{"q", qin}, {"k", kin}});
  EXPECT_TRUE(t.run_pass(passes::fuse_matmul_transpose_scale));
  EXPECT_EQ(t.print(),
            "graph main (q: float[b,3,4], k: float[b,5,4], d: float[] = initializer) -> (y: float[b,3,5]) {\n"
            "  y = ferry:FusedMatMul(q, k) {alpha=0.125, transA=0, transB=1}\n"
            "}\n");
  expect_close(t.run({{"q", qin}, {"k", kin}}), before);
}

TEST(FuseMatMulTransposeScale, ScaledAndTransposedFirstOperand) {
  PassTest t;
  ir::Value* a = t.input("a", {4, 3});
  ir::Value* b = t.input("b", {4, 5});
  ir::Value* at = t.node("Transpose", {a}, {}, "at");
  ir::Value* as = t.node("Mul", {t.initializer("half", scalar(0.5f, {1})), at}, {}, "as");
  t.output(t.node("MatMul", {as, b}, {}, "y"));
  const Tensor ain = random_tensor({4, 3}), bin = random_tensor({4, 5}, 2);
  auto before = t.run({{"a", ain}, {"b", bin}});
  EXPECT_TRUE(t.run_pass(passes::fuse_matmul_transpose_scale));
  EXPECT_EQ(t.print(),
            "graph main (a: float[4,3], b: float[4,5], half: float[1] = initializer) -> (y: float[3,5]) {\n"
            "  y = ferry:FusedMatMul(a, b) {alpha=0.5, transA=1, transB=0}\n"
            "}\n");
  expect_close(t.run({{"a", ain}, {"b", bin}}), before);
}

TEST(FuseMatMulTransposeScale, DoesNotFoldOtherTransposesSharedOnesOrVectorScales) {
  {  // perm [1,0,2] moves a batch axis
    PassTest t;
    ir::Value* k = t.input("k", {4, 2, 5});
    ir::Value* kt = t.node("Transpose", {k}, {Attribute::make_ints("perm", {1, 0, 2})}, "kt");
    t.output(t.node("MatMul", {t.input("q", {2, 3, 4}), kt}, {}, "y"));
    EXPECT_FALSE(t.run_pass(passes::fuse_matmul_transpose_scale));
  }
  {  // the transposed value is read elsewhere too
    PassTest t;
    ir::Value* kt = t.node("Transpose", {t.input("k", {5, 4})}, {}, "kt");
    t.output(t.node("MatMul", {t.input("q", {3, 4}), kt}, {}, "y"));
    t.output(t.node("Neg", {kt}, {}, "z"));
    EXPECT_FALSE(t.run_pass(passes::fuse_matmul_transpose_scale));
  }
  {  // a per-column scale is not a scalar
    PassTest t;
    ir::Value* mm = t.node("MatMul", {t.input("q", {3, 4}), t.input("k", {4, 5})}, {}, "mm");
    t.output(t.node("Mul", {mm, t.initializer("c", random_tensor({5}))}, {}, "y"));
    EXPECT_FALSE(t.run_pass(passes::fuse_matmul_transpose_scale));
  }
  {  // a one-element scale of higher rank than the product broadcasts it
    PassTest t;
    ir::Value* mm = t.node("MatMul", {t.input("q", {3, 4}), t.input("k", {4, 5})}, {}, "mm");
    t.output(t.node("Mul", {mm, t.initializer("c", scalar(2.f, {1, 1, 1}))}, {}, "y"));
    EXPECT_FALSE(t.run_pass(passes::fuse_matmul_transpose_scale));
  }
}

// ---- fuse_elementwise_chains -------------------------------------------------------------------

TEST(FuseElementwiseChains, ScaleShiftReluBecomesOneChain) {
  PassTest t;
  ir::Value* x = t.input("x", {"n", 6});
  ir::Value* m = t.node("Mul", {x, t.initializer("s", scalar(0.5f))}, {}, "m");
  ir::Value* a = t.node("Add", {t.initializer("o", scalar(1.f, {1})), m}, {}, "a");
  t.output(t.node("Relu", {a}, {}, "y"));
  const Tensor in = random_tensor({3, 6});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_elementwise_chains));
  EXPECT_EQ(t.print(),
            "graph main (x: float[n,6], s: float[] = initializer, o: float[1] = initializer) -> (y: float[n,6]) {\n"
            "  y = ferry:ElementwiseChain(x) {constants=[0.5,1,0], ops=[\"Mul\",\"Add\",\"Relu\"]}\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
  EXPECT_FALSE(t.run_pass(passes::fuse_elementwise_chains));
}

TEST(FuseElementwiseChains, ReversedOperandsClipAndHardSigmoid) {
  PassTest t;
  ir::Value* x = t.input("x", {4, 5});
  ir::Value* r = t.node("Sub", {t.initializer("one", scalar(1.f)), x}, {}, "r");
  ir::Value* d = t.node("Div", {t.initializer("two", scalar(2.f)), r}, {}, "d");
  ir::Value* c = t.node("Clip", {d, t.initializer("lo", scalar(-3.f)), t.initializer("hi", scalar(3.f))}, {}, "c");
  ir::Value* p = t.node("Pow", {c, t.initializer("e", Tensor::from_vector<int64_t>(DataType::kInt64, {}, {2}))}, {}, "p");
  t.output(t.node("HardSigmoid", {p}, {}, "y"));
  const Tensor in = random_tensor({4, 5});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_elementwise_chains));
  EXPECT_EQ(t.print(),
            "graph main (x: float[4,5], one: float[] = initializer, two: float[] = initializer, lo: float[] = initializer, "
            "hi: float[] = initializer, e: int64[] = initializer) -> (y: float[4,5]) {\n"
            "  y = ferry:ElementwiseChain(x) {constants=[1,2,-3,3,2,0.200000003,0.5,1,0], "
            "ops=[\"RSub\",\"RDiv\",\"Max\",\"Min\",\"Pow\",\"Mul\",\"Add\",\"Min\",\"Max\"]}\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
}

TEST(FuseElementwiseChains, StopsAtASecondConsumerAndAGraphOutput) {
  // a is read twice, so the chain starts after it; c is a graph output, so the chain ends there
  // (a graph output may end a chain, not sit inside one): only Neg -> Abs fuses.
  PassTest t;
  ir::Value* x = t.input("x", {4});
  ir::Value* a = t.node("Exp", {x}, {}, "a");
  ir::Value* b = t.node("Neg", {a}, {}, "b");
  ir::Value* c = t.node("Abs", {b}, {}, "c");
  ir::Value* d = t.node("Sqrt", {c}, {}, "d");
  t.output(t.node("Add", {a, d}, {}, "y"));
  t.output(c);
  const Tensor in = random_tensor({4});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_elementwise_chains));
  EXPECT_EQ(t.print(),
            "graph main (x: float[4]) -> (y: float[4], c: float[4]) {\n"
            "  a = Exp(x)\n"
            "  c = ferry:ElementwiseChain(a) {constants=[0,0], ops=[\"Neg\",\"Abs\"]}\n"
            "  d = Sqrt(c)\n"
            "  y = Add(a, d)\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
  EXPECT_FALSE(t.run_pass(passes::fuse_elementwise_chains));
}

TEST(FuseElementwiseChains, LeavesBroadcastingConstantsAndOtherTypesAlone) {
  {  // x[4] * c[1,1] has shape [1,4]: the constant broadcasts x
    PassTest t;
    ir::Value* x = t.input("x", {4});
    ir::Value* m = t.node("Mul", {x, t.initializer("c", scalar(2.f, {1, 1}))}, {}, "m");
    t.output(t.node("Relu", {m}, {}, "y"));
    EXPECT_FALSE(t.run_pass(passes::fuse_elementwise_chains));
  }
  {  // int32 is not float32
    PassTest t;
    ir::Value* x = t.input("x", {4}, DataType::kInt32);
    ir::Value* m = t.node("Mul", {x, t.initializer("c", Tensor::from_vector<int32_t>(DataType::kInt32, {}, {2}))}, {}, "m");
    t.output(t.node("Neg", {m}, {}, "y"));
    EXPECT_FALSE(t.run_pass(passes::fuse_elementwise_chains));
  }
  {  // the other operand is not a constant
    PassTest t;
    ir::Value* x = t.input("x", {4});
    ir::Value* m = t.node("Mul", {x, t.input("s", {})}, {}, "m");
    t.output(t.node("Relu", {m}, {}, "y"));
    EXPECT_FALSE(t.run_pass(passes::fuse_elementwise_chains));
  }
}

// ---- subgraphs ---------------------------------------------------------------------------------

TEST(FusionsInSubgraphs, NodesOfTheEnclosingGraphStayThere) {
  // The Conv and the Exp are in the main graph; their only readers are in the If's then-branch.
  // Fusing across would move the Conv / Exp into the branch: the fusions stay inside one graph,
  // so only the branch's own Neg -> Abs becomes a chain.
  PassTest t;
  ir::Value* c = t.input("c", {}, DataType::kBool);
  ir::Value* x = t.input("x", {1, 2, 5, 5});
  ir::Value* z = t.input("z", {1, 3, 5, 5});
  ir::Value* conv = add_conv(t, x);
  ir::Value* e = t.node("Exp", {x}, {}, "e");
  ir::Node* iff = t.graph().add_node("If", {c}, {"y", "y2"});
  auto then_branch = std::make_shared<ir::Graph>("then_branch", &t.graph());
  then_branch->add_output(then_branch->add_node("Relu", {conv}, {"then_out"})->output(0));
  ir::Value* n = then_branch->add_node("Neg", {e}, {"n"})->output(0);
  then_branch->add_output(then_branch->add_node("Abs", {n}, {"then_out2"})->output(0));
  auto else_branch = std::make_shared<ir::Graph>("else_branch", &t.graph());
  else_branch->add_output(else_branch->add_node("Neg", {z}, {"else_out"})->output(0));
  else_branch->add_output(else_branch->add_node("Sqrt", {x}, {"else_out2"})->output(0));
  iff->set_attribute(Attribute::make_graph("then_branch", then_branch));
  iff->set_attribute(Attribute::make_graph("else_branch", else_branch));
  t.output(iff->output(0));
  t.output(iff->output(1));
  const Tensor in = random_tensor({1, 2, 5, 5});
  const Tensor yes = Tensor::from_vector<uint8_t>(DataType::kBool, {}, {1});
  const Tensor zin = random_tensor({1, 3, 5, 5}, 4);
  auto before = t.run({{"c", yes}, {"x", in}, {"z", zin}});
  t.run_level(GraphOptimizationLevel::kExtended);
  EXPECT_EQ(t.print(),
            "graph main (c: bool[], x: float[1,2,5,5], z: float[1,3,5,5], w: float[3,2,3,3] = initializer, b: float[3] = "
            "initializer) -> (y: float[1,3,5,5], y2: float[1,2,5,5]) {\n"
            "  conv = Conv(x, w, b) {kernel_shape=[3,3], pads=[1,1,1,1]}\n"
            "  e = Exp(x)\n"
            "  y, y2 = If(c) {else_branch=graph else_branch () -> (else_out: float[1,3,5,5], else_out2: float[1,2,5,5]) {\n"
            "    else_out = Neg(z)\n"
            "    else_out2 = Sqrt(x)\n"
            "  }, then_branch=graph then_branch () -> (then_out: float[1,3,5,5], then_out2: float[1,2,5,5]) {\n"
            "    then_out = Relu(conv)\n"
            "    then_out2 = ferry:ElementwiseChain(e) {constants=[0,0], ops=[\"Neg\",\"Abs\"]}\n"
            "  }}\n"
            "}\n");
  expect_close(t.run({{"c", yes}, {"x", in}, {"z", zin}}), before);
}

// ---- the extended level as a whole ---------------------------------------------------------------

TEST(FusionsAtExtendedLevel, ConvResidualReluAndMatMulScaleFuse) {
  PassTest t;
  ir::Value* x = t.input("x", {1, 2, 5, 5});
  ir::Value* z = t.input("z", {1, 3, 5, 5});
  ir::Value* r = t.node("Relu", {t.node("Add", {add_conv(t, x), z})}, {}, "r");
  ir::Value* flat = t.node("Reshape", {r, t.initializer("shape", Tensor::from_vector<int64_t>(DataType::kInt64, {2}, {3, 25}))});
  ir::Value* mm = t.node("MatMul", {t.node("Transpose", {flat}), t.initializer("w2", random_tensor({3, 4}, 9))});
  t.output(t.node("Relu", {t.node("Mul", {mm, t.initializer("k", scalar(0.25f))})}, {}, "y"));
  const Tensor in = random_tensor({1, 2, 5, 5}), zin = random_tensor({1, 3, 5, 5}, 3);
  auto before = t.run({{"x", in}, {"z", zin}});
  t.run_level(GraphOptimizationLevel::kExtended);
  EXPECT_EQ(t.print(),
            "graph main (x: float[1,2,5,5], z: float[1,3,5,5], w: float[3,2,3,3] = initializer, b: float[3] = initializer, "
            "shape: int64[2] = initializer, w2: float[3,4] = initializer) -> (y: float[25,4]) {\n"
            "  FusedConv_out_1 = ferry:FusedConv(x, w, b, z) {activation=\"Relu\", activation_params=[], "
            "kernel_shape=[3,3], pads=[1,1,1,1]}\n"
            "  Reshape_2 = Reshape(FusedConv_out_1, shape)\n"
            "  y = ferry:FusedMatMul(Reshape_2, w2) {activation=\"Relu\", activation_params=[], alpha=0.25, transA=1, "
            "transB=0}\n"
            "}\n");
  expect_close(t.run({{"x", in}, {"z", zin}}), before);
}

}  // namespace
}  // namespace ferry::optimizer
